/**
 * WAV reading with a strict RIFF walk of our own. Headers are treated as hostile: every size is checked
 * against the bytes actually present, nothing is allocated from a claimed size, and every problem becomes
 * one `SonodiffError` line naming the file.
 *
 * Linear PCM and float samples are unpacked with typed reads (about 40× faster than wavefile's generic
 * unpacker, which the tests use as the reference); A-law/µ-law go through wavefile's G.711 codecs.
 */
import wavefile from 'wavefile';
import { SonodiffError } from '../errors.ts';
import { MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, type PcmAudio } from './types.ts';

export type WavSampleFormat = 'pcm' | 'float' | 'alaw' | 'mulaw';

export interface WavFormat {
  container: 'RIFF' | 'RF64';
  /** The fmt chunk's format tag (0xFFFE for WAVE_FORMAT_EXTENSIBLE). */
  formatTag: number;
  sampleFormat: WavSampleFormat;
  extensible: boolean;
  /** Bits per sample as stored (the container size: 8, 16, 24, 32 or 64). */
  bitsPerSample: number;
  /** Meaningful bits (e.g. 20 in a 24-bit container); equals bitsPerSample when not stated. */
  validBitsPerSample: number;
  /** Speaker mask of an extensible header; 0 when absent. */
  channelMask: number;
  blockAlign: number;
  sampleRate: number;
  channels: number;
}

export interface WavCuePoint {
  id: number;
  /** Sample frame the marker sits on. */
  frame: number;
  label?: string;
}

export interface WavLoop {
  /** First frame of the loop. */
  start: number;
  /** One past the last frame of the loop (the smpl chunk stores end - 1). */
  end: number;
  /** 0 forward, 1 alternating, 2 backward. */
  type: number;
  /** 0 = loop forever. */
  playCount: number;
}

export interface WavAcid {
  oneShot: boolean;
  stretch: boolean;
  diskBased: boolean;
  /** MIDI root note, when the root-note flag is set. */
  rootNote: number | undefined;
  beats: number;
  meterNumerator: number;
  meterDenominator: number;
  tempo: number;
}

export interface WavMetadata {
  /** LIST/INFO text by chunk id (INAM, ICMT, ISFT, …). */
  tags: Record<string, string>;
  cuePoints: WavCuePoint[];
  loops: WavLoop[];
  /** smpl MIDI unity note, when a smpl chunk is present. */
  midiUnityNote: number | undefined;
  acid: WavAcid | undefined;
  /** Broadcast-WAV description and originator, when a bext chunk is present. */
  bext: { description: string; originator: string } | undefined;
}

export interface WavChunkInfo {
  id: string;
  /** Byte offset of the chunk header. */
  offset: number;
  /** Size as claimed by the header. */
  size: number;
}

export interface WavHeader {
  format: WavFormat;
  frames: number;
  /** Byte offset and usable length of the sample data. */
  dataOffset: number;
  dataBytes: number;
  metadata: WavMetadata;
  chunks: WavChunkInfo[];
  /** Recoverable problems (clamped data, garbage after the last chunk, …). */
  warnings: string[];
}

export interface WavDecoded extends WavHeader {
  audio: PcmAudio;
}

export interface WavReadOptions {
  /** Name used in error messages (the file path). */
  path?: string;
}

/** More chunks than this is a corrupt or hostile file; stops a walk over millions of empty chunks. */
const MAX_CHUNKS = 4096;
const KNOWN_CHUNKS = new Set([
  'fmt ',
  'data',
  'fact',
  'LIST',
  'cue ',
  'smpl',
  'acid',
  'bext',
  'JUNK',
  'junk',
  'PAD ',
  'FLLR',
  'id3 ',
  'ID3 ',
  'ds64',
  'inst',
  'iXML',
  '_PMX',
  'plst',
  'cart',
  'axml',
  'umid',
  'DISP',
  'minf',
  'elm1',
  'regn',
  'levl',
]);
const KSDATAFORMAT_TAIL = [
  0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];
const FORMAT_NAMES: Record<number, string> = {
  2: 'MS ADPCM',
  17: 'IMA ADPCM',
  49: 'GSM 6.10',
  80: 'MPEG',
  85: 'MPEG Layer 3',
  146: 'AC-3',
  353: 'WMA',
};

function ascii4(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
}

function isChunkId(b: Uint8Array, at: number): boolean {
  if (at + 4 > b.length) return false;
  for (let i = 0; i < 4; i++) {
    const c = b[at + i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

function text(b: Uint8Array, start: number, end: number): string {
  let e = end;
  while (e > start && (b[e - 1] === 0 || b[e - 1] === 0x20)) e--;
  const nul = b.subarray(start, e).indexOf(0);
  if (nul >= 0) e = start + nul;
  return new TextDecoder('utf-8').decode(b.subarray(start, e));
}

function fail(
  code: 'ERR_BAD_AUDIO' | 'ERR_UNSUPPORTED_AUDIO',
  message: string,
  path: string | undefined,
): never {
  throw new SonodiffError(code, message, path === undefined ? {} : { path });
}

/**
 * Walk the RIFF structure and parse fmt and metadata, without touching the samples.
 * Throws `SonodiffError` (ERR_BAD_AUDIO / ERR_UNSUPPORTED_AUDIO) on anything that cannot be read.
 */
export function parseWavHeader(bytes: Uint8Array, opts: WavReadOptions = {}): WavHeader {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  const path = opts.path;
  const len = bytes.length;
  if (len === 0) fail('ERR_BAD_AUDIO', 'empty file', path);
  if (len < 12) {
    const head = String.fromCharCode(...bytes.subarray(0, 4));
    fail('ERR_BAD_AUDIO', head === 'RIFF' ? `truncated WAV header (${len} bytes)` : 'not a WAV file', path);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = ascii4(bytes, 0);
  if (magic === 'RIFX') fail('ERR_UNSUPPORTED_AUDIO', 'big-endian RIFX WAV is not supported', path);
  if (magic !== 'RIFF' && magic !== 'RF64') fail('ERR_BAD_AUDIO', 'not a WAV file (no RIFF header)', path);
  const form = ascii4(bytes, 8);
  if (form !== 'WAVE') {
    fail('ERR_BAD_AUDIO', `RIFF file of type '${form.replace(/[^\x20-\x7e]/g, '?')}', not WAVE audio`, path);
  }
  const container = magic as 'RIFF' | 'RF64';

  const warnings: string[] = [];
  const chunks: WavChunkInfo[] = [];
  const bodies = new Map<string, { offset: number; size: number }[]>();
  let ds64DataSize = -1;
  let data: { offset: number; size: number; claimed: number } | undefined;
  let stoppedBy: string | undefined;
  let pos = 12;
  while (pos + 8 <= len) {
    if (!isChunkId(bytes, pos)) {
      warnings.push(`unreadable bytes after offset ${pos} ignored`);
      break;
    }
    if (chunks.length >= MAX_CHUNKS) {
      warnings.push(`more than ${MAX_CHUNKS} chunks; the rest ignored`);
      stoppedBy = `more than ${MAX_CHUNKS} chunks`;
      break;
    }
    const id = ascii4(bytes, pos);
    const size = dv.getUint32(pos + 4, true);
    const body = pos + 8;
    const avail = len - body;
    chunks.push({ id, offset: pos, size });
    let advance = size;
    if (id === 'data') {
      let claimed = size;
      if (size === 0xffffffff) claimed = container === 'RF64' && ds64DataSize >= 0 ? ds64DataSize : avail;
      const got = Math.min(claimed, avail);
      if (claimed > avail) {
        warnings.push(`data chunk claims ${claimed} bytes but only ${avail} are present; reading ${got}`);
      }
      if (data === undefined) data = { offset: body, size: got, claimed };
      advance = claimed;
    } else {
      if (size > avail) {
        if (id === 'fmt ') {
          fail('ERR_BAD_AUDIO', `fmt chunk claims ${size} bytes but only ${avail} remain in the file`, path);
        }
        stoppedBy = `chunk '${id}' at offset ${pos} claims ${size} bytes, past the end of the file (${len} bytes)`;
        warnings.push(`${stoppedBy}; ignored`);
        break;
      }
      if (id === 'ds64' && container === 'RF64' && size >= 24) {
        // 64-bit sizes; above 2^53 the file could not be in memory anyway.
        ds64DataSize = Number(dv.getBigUint64(body + 8, true));
      }
      let list = bodies.get(id);
      if (list === undefined) bodies.set(id, (list = []));
      list.push({ offset: body, size });
    }
    let next = body + advance + (advance & 1);
    // Some writers forget the pad byte after an odd-sized chunk: take the chunk id one byte earlier when
    // that one looks right and the padded position does not.
    if ((advance & 1) === 1 && next + 8 <= len && isChunkId(bytes, next - 1)) {
      const padded = isChunkId(bytes, next) ? ascii4(bytes, next) : undefined;
      if (padded === undefined || (!KNOWN_CHUNKS.has(padded) && KNOWN_CHUNKS.has(ascii4(bytes, next - 1))))
        next -= 1;
    }
    pos = next;
  }

  const fmtChunk = bodies.get('fmt ')?.[0];
  if (fmtChunk === undefined) {
    fail('ERR_BAD_AUDIO', stoppedBy !== undefined ? `no fmt chunk (${stoppedBy})` : 'no fmt chunk', path);
  }
  const format = parseFmt(bytes, dv, fmtChunk, container, path);
  if (data === undefined) {
    fail('ERR_BAD_AUDIO', stoppedBy !== undefined ? `no data chunk (${stoppedBy})` : 'no data chunk', path);
  }
  const frames = Math.floor(data.size / format.blockAlign);
  if (frames === 0 && data.claimed > 0) {
    fail(
      'ERR_BAD_AUDIO',
      `truncated: data chunk claims ${data.claimed} bytes but only ${data.size} are present`,
      path,
    );
  }
  if (frames === 0) warnings.push('the data chunk holds no samples');
  if (data.size % format.blockAlign !== 0) {
    warnings.push(`${data.size % format.blockAlign} trailing bytes of a partial frame ignored`);
  }
  const metadata = parseMetadata(bytes, dv, bodies, warnings);
  return {
    format,
    frames,
    dataOffset: data.offset,
    dataBytes: frames * format.blockAlign,
    metadata,
    chunks,
    warnings,
  };
}

function parseFmt(
  b: Uint8Array,
  dv: DataView,
  chunk: { offset: number; size: number },
  container: 'RIFF' | 'RF64',
  path: string | undefined,
): WavFormat {
  const o = chunk.offset;
  if (chunk.size < 16) fail('ERR_BAD_AUDIO', `fmt chunk too short (${chunk.size} bytes, need 16)`, path);
  const formatTag = dv.getUint16(o, true);
  const channels = dv.getUint16(o + 2, true);
  const sampleRate = dv.getUint32(o + 4, true);
  const blockAlign = dv.getUint16(o + 12, true);
  const bits = dv.getUint16(o + 14, true);
  const extensible = formatTag === 0xfffe;
  let tag = formatTag;
  let validBits = bits;
  let channelMask = 0;
  if (extensible) {
    if (chunk.size < 40)
      fail('ERR_BAD_AUDIO', `extensible fmt chunk too short (${chunk.size} bytes, need 40)`, path);
    validBits = dv.getUint16(o + 18, true) || bits;
    channelMask = dv.getUint32(o + 20, true);
    tag = dv.getUint16(o + 24, true);
    for (let i = 0; i < KSDATAFORMAT_TAIL.length; i++) {
      if (b[o + 26 + i] !== KSDATAFORMAT_TAIL[i]) {
        fail('ERR_UNSUPPORTED_AUDIO', 'WAVE_FORMAT_EXTENSIBLE with an unknown sub-format GUID', path);
      }
    }
  }
  if (channels === 0) fail('ERR_BAD_AUDIO', 'header says zero channels', path);
  if (channels > MAX_CHANNELS) {
    fail('ERR_BAD_AUDIO', `header says ${channels} channels (more than ${MAX_CHANNELS}: corrupt?)`, path);
  }
  if (sampleRate === 0) fail('ERR_BAD_AUDIO', 'header says sample rate 0 Hz', path);
  if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    fail(
      'ERR_UNSUPPORTED_AUDIO',
      `sample rate ${sampleRate} Hz is outside the supported ${MIN_SAMPLE_RATE}–${MAX_SAMPLE_RATE} Hz`,
      path,
    );
  }
  let sampleFormat: WavSampleFormat;
  let containerBytes: number;
  if (tag === 1) {
    sampleFormat = 'pcm';
    if (bits === 0) fail('ERR_BAD_AUDIO', 'header says 0 bits per sample', path);
    if (bits > 32) fail('ERR_UNSUPPORTED_AUDIO', `${bits}-bit integer PCM is not supported`, path);
    containerBytes = Math.ceil(bits / 8);
  } else if (tag === 3) {
    sampleFormat = 'float';
    if (bits !== 32 && bits !== 64) fail('ERR_UNSUPPORTED_AUDIO', `${bits}-bit float is not supported`, path);
    containerBytes = bits / 8;
  } else if (tag === 6 || tag === 7) {
    sampleFormat = tag === 6 ? 'alaw' : 'mulaw';
    if (bits !== 8) fail('ERR_BAD_AUDIO', `${bits}-bit ${sampleFormat} (G.711 is 8-bit)`, path);
    containerBytes = 1;
  } else {
    const name = FORMAT_NAMES[tag];
    const hex = `0x${tag.toString(16).padStart(4, '0')}`;
    fail('ERR_UNSUPPORTED_AUDIO', `WAV format ${hex}${name ? ` (${name})` : ''} is not supported`, path);
  }
  const expected = channels * containerBytes;
  if (blockAlign !== expected) {
    fail(
      'ERR_BAD_AUDIO',
      `block align ${blockAlign} does not match ${channels} channel(s) of ${bits}-bit samples (expected ${expected})`,
      path,
    );
  }
  if (validBits > bits) validBits = bits;
  return {
    container,
    formatTag,
    sampleFormat,
    extensible,
    bitsPerSample: containerBytes * 8,
    validBitsPerSample: extensible ? validBits : bits,
    channelMask,
    blockAlign,
    sampleRate,
    channels,
  };
}

function parseMetadata(
  b: Uint8Array,
  dv: DataView,
  bodies: Map<string, { offset: number; size: number }[]>,
  warnings: string[],
): WavMetadata {
  const tags: Record<string, string> = {};
  const labels = new Map<number, string>();
  for (const list of bodies.get('LIST') ?? []) {
    if (list.size < 4) continue;
    const kind = ascii4(b, list.offset);
    const end = list.offset + list.size;
    let p = list.offset + 4;
    while (p + 8 <= end) {
      if (!isChunkId(b, p)) break;
      const id = ascii4(b, p);
      const size = dv.getUint32(p + 4, true);
      const body = p + 8;
      if (size > end - body) {
        warnings.push(`LIST/${kind} entry '${id}' overruns its list; ignored`);
        break;
      }
      if (kind === 'INFO') tags[id] = text(b, body, body + size);
      else if (kind === 'adtl' && id === 'labl' && size >= 4) {
        labels.set(dv.getUint32(body, true), text(b, body + 4, body + size));
      }
      p = body + size + (size & 1);
    }
  }

  const cuePoints: WavCuePoint[] = [];
  const cue = bodies.get('cue ')?.[0];
  if (cue !== undefined && cue.size >= 4) {
    let n = dv.getUint32(cue.offset, true);
    const fits = Math.floor((cue.size - 4) / 24);
    if (n > fits) {
      warnings.push(`cue chunk claims ${n} points but holds ${fits}`);
      n = fits;
    }
    for (let i = 0; i < n; i++) {
      const q = cue.offset + 4 + 24 * i;
      const id = dv.getUint32(q, true);
      const point: WavCuePoint = { id, frame: dv.getUint32(q + 20, true) };
      const label = labels.get(id);
      if (label !== undefined) point.label = label;
      cuePoints.push(point);
    }
  }

  const loops: WavLoop[] = [];
  let midiUnityNote: number | undefined;
  const smpl = bodies.get('smpl')?.[0];
  if (smpl !== undefined && smpl.size >= 36) {
    midiUnityNote = dv.getUint32(smpl.offset + 12, true);
    let n = dv.getUint32(smpl.offset + 28, true);
    const fits = Math.floor((smpl.size - 36) / 24);
    if (n > fits) {
      warnings.push(`smpl chunk claims ${n} loops but holds ${fits}`);
      n = fits;
    }
    for (let i = 0; i < n; i++) {
      const q = smpl.offset + 36 + 24 * i;
      loops.push({
        type: dv.getUint32(q + 4, true),
        start: dv.getUint32(q + 8, true),
        end: dv.getUint32(q + 12, true) + 1,
        playCount: dv.getUint32(q + 20, true),
      });
    }
  }

  let acid: WavAcid | undefined;
  const acidChunk = bodies.get('acid')?.[0];
  if (acidChunk !== undefined && acidChunk.size >= 24) {
    const o = acidChunk.offset;
    const flags = dv.getUint32(o, true);
    acid = {
      oneShot: (flags & 1) !== 0,
      rootNote: (flags & 2) !== 0 ? dv.getUint16(o + 4, true) : undefined,
      stretch: (flags & 4) !== 0,
      diskBased: (flags & 8) !== 0,
      beats: dv.getUint32(o + 12, true),
      meterDenominator: dv.getUint16(o + 16, true),
      meterNumerator: dv.getUint16(o + 18, true),
      tempo: dv.getFloat32(o + 20, true),
    };
  }

  let bext: WavMetadata['bext'];
  const bextChunk = bodies.get('bext')?.[0];
  if (bextChunk !== undefined && bextChunk.size >= 288) {
    bext = {
      description: text(b, bextChunk.offset, bextChunk.offset + 256),
      originator: text(b, bextChunk.offset + 256, bextChunk.offset + 288),
    };
  }
  return { tags, cuePoints, loops, midiUnityNote, acid, bext };
}

let g711: { alaw: Float32Array; mulaw: Float32Array } | undefined;

/** 256-entry G.711 tables, decoded once through wavefile's codecs. */
function g711Tables(): { alaw: Float32Array; mulaw: Float32Array } {
  if (g711 !== undefined) return g711;
  const codes = new Uint8Array(256);
  for (let i = 0; i < 256; i++) codes[i] = i;
  const make = (law: 'alaw' | 'mulaw'): Float32Array => {
    const wav = new wavefile.WaveFile();
    wav.fromScratch(1, 8000, law === 'alaw' ? '8a' : '8m', codes);
    if (law === 'alaw') wav.fromALaw('16');
    else wav.fromMuLaw('16');
    const ints = wav.getSamples(false, Float64Array);
    const out = new Float32Array(256);
    for (let i = 0; i < 256; i++) out[i] = ints[i]! / 32768;
    return out;
  };
  g711 = { alaw: make('alaw'), mulaw: make('mulaw') };
  return g711;
}

/**
 * Unpack interleaved sample bytes into planar float32 (integers scaled by 2^-(bits-1), so in [-1, 1)).
 * Non-finite float samples become 0.
 */
export function decodeWavSamples(
  bytes: Uint8Array,
  format: Pick<WavFormat, 'sampleFormat' | 'bitsPerSample' | 'channels'>,
  frames: number,
  dataOffset = 0,
): Float32Array[] {
  return unpack(bytes, format, frames, dataOffset).channels;
}

function unpack(
  bytes: Uint8Array,
  format: Pick<WavFormat, 'sampleFormat' | 'bitsPerSample' | 'channels'>,
  frames: number,
  dataOffset: number,
): { channels: Float32Array[]; nonFinite: number } {
  const nch = format.channels;
  const bps = format.bitsPerSample / 8;
  if (dataOffset + frames * nch * bps > bytes.length) throw new RangeError('frames exceed the bytes given');
  const dv = new DataView(bytes.buffer, bytes.byteOffset + dataOffset, frames * nch * bps);
  const out: Float32Array[] = [];
  for (let c = 0; c < nch; c++) out.push(new Float32Array(frames));
  const stride = nch * bps;
  let nonFinite = 0;
  for (let c = 0; c < nch; c++) {
    const ch = out[c]!;
    let p = c * bps;
    if (format.sampleFormat === 'pcm') {
      if (bps === 1) {
        for (let i = 0; i < frames; i++, p += stride) ch[i] = (dv.getUint8(p) - 128) / 128;
      } else if (bps === 2) {
        for (let i = 0; i < frames; i++, p += stride) ch[i] = dv.getInt16(p, true) / 32768;
      } else if (bps === 3) {
        for (let i = 0; i < frames; i++, p += stride) {
          ch[i] =
            ((dv.getUint8(p) | (dv.getUint8(p + 1) << 8) | (dv.getInt8(p + 2) << 16)) as number) / 8388608;
        }
      } else {
        for (let i = 0; i < frames; i++, p += stride) ch[i] = dv.getInt32(p, true) / 2147483648;
      }
    } else if (format.sampleFormat === 'float') {
      for (let i = 0; i < frames; i++, p += stride) {
        // fround: a finite float64 beyond float32's range would become ±Infinity in the output.
        const v = Math.fround(bps === 4 ? dv.getFloat32(p, true) : dv.getFloat64(p, true));
        if (Number.isFinite(v)) ch[i] = v;
        else nonFinite++;
      }
    } else {
      const table = g711Tables()[format.sampleFormat];
      for (let i = 0; i < frames; i++, p += stride) ch[i] = table[dv.getUint8(p)]!;
    }
  }
  return { channels: out, nonFinite };
}

/** Read a whole WAV file held in memory. */
export function readWav(bytes: Uint8Array, opts: WavReadOptions = {}): WavDecoded {
  const header = parseWavHeader(bytes, opts);
  const { channels, nonFinite } = unpack(bytes, header.format, header.frames, header.dataOffset);
  // NaN/Inf would poison every later DSP stage, so they were zeroed; say so.
  if (nonFinite > 0) header.warnings.push(`${nonFinite} NaN/infinite float samples replaced by 0`);
  return { ...header, audio: { sampleRate: header.format.sampleRate, channels } };
}
