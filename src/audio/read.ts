/**
 * One entry point for audio input: a path, '-' (stdin) or bytes. The format is chosen from the magic
 * bytes, never the extension; WAV goes through our strict reader, the rest through the Web Audio decoder.
 */
import { promises as fsp } from 'node:fs';
import { SonodiffError } from '../errors.ts';
import { type CompressedContainer, decodeCompressed } from './decode.ts';
import { fileError } from './file-errors.ts';
import { joinBytes } from './join.ts';
import type { PcmAudio } from './types.ts';
import { readWav, type WavFormat, type WavMetadata } from './wav-read.ts';
import type { WavEncoding } from './wav-write.ts';

/** Default input size limit: 1 GiB. */
export const DEFAULT_MAX_INPUT_BYTES = 1024 ** 3;

export interface ReadAudioOptions {
  /** Refuse inputs larger than this many bytes. Default 1 GiB. */
  maxBytes?: number;
  /** Stream read for the source '-'. Default process.stdin. */
  stdin?: AsyncIterable<Uint8Array | string>;
  /** Name used in messages when the source is bytes. Default '<bytes>'. */
  name?: string;
}

export interface ReadAudioResult {
  audio: PcmAudio;
  /** The path, '-' for stdin, or the name given for bytes. */
  source: string;
  container: CompressedContainer;
  /** 'pcm', 'float', 'alaw', 'mulaw' for WAV; 'flac', 'vorbis', 'mp3', 'aac', … otherwise. */
  codec: string;
  /** Stored bits per sample where the format has one (WAV, FLAC, AIFF); lets a denoiser keep the depth. */
  bitsPerSample: number | undefined;
  /** WAV format details and metadata (tags, cue points, loops, acid), for WAV input. */
  wav: { format: WavFormat; metadata: WavMetadata } | undefined;
  /** Recoverable problems met while reading. */
  warnings: string[];
}

function tooLarge(path: string, size: number, max: number): SonodiffError {
  const mib = (n: number): string => `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return new SonodiffError(
    'ERR_UNSUPPORTED_AUDIO',
    `input is ${size > max ? `over ${mib(max)}` : mib(size)}, more than the ${mib(max)} input limit`,
    { path },
  );
}

/** Read a stream to the end, refusing to buffer more than `max` bytes. */
async function readBounded(
  stream: AsyncIterable<Uint8Array | string>,
  max: number,
  path: string,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
      total += bytes.length;
      if (total > max) throw tooLarge(path, total, max);
      parts.push(bytes);
    }
  } catch (err) {
    if (err instanceof SonodiffError) throw err;
    throw fileError(path, err);
  }
  return joinBytes(parts);
}

async function loadFile(path: string, max: number): Promise<Uint8Array> {
  let st: Awaited<ReturnType<typeof fsp.stat>>;
  try {
    st = await fsp.stat(path);
  } catch (err) {
    throw fileError(path, err);
  }
  if (st.isDirectory())
    throw new SonodiffError('ERR_INPUT_UNREADABLE', 'is a directory, not a file', { path });
  if (st.isFile()) {
    if (st.size > max) throw tooLarge(path, st.size, max);
    try {
      const buf = await fsp.readFile(path);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      throw fileError(path, err);
    }
  }
  // FIFOs, /dev/stdin, process substitution: no size up front, so read with a bound.
  let fh: Awaited<ReturnType<typeof fsp.open>>;
  try {
    fh = await fsp.open(path, 'r');
  } catch (err) {
    throw fileError(path, err);
  }
  try {
    return await readBounded(fh.createReadStream({ autoClose: false }), max, path);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Decode bytes already in memory; `name` appears in error messages. */
export async function decodeAudioBytes(bytes: Uint8Array, name: string): Promise<ReadAudioResult> {
  if (bytes.length === 0) throw new SonodiffError('ERR_BAD_AUDIO', 'empty file', { path: name });
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic === 'RIFF' || magic === 'RF64' || magic === 'RIFX') {
    try {
      const wav = readWav(bytes, { path: name });
      return {
        audio: wav.audio,
        source: name,
        container: 'wav',
        codec: wav.format.sampleFormat,
        bitsPerSample: wav.format.validBitsPerSample,
        wav: { format: wav.format, metadata: wav.metadata },
        warnings: wav.warnings,
      };
    } catch (err) {
      // A WAV codec we do not unpack ourselves (ADPCM, …): the Web Audio decoder may know it.
      const unsupportedCodec =
        err instanceof SonodiffError &&
        err.code === 'ERR_UNSUPPORTED_AUDIO' &&
        err.message.includes('WAV format 0x');
      if (!unsupportedCodec) throw err;
      try {
        return await viaDecoder(bytes, name);
      } catch {
        throw err;
      }
    }
  }
  return viaDecoder(bytes, name);
}

async function viaDecoder(bytes: Uint8Array, name: string): Promise<ReadAudioResult> {
  const r = await decodeCompressed(bytes, { path: name });
  return {
    audio: r.audio,
    source: name,
    container: r.info.container,
    codec: r.info.codec,
    bitsPerSample: r.info.bitsPerSample,
    wav: undefined,
    warnings: r.warnings,
  };
}

/**
 * Read audio from a path, '-' (all of stdin) or bytes. Errors are `SonodiffError`s: ERR_INPUT_MISSING,
 * ERR_INPUT_UNREADABLE, ERR_BAD_AUDIO, ERR_UNSUPPORTED_AUDIO (including inputs over `maxBytes`).
 */
export async function readAudio(
  source: string | Uint8Array,
  opts: ReadAudioOptions = {},
): Promise<ReadAudioResult> {
  const max = opts.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  if (!Number.isFinite(max) || max <= 0) throw new RangeError('opts.maxBytes must be a positive number');
  if (source instanceof Uint8Array) {
    const name = opts.name ?? '<bytes>';
    if (source.length > max) throw tooLarge(name, source.length, max);
    return decodeAudioBytes(source, name);
  }
  if (typeof source !== 'string' || source.length === 0) {
    throw new TypeError('source must be a file path, "-" or a Uint8Array');
  }
  const bytes =
    source === '-' ? await readBounded(opts.stdin ?? process.stdin, max, '-') : await loadFile(source, max);
  return decodeAudioBytes(bytes, source);
}

/**
 * The WAV encoding that keeps a source's precision: float stays float, up to 16 bits → pcm16,
 * up to 24 → pcm24, deeper integers → float32, lossy codecs → pcm16.
 */
export function preferredWavEncoding(read: Pick<ReadAudioResult, 'codec' | 'bitsPerSample'>): WavEncoding {
  if (read.codec === 'float') return 'float32';
  const bits = read.bitsPerSample;
  if (bits === undefined) return 'pcm16';
  if (bits <= 16) return 'pcm16';
  if (bits <= 24) return 'pcm24';
  return 'float32';
}
