/**
 * Streaming WAV writer for outputs too long to hold in memory: blocks are packed and appended to a
 * temporary file in the target folder; `close()` writes the trailing metadata, patches the sizes in the
 * header and renames; `abort()` (or any failure) removes the temporary file, so no partial output remains.
 */
import { promises as fsp } from 'node:fs';
import { SonodiffError } from '../errors.ts';
import { MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, type PcmAudio } from './types.ts';
import {
  buildWavLayout,
  bytesPerSample,
  checkOutputTarget,
  commitTempFile,
  finishWavHeader,
  SamplePacker,
  tempPathFor,
  type WavEncodeOptions,
  type WavEncoding,
  type WavLayout,
  type WavMetadataInput,
  type WavWriteResult,
} from './wav-write.ts';

export interface WavStreamWriterOptions extends WavEncodeOptions {
  sampleRate: number;
  channels: number;
  /** Replace an existing file at close. Default false. */
  force?: boolean;
}

/** Frames packed per write call, bounding the scratch buffer. */
const BLOCK_FRAMES = 65536;
const MAX_DATA_BYTES = 0xffffffff - 4096;

export class WavStreamWriter {
  readonly path: string;
  readonly sampleRate: number;
  readonly channels: number;
  readonly encoding: WavEncoding;
  #fh: Awaited<ReturnType<typeof fsp.open>> | undefined;
  readonly #tmp: string;
  readonly #force: boolean;
  readonly #packer: SamplePacker;
  #layout: WavLayout;
  #dataBytes = 0;
  #state: 'open' | 'closed' | 'aborted' = 'open';
  #queue: Promise<unknown> = Promise.resolve();
  #scratch: Uint8Array;

  private constructor(
    path: string,
    tmp: string,
    fh: Awaited<ReturnType<typeof fsp.open>>,
    opts: WavStreamWriterOptions,
    encoding: WavEncoding,
    layout: WavLayout,
  ) {
    this.path = path;
    this.#tmp = tmp;
    this.#fh = fh;
    this.#force = opts.force ?? false;
    this.sampleRate = opts.sampleRate;
    this.channels = opts.channels;
    this.encoding = encoding;
    this.#layout = layout;
    this.#packer = new SamplePacker(
      encoding,
      opts.channels,
      opts.dither ?? encoding === 'pcm16',
      opts.ditherSeed ?? 1,
    );
    this.#scratch = new Uint8Array(BLOCK_FRAMES * opts.channels * bytesPerSample(encoding));
  }

  /** Create the temporary file and write a provisional header. */
  static async open(path: string, opts: WavStreamWriterOptions): Promise<WavStreamWriter> {
    if (opts === null || typeof opts !== 'object') throw new TypeError('opts must be an object');
    const { sampleRate, channels } = opts;
    if (!Number.isInteger(sampleRate) || sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
      throw new RangeError(`opts.sampleRate must be an integer in ${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE}`);
    }
    if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) {
      throw new RangeError(`opts.channels must be an integer in 1..${MAX_CHANNELS}`);
    }
    const encoding = opts.encoding ?? 'pcm16';
    // Validates encoding and metadata before any file exists.
    const layout = buildWavLayout(sampleRate, channels, encoding, opts.metadata);
    await checkOutputTarget(path, opts.force ?? false);
    const tmp = tempPathFor(path);
    let fh: Awaited<ReturnType<typeof fsp.open>>;
    try {
      fh = await fsp.open(tmp, 'wx');
    } catch (err) {
      throw new SonodiffError('ERR_OUTPUT', `cannot write output: ${(err as Error).message}`, {
        path,
        cause: err,
      });
    }
    const writer = new WavStreamWriter(path, tmp, fh, opts, encoding, layout);
    try {
      await fh.write(finishWavHeader(layout, 0), 0, layout.head.length, 0);
    } catch (err) {
      await writer.abort();
      throw new SonodiffError('ERR_OUTPUT', `cannot write output: ${(err as Error).message}`, {
        path,
        cause: err,
      });
    }
    return writer;
  }

  /** Frames written so far. */
  get frames(): number {
    return this.#dataBytes / (this.channels * bytesPerSample(this.encoding));
  }

  /** Samples clipped so far (outside the encoding's range, or not finite). */
  get clippedSamples(): number {
    return this.#packer.clippedSamples;
  }

  /** Temporary file being written (removed by abort, renamed by close). */
  get tempPath(): string {
    return this.#tmp;
  }

  /** Append a block of planar frames (same channel count as the writer). Calls are serialised. */
  write(block: PcmAudio | readonly Float32Array[]): Promise<void> {
    const planar = Array.isArray(block) ? (block as readonly Float32Array[]) : (block as PcmAudio).channels;
    if (!Array.isArray(planar) || planar.length !== this.channels) {
      throw new RangeError(`block must have ${this.channels} channel(s)`);
    }
    const n = planar[0]!.length;
    for (const ch of planar) {
      if (!(ch instanceof Float32Array) || ch.length !== n) {
        throw new TypeError('block channels must be Float32Arrays of equal length');
      }
    }
    if (!Array.isArray(block) && (block as PcmAudio).sampleRate !== this.sampleRate) {
      throw new RangeError(`block.sampleRate must be ${this.sampleRate}`);
    }
    return this.#enqueue(async () => {
      const fh = this.#live();
      const bytesPerFrame = this.channels * bytesPerSample(this.encoding);
      if (this.#dataBytes + n * bytesPerFrame > MAX_DATA_BYTES) {
        await this.#fail(
          new SonodiffError('ERR_OUTPUT', 'output would exceed the 4 GiB WAV limit', { path: this.path }),
        );
      }
      for (let from = 0; from < n; from += BLOCK_FRAMES) {
        const to = Math.min(n, from + BLOCK_FRAMES);
        const len = (to - from) * bytesPerFrame;
        this.#packer.pack(planar, from, to, this.#scratch, 0);
        try {
          await fh.write(this.#scratch, 0, len, this.#layout.head.length + this.#dataBytes);
        } catch (err) {
          await this.#fail(err);
        }
        this.#dataBytes += len;
      }
    });
  }

  /**
   * Finish the file: trailing metadata (optionally replacing the metadata given at open, e.g. loop
   * points known only at the end), header sizes, rename onto the target.
   */
  close(metadata?: WavMetadataInput): Promise<WavWriteResult> {
    return this.#enqueue(async () => {
      const fh = this.#live();
      if (metadata !== undefined) {
        const layout = buildWavLayout(this.sampleRate, this.channels, this.encoding, metadata);
        // Metadata lives after the data; the head (fmt, fact, data header) cannot change size.
        if (layout.head.length !== this.#layout.head.length) throw new Error('header layout changed');
        this.#layout = layout;
      }
      const layout = this.#layout;
      const d = this.#dataBytes;
      let size: number;
      try {
        const head = finishWavHeader(layout, d);
        let at = head.length + d;
        if (d & 1) {
          await fh.write(new Uint8Array(1), 0, 1, at);
          at += 1;
        }
        await fh.write(layout.tail, 0, layout.tail.length, at);
        await fh.truncate(at + layout.tail.length);
        await fh.write(head, 0, head.length, 0);
        size = at + layout.tail.length;
        await fh.close();
        this.#fh = undefined;
      } catch (err) {
        await this.#fail(err);
      }
      this.#state = 'closed';
      await commitTempFile(this.#tmp, this.path, this.#force);
      return { path: this.path, bytes: size!, frames: this.frames, clippedSamples: this.clippedSamples };
    });
  }

  /** Stop and remove the temporary file. Safe to call more than once and after a failure. */
  async abort(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'aborted';
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close().catch(() => undefined);
    await fsp.rm(this.#tmp, { force: true }).catch(() => undefined);
  }

  #live(): Awaited<ReturnType<typeof fsp.open>> {
    if (this.#state !== 'open' || this.#fh === undefined)
      throw new Error(`WavStreamWriter is ${this.#state}`);
    return this.#fh;
  }

  async #fail(err: unknown): Promise<never> {
    await this.abort();
    if (err instanceof SonodiffError) throw err;
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    const reason =
      code === 'ENOSPC' ? 'no space left on the device' : ((err as Error)?.message ?? String(err));
    throw new SonodiffError('ERR_OUTPUT', `cannot write output: ${reason}`, { path: this.path, cause: err });
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
