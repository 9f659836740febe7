/**
 * Compressed formats (FLAC, Ogg Vorbis, MP3, and whatever else the Web Audio decoder knows: AAC/ADTS,
 * AIFF, MP2, ADPCM WAV, …) through node-web-audio-api's `decodeAudioData`.
 *
 * `decodeAudioData` resamples to its context's rate, so we first read the file's own rate from its header
 * (FLAC STREAMINFO, Vorbis identification header, MPEG/ADTS frame header, AIFF COMM, WAV fmt) and decode
 * with an OfflineAudioContext running at exactly that rate: the samples come back untouched.
 */
import type { OfflineAudioContext } from 'node-web-audio-api';
import { SonodiffError } from '../errors.ts';
import { MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, type PcmAudio } from './types.ts';
import { webAudio } from './web-audio.ts';

export type CompressedContainer = 'flac' | 'ogg' | 'mpeg' | 'adts' | 'aiff' | 'wav' | 'unknown';

export interface CompressedInfo {
  container: CompressedContainer;
  /** 'flac', 'vorbis', 'opus', 'mp1', 'mp2', 'mp3', 'aac', 'pcm', … or 'unknown'. */
  codec: string;
  /** The file's own rate, when the header states it. */
  sampleRate: number | undefined;
  channels: number | undefined;
  bitsPerSample: number | undefined;
  /** Frames per channel, when the header states it (FLAC, AIFF). */
  totalFrames: number | undefined;
}

export interface DecodeOptions {
  /** Name for error messages. */
  path?: string;
  /** Decode at this rate instead of the file's own (the decoder then resamples). */
  sampleRate?: number;
  /** Refuse files whose header promises more decoded float32 bytes than this. Default 4 GiB. */
  maxDecodedBytes?: number;
}

export interface DecodeResult {
  audio: PcmAudio;
  info: CompressedInfo;
  warnings: string[];
}

/**
 * One decoding context per rate, reused: node-web-audio-api never frees a context's native memory
 * (~96 KB each, measured), so a context per call grew a long-running process without bound.
 */
const decodeContexts = new Map<number, OfflineAudioContext>();

/** Rate used when a format's header cannot be read for its own rate. */
export const FALLBACK_DECODE_RATE = 48_000;

const u32be = (b: Uint8Array, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const u32le = (b: Uint8Array, o: number): number =>
  ((b[o + 3]! << 24) | (b[o + 2]! << 16) | (b[o + 1]! << 8) | b[o]!) >>> 0;
const u16be = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const ascii = (b: Uint8Array, o: number, n: number): string =>
  o + n <= b.length ? String.fromCharCode(...b.subarray(o, o + n)) : '';

/** Offset of the first byte after any ID3v2 tags (MP3 and, rarely, FLAC start with one). */
export function skipId3v2(b: Uint8Array): number {
  let o = 0;
  while (o + 10 <= b.length && ascii(b, o, 3) === 'ID3') {
    const size =
      ((b[o + 6]! & 0x7f) << 21) |
      ((b[o + 7]! & 0x7f) << 14) |
      ((b[o + 8]! & 0x7f) << 7) |
      (b[o + 9]! & 0x7f);
    o += 10 + size + ((b[o + 5]! & 0x10) !== 0 ? 10 : 0);
  }
  return Math.min(o, b.length);
}

function unknown(container: CompressedContainer = 'unknown', codec = 'unknown'): CompressedInfo {
  return {
    container,
    codec,
    sampleRate: undefined,
    channels: undefined,
    bitsPerSample: undefined,
    totalFrames: undefined,
  };
}

/** FLAC STREAMINFO body (34 bytes) at `d`. */
function flacStreamInfo(b: Uint8Array, d: number, container: CompressedContainer): CompressedInfo {
  if (d + 18 > b.length) return unknown(container, 'flac');
  const sampleRate = (b[d + 10]! << 12) | (b[d + 11]! << 4) | (b[d + 12]! >> 4);
  const channels = ((b[d + 12]! >> 1) & 7) + 1;
  const bitsPerSample = (((b[d + 12]! & 1) << 4) | (b[d + 13]! >> 4)) + 1;
  const total = (b[d + 13]! & 0x0f) * 2 ** 32 + u32be(b, d + 14);
  return {
    container,
    codec: 'flac',
    sampleRate: sampleRate || undefined,
    channels,
    bitsPerSample,
    totalFrames: total || undefined,
  };
}

const MPEG_BITRATES: Record<string, number[]> = {
  '1-1': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  '1-2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  '1-3': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  '2-1': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  '2-2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

interface MpegFrame {
  rate: number;
  layer: number;
  channels: number;
  length: number;
}

/** An MPEG audio (layer I/II/III) frame header at `o`, or undefined. */
function mpegFrame(b: Uint8Array, o: number): MpegFrame | undefined {
  if (o + 4 > b.length || b[o] !== 0xff || (b[o + 1]! & 0xe0) !== 0xe0) return undefined;
  const version = (b[o + 1]! >> 3) & 3; // 0: 2.5, 2: 2, 3: 1
  const layer = 4 - ((b[o + 1]! >> 1) & 3); // 1..3, 4 = reserved
  const brIdx = b[o + 2]! >> 4;
  const srIdx = (b[o + 2]! >> 2) & 3;
  if (version === 1 || layer === 4 || brIdx === 0 || brIdx === 15 || srIdx === 3) return undefined;
  const rate = [44100, 48000, 32000][srIdx]! / (version === 3 ? 1 : version === 2 ? 2 : 4);
  const table = MPEG_BITRATES[version === 3 ? `1-${layer}` : `2-${layer === 1 ? 1 : 2}`]!;
  const bitrate = table[brIdx]! * 1000;
  const pad = (b[o + 2]! >> 1) & 1;
  const length =
    layer === 1
      ? (Math.floor((12 * bitrate) / rate) + pad) * 4
      : Math.floor(((layer === 3 && version !== 3 ? 72 : 144) * bitrate) / rate) + pad;
  return { rate, layer, channels: b[o + 3]! >> 6 === 3 ? 1 : 2, length };
}

/** First MPEG frame whose successor also parses (guards against stray 0xFFE bit patterns). */
function findMpeg(b: Uint8Array, start: number): MpegFrame | undefined {
  const end = Math.min(b.length - 4, start + 65536);
  for (let o = start; o <= end; o++) {
    if (b[o] !== 0xff) continue;
    const f = mpegFrame(b, o);
    if (f === undefined) continue;
    const next = o + f.length;
    if (next + 4 > b.length) return o === start ? f : undefined;
    const g = mpegFrame(b, next);
    if (g !== undefined && g.rate === f.rate && g.layer === f.layer) return f;
  }
  return undefined;
}

/** IEEE 754 80-bit extended (AIFF sample rate). */
function extended80(b: Uint8Array, o: number): number {
  const exp = (((b[o]! & 0x7f) << 8) | b[o + 1]!) - 16383;
  const mant = u32be(b, o + 2) * 2 ** 32 + u32be(b, o + 6);
  return mant * 2 ** (exp - 63);
}

/** Identify a compressed (or otherwise non-native) audio file from its first bytes and read its rate. */
export function probeCompressed(bytes: Uint8Array): CompressedInfo {
  const b = bytes;
  const o = skipId3v2(b);
  if (ascii(b, o, 4) === 'fLaC') {
    // The first metadata block must be STREAMINFO.
    return (b[o + 4]! & 0x7f) === 0 ? flacStreamInfo(b, o + 8, 'flac') : unknown('flac', 'flac');
  }
  if (ascii(b, 0, 4) === 'OggS') {
    if (b.length < 28) return unknown('ogg');
    const p = 27 + b[26]!;
    if (b[p] === 0x01 && ascii(b, p + 1, 6) === 'vorbis' && p + 16 <= b.length) {
      return {
        container: 'ogg',
        codec: 'vorbis',
        sampleRate: u32le(b, p + 12) || undefined,
        channels: b[p + 11],
        bitsPerSample: undefined,
        totalFrames: undefined,
      };
    }
    if (ascii(b, p, 8) === 'OpusHead') return { ...unknown('ogg', 'opus'), channels: b[p + 9] };
    if (b[p] === 0x7f && ascii(b, p + 1, 4) === 'FLAC' && ascii(b, p + 9, 4) === 'fLaC') {
      return flacStreamInfo(b, p + 17, 'ogg');
    }
    if (ascii(b, p, 8) === 'Speex   ') return unknown('ogg', 'speex');
    return unknown('ogg');
  }
  if (ascii(b, 0, 4) === 'FORM' && (ascii(b, 8, 4) === 'AIFF' || ascii(b, 8, 4) === 'AIFC')) {
    let p = 12;
    while (p + 8 <= b.length) {
      const size = u32be(b, p + 4);
      if (ascii(b, p, 4) === 'COMM' && size >= 18 && p + 26 <= b.length) {
        const rate = extended80(b, p + 16);
        return {
          container: 'aiff',
          codec:
            ascii(b, 8, 4) === 'AIFC' && size >= 22
              ? ascii(b, p + 26, 4)
                  .trim()
                  .toLowerCase()
              : 'pcm',
          sampleRate: Number.isFinite(rate) && rate > 0 ? Math.round(rate) : undefined,
          channels: u16be(b, p + 8),
          bitsPerSample: u16be(b, p + 14),
          totalFrames: u32be(b, p + 10),
        };
      }
      p += 8 + size + (size & 1);
    }
    return unknown('aiff', 'pcm');
  }
  if ((ascii(b, 0, 4) === 'RIFF' || ascii(b, 0, 4) === 'RF64') && ascii(b, 8, 4) === 'WAVE') {
    let p = 12;
    while (p + 8 <= b.length) {
      const size = u32le(b, p + 4);
      if (ascii(b, p, 4) === 'fmt ' && p + 24 <= b.length) {
        const tag = b[p + 8]! | (b[p + 9]! << 8);
        return {
          container: 'wav',
          codec: `wav-0x${tag.toString(16).padStart(4, '0')}`,
          sampleRate: u32le(b, p + 12) || undefined,
          channels: b[p + 10]! | (b[p + 11]! << 8),
          bitsPerSample: undefined,
          totalFrames: undefined,
        };
      }
      p += 8 + size + (size & 1);
    }
    return unknown('wav');
  }
  // ADTS AAC: 12-bit sync, layer 00.
  if (b[o] === 0xff && (b[o + 1]! & 0xf6) === 0xf0 && o + 4 <= b.length) {
    const idx = (b[o + 2]! >> 2) & 0xf;
    return {
      container: 'adts',
      codec: 'aac',
      sampleRate: ADTS_RATES[idx],
      channels: ((b[o + 2]! & 1) << 2) | (b[o + 3]! >> 6),
      bitsPerSample: undefined,
      totalFrames: undefined,
    };
  }
  const mpeg = findMpeg(b, o);
  if (mpeg !== undefined && (o > 0 || b[0] === 0xff)) {
    return {
      container: 'mpeg',
      codec: `mp${mpeg.layer}`,
      sampleRate: mpeg.rate,
      channels: mpeg.channels,
      bitsPerSample: undefined,
      totalFrames: undefined,
    };
  }
  return unknown();
}

/** A one-line description of what the first bytes look like, for "not audio" messages. */
export function describeBytes(b: Uint8Array): string {
  const head = b.subarray(0, 512);
  let printable = 0;
  for (const c of head) if ((c >= 0x20 && c < 0x7f) || c === 0x09 || c === 0x0a || c === 0x0d) printable++;
  if (head.length > 0 && printable / head.length > 0.95) return 'looks like text';
  const hex = Array.from(b.subarray(0, 4), (c) => c.toString(16).padStart(2, '0')).join(' ');
  return `starts with bytes ${hex}`;
}

function label(info: CompressedInfo): string {
  if (info.container === 'unknown') return 'audio';
  if (info.codec === 'unknown') return info.container.toUpperCase();
  return info.container === info.codec ? info.codec.toUpperCase() : `${info.container}/${info.codec}`;
}

/**
 * Decode a compressed file at its own sample rate. Errors: ERR_UNSUPPORTED_AUDIO (codec the decoder
 * lacks, e.g. Opus), ERR_BAD_AUDIO (not audio, or corrupt).
 */
export async function decodeCompressed(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<DecodeResult> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  if (opts.sampleRate !== undefined && (!Number.isInteger(opts.sampleRate) || opts.sampleRate <= 0)) {
    throw new RangeError('opts.sampleRate must be a positive integer');
  }
  const where = opts.path === undefined ? {} : { path: opts.path };
  if (bytes.length === 0) throw new SonodiffError('ERR_BAD_AUDIO', 'empty file', where);
  const info = probeCompressed(bytes);
  const warnings: string[] = [];
  if (info.codec === 'opus' || info.codec === 'speex') {
    throw new SonodiffError(
      'ERR_UNSUPPORTED_AUDIO',
      `Ogg ${info.codec === 'opus' ? 'Opus' : 'Speex'} is not supported by the decoder; convert it to FLAC or WAV`,
      where,
    );
  }
  let rate = opts.sampleRate ?? info.sampleRate;
  if (rate === undefined) {
    rate = FALLBACK_DECODE_RATE;
    warnings.push(`the file's own sample rate is unknown; decoded (resampled) at ${rate} Hz`);
  }
  if (rate < MIN_SAMPLE_RATE || rate > MAX_SAMPLE_RATE) {
    throw new SonodiffError(
      'ERR_UNSUPPORTED_AUDIO',
      `sample rate ${rate} Hz is outside the supported ${MIN_SAMPLE_RATE}–${MAX_SAMPLE_RATE} Hz`,
      where,
    );
  }
  const maxDecoded = opts.maxDecodedBytes ?? 4 * 1024 ** 3;
  if (info.totalFrames !== undefined && info.channels !== undefined) {
    const decoded = info.totalFrames * info.channels * 4;
    if (decoded > maxDecoded) {
      throw new SonodiffError(
        'ERR_UNSUPPORTED_AUDIO',
        `${label(info)} would decode to ${(decoded / 1024 ** 3).toFixed(1)} GiB, over the ${(maxDecoded / 1024 ** 3).toFixed(1)} GiB limit`,
        where,
      );
    }
  }

  let ctx: OfflineAudioContext;
  try {
    ctx =
      decodeContexts.get(rate) ??
      new (await webAudio()).OfflineAudioContext({ numberOfChannels: 1, length: 1, sampleRate: rate });
    decodeContexts.set(rate, ctx);
  } catch (err) {
    throw new SonodiffError(
      'ERR_UNSUPPORTED_AUDIO',
      `cannot decode at ${rate} Hz: ${(err as Error).message}`,
      {
        ...where,
        cause: err,
      },
    );
  }
  // decodeAudioData detaches the ArrayBuffer it is given: hand it a copy, never the caller's memory.
  const copy = bytes.slice().buffer;
  let buffer: AudioBuffer;
  try {
    buffer = await ctx.decodeAudioData(copy);
  } catch (err) {
    const msg = ((err as Error).message ?? String(err)).replace(/^Failed to execute 'decodeAudioData': /, '');
    if (info.container === 'unknown') {
      throw new SonodiffError('ERR_BAD_AUDIO', `not a recognised audio format (${describeBytes(bytes)})`, {
        ...where,
        cause: err,
      });
    }
    const code = /unsupported/i.test(msg) ? 'ERR_UNSUPPORTED_AUDIO' : 'ERR_BAD_AUDIO';
    throw new SonodiffError(code, `cannot decode ${label(info)}: ${msg}`, { ...where, cause: err });
  }
  // An OfflineAudioContext has no close(); one that never renders holds no thread or device, so it
  // does not keep the process alive (checked in tests/audio-io).
  if (buffer.length === 0)
    throw new SonodiffError('ERR_BAD_AUDIO', `${label(info)} decoded to no samples`, where);
  const channels: Float32Array[] = [];
  for (let c = 0; c < buffer.numberOfChannels; c++) {
    const ch = new Float32Array(buffer.length);
    // copyFromChannel, not getChannelData: the latter is unreliable in node-web-audio-api (its README).
    buffer.copyFromChannel(ch, c);
    channels.push(ch);
  }
  if (buffer.sampleRate !== rate)
    warnings.push(`decoder returned ${buffer.sampleRate} Hz instead of ${rate} Hz`);
  return { audio: { sampleRate: buffer.sampleRate, channels }, info, warnings };
}
