/**
 * Streaming WAV input: the header goes through the same strict parser as the whole-file reader
 * (`parseWavHeader`), then the samples are read and decoded block by block, so memory stays bounded
 * by one block whatever the length of the file.
 *
 * Seekable files are parsed exactly as `readWav` would parse them (metadata after the data included),
 * without loading the samples: the parser is handed an image of the file with the middle of the data
 * chunk cut out and its size field shortened by the same amount, and the offsets it reports are shifted
 * back. Pipes (stdin, FIFOs) are parsed from the bytes before the samples; chunks after the data are
 * not seen there.
 *
 * `openAudioStream` adds the fallback for everything that cannot stream this way (compressed formats,
 * WAV codecs we do not unpack): the whole-file `readAudio`.
 */
import { promises as fsp } from 'node:fs';
import { SonodiffError } from '../errors.ts';
import { fileError } from './file-errors.ts';
import { joinBytes } from './join.ts';
import { DEFAULT_MAX_INPUT_BYTES, decodeAudioBytes, type ReadAudioResult, readAudio } from './read.ts';
import {
  decodeWavSamples,
  parseWavHeader,
  type WavFormat,
  type WavHeader,
  type WavMetadata,
} from './wav-read.ts';

type FileHandle = Awaited<ReturnType<typeof fsp.open>>;
type ByteChunk = Uint8Array | string;

export interface WavStreamReaderOptions {
  /** Frames per yielded block. Default 16384. */
  blockFrames?: number;
  /** Name used in error messages. Default: the path, or '-' for a stream. */
  name?: string;
  /** Checked between blocks; once aborted, iteration throws `SonodiffError('ERR_ABORTED')`. */
  signal?: AbortSignal;
  /** Files up to this size are parsed from one read of the whole file. Default 4 MiB. */
  wholeFileBytes?: number;
  /** First read when looking for the data chunk of a larger file (grown ×4 as needed). Default 1 MiB. */
  headerProbeBytes?: number;
}

const DEFAULT_BLOCK = 16384;
const DEFAULT_WHOLE = 4 * 1024 ** 2;
const DEFAULT_PROBE = 1024 ** 2;
/** Beyond these the file is pathological (huge chunks around the data): it is parsed whole instead. */
const MAX_PROBE = 64 * 1024 ** 2;
const MAX_TAIL = 64 * 1024 ** 2;
/** A pipe that has not shown its samples after this many bytes is read whole by `readAudio`. */
const MAX_STREAM_PREFIX = 16 * 1024 ** 2;
/** Sizes from writers that did not know the length (sox writes ~2 GiB, ffmpeg 0xFFFFFFFF). */
const PLACEHOLDER_SIZE = 0x7f000000;

function isRiff(b: Uint8Array): boolean {
  const m = String.fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!);
  return m === 'RIFF' || m === 'RF64' || m === 'RIFX';
}

async function readAt(
  fh: FileHandle,
  position: number,
  length: number,
  into?: Uint8Array,
): Promise<Uint8Array> {
  const buf = into ?? new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === buf.length ? buf : buf.subarray(0, got);
}

/** Pull-based view of an async byte stream with a small look-ahead buffer. */
class ByteQueue {
  readonly #it: AsyncIterator<ByteChunk>;
  readonly #name: string;
  #chunks: Uint8Array[] = [];
  #length = 0;
  ended = false;

  constructor(stream: AsyncIterable<ByteChunk>, name: string) {
    this.#it = stream[Symbol.asyncIterator]();
    this.#name = name;
  }

  get length(): number {
    return this.#length;
  }

  /** Buffers one more chunk; false at the end of the stream. */
  async pull(): Promise<boolean> {
    if (this.ended) return false;
    let r: IteratorResult<ByteChunk>;
    try {
      r = await this.#it.next();
    } catch (err) {
      throw fileError(this.#name, err);
    }
    if (r.done) {
      this.ended = true;
      return false;
    }
    const bytes = typeof r.value === 'string' ? new TextEncoder().encode(r.value) : r.value;
    if (bytes.length > 0) {
      this.#chunks.push(bytes);
      this.#length += bytes.length;
    }
    return true;
  }

  /** All buffered bytes as one array (kept as the single buffered chunk). */
  peekAll(): Uint8Array {
    if (this.#chunks.length !== 1) {
      const all = new Uint8Array(this.#length);
      let o = 0;
      for (const c of this.#chunks) {
        all.set(c, o);
        o += c.length;
      }
      this.#chunks = this.#length > 0 ? [all] : [];
    }
    return this.#chunks[0] ?? new Uint8Array(0);
  }

  /** Removes and returns the first n buffered bytes (n ≤ length). */
  take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.#chunks[0]!;
      const k = Math.min(head.length, n - filled);
      out.set(head.subarray(0, k), filled);
      filled += k;
      if (k === head.length) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(k);
    }
    this.#length -= n;
    return out;
  }

  /** The buffered bytes followed by the rest of the stream, for a reader that wants it all. */
  async *replay(): AsyncGenerator<Uint8Array> {
    const buffered = this.#chunks;
    this.#chunks = [];
    this.#length = 0;
    yield* buffered;
    while (await this.pull()) {
      const c = this.#chunks.shift();
      this.#length = 0;
      if (c !== undefined) yield c;
    }
  }

  async close(): Promise<void> {
    this.ended = true;
    await this.#it.return?.().catch(() => undefined);
  }
}

interface SampleSource {
  /** Reads up to `frames` whole frames; fewer (or 0) only at the end. */
  read(frames: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

class FileSamples implements SampleSource {
  readonly #fh: FileHandle;
  readonly #blockAlign: number;
  #pos: number;
  #left: number;
  #scratch: Uint8Array = new Uint8Array(0);

  constructor(fh: FileHandle, header: WavHeader) {
    this.#fh = fh;
    this.#blockAlign = header.format.blockAlign;
    this.#pos = header.dataOffset;
    this.#left = header.dataBytes;
  }

  async read(frames: number): Promise<Uint8Array> {
    const want = Math.min(this.#left, frames * this.#blockAlign);
    // One scratch buffer for the whole file: decoding copies out of it.
    if (this.#scratch.length < want) this.#scratch = new Uint8Array(want);
    const got = await readAt(this.#fh, this.#pos, want, this.#scratch.subarray(0, want));
    const whole = got.length - (got.length % this.#blockAlign);
    this.#pos += whole;
    // A file that shrank under us ends here, like a truncated one.
    this.#left = whole < want ? 0 : this.#left - whole;
    return got.subarray(0, whole);
  }

  async close(): Promise<void> {
    await this.#fh.close().catch(() => undefined);
  }
}

class StreamSamples implements SampleSource {
  readonly #queue: ByteQueue;
  readonly #blockAlign: number;
  readonly #onClose: (() => Promise<void>) | undefined;
  #left: number;

  constructor(queue: ByteQueue, blockAlign: number, dataBytes: number, onClose?: () => Promise<void>) {
    this.#queue = queue;
    this.#blockAlign = blockAlign;
    this.#left = dataBytes;
    this.#onClose = onClose;
  }

  async read(frames: number): Promise<Uint8Array> {
    const want = Math.min(this.#left, frames * this.#blockAlign);
    while (this.#queue.length < want && (await this.#queue.pull())) {}
    const have = Math.min(want, this.#queue.length);
    const whole = have - (have % this.#blockAlign);
    this.#left = whole < want ? 0 : this.#left - whole;
    return this.#queue.take(whole);
  }

  async close(): Promise<void> {
    await this.#queue.close();
    await this.#onClose?.();
  }
}

/** What a pipe turned out to hold: a streamable WAV, or something to hand to `readAudio` whole. */
type StreamProbe =
  | { kind: 'wav'; header: WavHeader; dataBytes: number; total: FrameCount }
  | { kind: 'other' };

function isUnsupportedWavCodec(err: unknown): boolean {
  // The same test `readAudio` uses before trying the Web Audio decoder.
  return (
    err instanceof SonodiffError &&
    err.code === 'ERR_UNSUPPORTED_AUDIO' &&
    err.message.includes('WAV format 0x')
  );
}

/**
 * Reads a pipe up to its first sample frame and parses the header. Parse errors are trusted only once
 * the stream has ended (before that they may just mean "not enough bytes yet").
 */
async function probeStream(queue: ByteQueue, name: string, fallbackOk: boolean): Promise<StreamProbe> {
  let lastTry = 0;
  for (;;) {
    const more = await queue.pull();
    if (queue.length >= 4 && !isRiff(queue.peekAll())) {
      if (fallbackOk) return { kind: 'other' };
      parseWavHeader(queue.peekAll(), { path: name }); // throws the whole-file reader's error
    }
    if (!more && queue.length < 4) {
      if (fallbackOk) return { kind: 'other' };
      parseWavHeader(queue.peekAll(), { path: name });
    }
    // Parse again only when the buffer has doubled, so a slow header search stays linear.
    if (!more || (queue.length >= 12 && queue.length >= 2 * lastTry)) {
      lastTry = queue.length;
      const bytes = queue.peekAll();
      try {
        const header = parseWavHeader(bytes, { path: name });
        if (header.frames > 0 || !more) return streamedHeader(header, bytes, queue);
      } catch (err) {
        if (fallbackOk && isUnsupportedWavCodec(err)) return { kind: 'other' };
        if (!more) throw err;
      }
    }
    if (!more) {
      // Unreachable in practice (the last parse above returned or threw); keeps the loop finite.
      throw new SonodiffError('ERR_BAD_AUDIO', 'not a WAV file', { path: name });
    }
    if (queue.length > MAX_STREAM_PREFIX) {
      if (fallbackOk) return { kind: 'other' };
      throw new SonodiffError(
        'ERR_UNSUPPORTED_AUDIO',
        `no sample data within the first ${MAX_STREAM_PREFIX / 1024 ** 2} MiB of the stream`,
        { path: name },
      );
    }
  }
}

/** Size the data chunk claims, resolved the way the parser resolves it (RF64 ds64, 0xFFFFFFFF). */
function claimedDataBytes(header: WavHeader, bytes: Uint8Array): number | undefined {
  const dataAt = header.dataOffset - 8;
  const raw = header.chunks.find((c) => c.id === 'data' && c.offset === dataAt)!.size;
  if (raw !== 0xffffffff) return raw;
  if (header.format.container === 'RF64') {
    const ds64 = header.chunks.filter((c) => c.id === 'ds64' && c.offset < dataAt && c.size >= 24).pop();
    if (ds64 !== undefined) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return Number(dv.getBigUint64(ds64.offset + 16, true));
    }
  }
  return undefined; // "until the end of the file"
}

function streamedHeader(header: WavHeader, bytes: Uint8Array, queue: ByteQueue): StreamProbe {
  const claimed = claimedDataBytes(header, bytes);
  const ba = header.format.blockAlign;
  queue.take(header.dataOffset);
  const dataBytes = claimed ?? Number.POSITIVE_INFINITY;
  let totalFrames =
    claimed !== undefined && claimed < PLACEHOLDER_SIZE ? Math.floor(claimed / ba) : undefined;
  // Everything already arrived: the count is exact.
  if (queue.ended) totalFrames = Math.floor(Math.min(dataBytes, queue.length) / ba);
  // Unless the stream has ended, the prefix parse warned about data it had not seen yet.
  const warnings = queue.ended
    ? header.warnings
    : header.warnings.filter((w) => !w.startsWith('data chunk claims'));
  return {
    kind: 'wav',
    header: { ...header, warnings },
    dataBytes,
    total: { frames: totalFrames, exact: queue.ended },
  };
}

interface FileHeaderOptions {
  wholeFileBytes: number;
  headerProbeBytes: number;
}

/**
 * The header of a seekable WAV exactly as `parseWavHeader` reports it for the whole file, reading only
 * the bytes around the sample data.
 */
async function parseFileHeader(
  fh: FileHandle,
  size: number,
  path: string,
  opts: FileHeaderOptions,
): Promise<WavHeader> {
  const whole = async (): Promise<WavHeader> => parseWavHeader(await readAt(fh, 0, size), { path });
  if (size <= opts.wholeFileBytes) return whole();
  let n = Math.min(size, opts.headerProbeBytes);
  let pre: WavHeader | undefined;
  let prefix: Uint8Array;
  for (;;) {
    prefix = await readAt(fh, 0, n);
    try {
      pre = parseWavHeader(prefix, { path });
      if (pre.frames > 0 || n === size) break;
    } catch (err) {
      if (n === size) throw err;
    }
    if (n >= MAX_PROBE) return whole();
    n = Math.min(size, n * 4);
  }
  if (n === size) return pre!;

  const B = pre.dataOffset;
  const ba = pre.format.blockAlign;
  const dataAt = B - 8;
  const raw = pre.chunks.find((c) => c.id === 'data' && c.offset === dataAt)!.size;
  const resolved = claimedDataBytes(pre, prefix);
  const claimed = resolved ?? size - B;
  const got = Math.min(claimed, size - B);
  // Cut k bytes out of the data, keeping a frame at the start and the last bytes (the parser peeks at
  // the byte before the next chunk id). k is a multiple of 2·blockAlign: frame count and pad parity hold.
  const unit = 2 * ba;
  const keepHead = unit;
  const k = Math.floor((got - keepHead - 16) / unit) * unit;
  const tailStart = B + keepHead + k;
  if (k <= 0 || size - tailStart > MAX_TAIL) return whole();
  const image = new Uint8Array(size - k);
  await readAt(fh, 0, B + keepHead, image.subarray(0, B + keepHead));
  await readAt(fh, tailStart, size - tailStart, image.subarray(B + keepHead));
  const dv = new DataView(image.buffer);
  if (raw !== 0xffffffff) dv.setUint32(B - 4, raw - k, true);
  else if (resolved !== undefined) {
    const ds64 = pre.chunks.filter((c) => c.id === 'ds64' && c.offset < dataAt && c.size >= 24).pop()!;
    dv.setBigUint64(ds64.offset + 16, BigInt(claimed - k), true);
  }

  // Numbers in the parser's messages refer to the image; map them back to the file.
  const fixText = (s: string): string =>
    s
      .replace(/\boffset (\d+)/g, (m, d: string) => (Number(d) > B ? `offset ${Number(d) + k}` : m))
      .replace(/past the end of the file \((\d+) bytes\)/g, (_m, d: string) => {
        return `past the end of the file (${Number(d) + k} bytes)`;
      });
  let h: WavHeader;
  try {
    h = parseWavHeader(image, { path });
  } catch (err) {
    if (err instanceof SonodiffError && err.message.startsWith(`${path}: `)) {
      const message = fixText(err.message.slice(path.length + 2));
      throw new SonodiffError(err.code, message, { path, cause: err.cause });
    }
    throw err;
  }
  if (h.dataOffset !== B) return whole(); // the walk took another path: trust only the real thing
  const dataWarning = `data chunk claims ${claimed - k} bytes but only ${size - B - k} are present; reading ${got - k}`;
  let fixedData = false;
  const warnings = h.warnings.map((w) => {
    if (!fixedData && w === dataWarning) {
      fixedData = true;
      return `data chunk claims ${claimed} bytes but only ${size - B} are present; reading ${got}`;
    }
    return fixText(w);
  });
  const frames = h.frames + k / ba;
  return {
    ...h,
    frames,
    dataBytes: frames * ba,
    chunks: h.chunks.map((c) =>
      c.offset === dataAt ? { ...c, size: raw } : c.offset > B ? { ...c, offset: c.offset + k } : c,
    ),
    warnings,
  };
}

function checkOptions(opts: WavStreamReaderOptions): Required<Pick<WavStreamReaderOptions, 'blockFrames'>> {
  if (opts === null || typeof opts !== 'object') throw new TypeError('opts must be an object');
  const blockFrames = opts.blockFrames ?? DEFAULT_BLOCK;
  if (!Number.isInteger(blockFrames) || blockFrames < 1 || blockFrames > 1 << 24) {
    throw new RangeError('opts.blockFrames must be an integer in 1..2^24');
  }
  for (const key of ['wholeFileBytes', 'headerProbeBytes'] as const) {
    const v = opts[key];
    if (v !== undefined && !(Number.isInteger(v) && v >= 12)) {
      throw new RangeError(`opts.${key} must be an integer ≥ 12`);
    }
  }
  return { blockFrames };
}

/** Frame count of an input, and whether it is certain. */
interface FrameCount {
  frames: number | undefined;
  exact: boolean;
}

let createReader: (
  source: string,
  header: WavHeader,
  total: FrameCount,
  samples: SampleSource,
  opts: WavStreamReaderOptions,
) => WavStreamReader;

/**
 * A WAV file or pipe read block by block: iterate it (once) for planar float32 blocks of `blockFrames`
 * frames (the last one shorter). Samples are decoded exactly as `readWav` decodes them.
 */
export class WavStreamReader implements AsyncIterable<Float32Array[]> {
  /** The name used in messages (the path, or '-'). */
  readonly source: string;
  readonly format: WavFormat;
  readonly sampleRate: number;
  readonly channelCount: number;
  /**
   * Frames the input holds: exact for files; for pipes the header's claim (more may be missing if the
   * stream ends early), undefined when the writer did not know the length.
   */
  readonly totalFrames: number | undefined;
  /** False when `totalFrames` is only a pipe header's claim (the stream may end sooner). */
  readonly totalFramesExact: boolean;
  /** Tags, cue points, loops… (for pipes, only the chunks before the samples). */
  readonly metadata: WavMetadata;
  readonly warnings: string[];
  readonly blockFrames: number;
  readonly #samples: SampleSource;
  readonly #signal: AbortSignal | undefined;
  #framesRead = 0;
  #started = false;
  #closed = false;

  private constructor(
    source: string,
    header: WavHeader,
    total: FrameCount,
    samples: SampleSource,
    blockFrames: number,
    signal: AbortSignal | undefined,
  ) {
    this.source = source;
    this.format = header.format;
    this.sampleRate = header.format.sampleRate;
    this.channelCount = header.format.channels;
    this.totalFrames = total.frames;
    this.totalFramesExact = total.exact;
    this.metadata = header.metadata;
    this.warnings = header.warnings;
    this.blockFrames = blockFrames;
    this.#samples = samples;
    this.#signal = signal;
  }

  static {
    createReader = (source, header, total, samples, opts) =>
      new WavStreamReader(source, header, total, samples, opts.blockFrames ?? DEFAULT_BLOCK, opts.signal);
  }

  /**
   * Opens a WAV file (or a FIFO / device path, read as a stream). Errors: `SonodiffError` with the
   * codes and messages of `readAudio` (ERR_INPUT_MISSING, ERR_INPUT_UNREADABLE, ERR_BAD_AUDIO,
   * ERR_UNSUPPORTED_AUDIO), naming the file.
   */
  static async open(path: string, opts: WavStreamReaderOptions = {}): Promise<WavStreamReader> {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
    checkOptions(opts);
    const opened = await openFile(path, opts.name ?? path, opts, false);
    if (opened.kind !== 'wav') throw new Error('unreachable: no fallback asked for');
    return opened.reader;
  }

  /** Reads a WAV from a byte stream such as `process.stdin`; the stream is consumed as blocks are read. */
  static async fromStream(
    stream: AsyncIterable<ByteChunk>,
    opts: WavStreamReaderOptions = {},
  ): Promise<WavStreamReader> {
    if (typeof (stream as Partial<AsyncIterable<ByteChunk>> | null)?.[Symbol.asyncIterator] !== 'function') {
      throw new TypeError('stream must be an async iterable of bytes');
    }
    checkOptions(opts);
    const opened = await openQueue(new ByteQueue(stream, opts.name ?? '-'), opts.name ?? '-', opts, false);
    if (opened.kind !== 'wav') throw new Error('unreachable: no fallback asked for');
    return opened.reader;
  }

  /** Frames yielded so far. */
  get framesRead(): number {
    return this.#framesRead;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Float32Array[]> {
    if (this.#started) throw new Error('a WavStreamReader can be iterated only once');
    this.#started = true;
    const fmt = this.format;
    try {
      for (;;) {
        if (this.#signal?.aborted) {
          throw new SonodiffError('ERR_ABORTED', 'reading aborted', {
            path: this.source,
            cause: this.#signal.reason,
          });
        }
        if (this.#closed) return;
        const bytes = await this.#samples.read(this.blockFrames);
        const frames = bytes.length / fmt.blockAlign;
        if (frames === 0) return;
        this.#framesRead += frames;
        yield decodeWavSamples(bytes, fmt, frames);
      }
    } finally {
      await this.close();
    }
  }

  /** Releases the file or stream. Safe to call more than once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#samples.close();
  }
}

type Opened =
  | { kind: 'wav'; reader: WavStreamReader }
  | { kind: 'other'; replay?: AsyncIterable<Uint8Array>; release?: () => Promise<void> };

/** Probes a pipe; on failure or fallback the stream is released (or handed on for replay). */
async function openQueue(
  queue: ByteQueue,
  name: string,
  opts: WavStreamReaderOptions,
  fallbackOk: boolean,
  onClose?: () => Promise<void>,
): Promise<Opened> {
  let probe: StreamProbe;
  try {
    probe = await probeStream(queue, name, fallbackOk);
  } catch (err) {
    await queue.close();
    await onClose?.();
    throw err;
  }
  if (probe.kind === 'other') {
    return onClose
      ? { kind: 'other', replay: queue.replay(), release: onClose }
      : { kind: 'other', replay: queue.replay() };
  }
  const samples = new StreamSamples(queue, probe.header.format.blockAlign, probe.dataBytes, onClose);
  return { kind: 'wav', reader: createReader(name, probe.header, probe.total, samples, opts) };
}

async function openFile(
  path: string,
  name: string,
  opts: WavStreamReaderOptions,
  fallbackOk: boolean,
): Promise<Opened> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch (err) {
    throw fileError(name, err);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory())
      throw new SonodiffError('ERR_INPUT_UNREADABLE', 'is a directory, not a file', { path: name });
    if (!st.isFile()) {
      // FIFOs, /dev/stdin, process substitution: no size and no seeking.
      const queue = new ByteQueue(fh.createReadStream({ autoClose: false }), name);
      return await openQueue(queue, name, opts, fallbackOk, () => fh.close().catch(() => undefined));
    }
    if (fallbackOk) {
      const magic = await readAt(fh, 0, 4);
      if (magic.length < 4 || !isRiff(magic)) {
        await fh.close();
        return { kind: 'other' };
      }
    }
    let header: WavHeader;
    try {
      header = await parseFileHeader(fh, st.size, name, {
        wholeFileBytes: opts.wholeFileBytes ?? DEFAULT_WHOLE,
        headerProbeBytes: opts.headerProbeBytes ?? DEFAULT_PROBE,
      });
    } catch (err) {
      if (fallbackOk && isUnsupportedWavCodec(err)) {
        await fh.close();
        return { kind: 'other' };
      }
      throw err;
    }
    return {
      kind: 'wav',
      reader: createReader(
        name,
        header,
        { frames: header.frames, exact: true },
        new FileSamples(fh, header),
        opts,
      ),
    };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw fileError(name, err);
  }
}

/** The rest of a non-WAV pipe given by path (a FIFO), with the whole-file reader's size limit. */
async function collect(stream: AsyncIterable<Uint8Array>, name: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of stream) {
    total += part.length;
    if (total > DEFAULT_MAX_INPUT_BYTES) {
      throw new SonodiffError(
        'ERR_UNSUPPORTED_AUDIO',
        `input is over ${DEFAULT_MAX_INPUT_BYTES / 1024 ** 2} MiB, more than the input limit for compressed audio`,
        { path: name },
      );
    }
    parts.push(part);
  }
  return joinBytes(parts);
}

/** Audio read block by block, whatever the input format. */
export interface AudioBlockStream extends AsyncIterable<Float32Array[]> {
  readonly source: string;
  readonly sampleRate: number;
  readonly channelCount: number;
  /** See `WavStreamReader.totalFrames`; exact for decoded (non-streamed) inputs. */
  readonly totalFrames: number | undefined;
  /** True when `totalFrames` is certain (files, decoded input), false when it is a pipe header's claim. */
  readonly totalFramesExact: boolean;
  /** 'pcm', 'float', 'alaw', 'mulaw' for WAV; 'flac', 'mp3', … otherwise (as `readAudio` reports). */
  readonly codec: string;
  readonly bitsPerSample: number | undefined;
  /** True when read block by block; false when the input had to be decoded whole first. */
  readonly streaming: boolean;
  /** WAV format and metadata, for WAV input. */
  readonly wav: { format: WavFormat; metadata: WavMetadata } | undefined;
  close(): Promise<void>;
}

export interface OpenAudioStreamOptions extends WavStreamReaderOptions {
  /** Stream read for the source '-'. Default process.stdin. */
  stdin?: AsyncIterable<ByteChunk>;
}

function wavStream(reader: WavStreamReader): AudioBlockStream {
  return {
    source: reader.source,
    sampleRate: reader.sampleRate,
    channelCount: reader.channelCount,
    totalFrames: reader.totalFrames,
    totalFramesExact: reader.totalFramesExact,
    codec: reader.format.sampleFormat,
    bitsPerSample: reader.format.validBitsPerSample,
    streaming: true,
    wav: { format: reader.format, metadata: reader.metadata },
    close: () => reader.close(),
    [Symbol.asyncIterator]: () => reader[Symbol.asyncIterator](),
  };
}

/**
 * Opens a path or '-' (stdin) for block-wise reading: WAV streams with bounded memory; compressed
 * formats and WAV codecs we do not unpack are decoded whole by `readAudio` and then handed out in
 * blocks. Errors are those of `readAudio`.
 */
export async function openAudioStream(
  source: string,
  opts: OpenAudioStreamOptions = {},
): Promise<AudioBlockStream> {
  if (typeof source !== 'string' || source.length === 0)
    throw new TypeError('source must be a file path or "-"');
  const { blockFrames } = checkOptions(opts);
  let opened: Opened;
  if (source === '-') {
    const name = opts.name ?? '-';
    opened = await openQueue(new ByteQueue(opts.stdin ?? process.stdin, name), name, opts, true);
  } else {
    opened = await openFile(source, opts.name ?? source, opts, true);
  }
  if (opened.kind === 'wav') return wavStream(opened.reader);
  let read: ReadAudioResult;
  try {
    if (opened.replay === undefined) read = await readAudio(source);
    else if (source === '-') read = await readAudio('-', { stdin: opened.replay });
    else read = await decodeAudioBytes(await collect(opened.replay, source), source);
  } finally {
    await opened.release?.();
  }
  const { audio } = read;
  const frames = audio.channels[0]?.length ?? 0;
  const signal = opts.signal;
  return {
    source: read.source,
    sampleRate: audio.sampleRate,
    channelCount: audio.channels.length,
    totalFrames: frames,
    totalFramesExact: true,
    codec: read.codec,
    bitsPerSample: read.bitsPerSample,
    streaming: false,
    wav: read.wav,
    close: async () => undefined,
    async *[Symbol.asyncIterator]() {
      for (let s = 0; s < frames; s += blockFrames) {
        if (signal?.aborted) {
          throw new SonodiffError('ERR_ABORTED', 'reading aborted', {
            path: read.source,
            cause: signal.reason,
          });
        }
        yield audio.channels.map((c) => c.subarray(s, Math.min(frames, s + blockFrames)));
      }
    },
  };
}
