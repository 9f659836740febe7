/**
 * WAV writing. wavefile lays out the header and the metadata chunks DAWs read (fmt, LIST/INFO, cue +
 * LIST/adtl labels, smpl); we pack the samples ourselves (typed writes, TPDF dither, clipping) and
 * append the `acid` chunk, which wavefile does not know. Files are written to a temporary name in the
 * target folder and renamed only when complete.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import wavefile from 'wavefile';
import { SonodiffError } from '../errors.ts';
import { MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, type PcmAudio } from './types.ts';

export type WavEncoding = 'pcm16' | 'pcm24' | 'float32';

export interface WavCueInput {
  frame: number;
  label?: string;
}

export interface WavLoopInput {
  /** First frame of the loop. */
  start: number;
  /** One past the last frame (exclusive; written as end - 1 in smpl). */
  end: number;
  /** 0 = forever (default). */
  playCount?: number;
}

export interface WavAcidInput {
  tempo: number;
  beats: number;
  /** Default false: a loop, which is what stretches to tempo in a DAW. */
  oneShot?: boolean;
  /** Default true. */
  stretch?: boolean;
  diskBased?: boolean;
  rootNote?: number;
  /** [numerator, denominator], default [4, 4]. */
  meter?: [number, number];
}

export interface WavMetadataInput {
  title?: string;
  artist?: string;
  /** Free text; the service puts prompt, seed and model here. */
  comment?: string;
  software?: string;
  genre?: string;
  /** ICRD, e.g. '2025-01-31'. */
  date?: string;
  copyright?: string;
  /** Any other INFO tags by four-character id. */
  tags?: Record<string, string>;
  cuePoints?: WavCueInput[];
  loops?: WavLoopInput[];
  /** smpl MIDI unity note (default 60). */
  midiUnityNote?: number;
  acid?: WavAcidInput;
}

export interface WavEncodeOptions {
  /** Default 'pcm16'. */
  encoding?: WavEncoding;
  /** TPDF dither before integer quantisation. Default: true for pcm16, false otherwise. */
  dither?: boolean;
  /** Seed of the dither noise, so equal inputs give equal bytes. Default 1. */
  ditherSeed?: number;
  metadata?: WavMetadataInput;
}

export interface WavWriteOptions extends WavEncodeOptions {
  /** Replace an existing file. Default false. */
  force?: boolean;
}

export interface WavWriteResult {
  path: string;
  bytes: number;
  frames: number;
  /** Samples that were outside the encoding's range (or not finite) and were clipped. */
  clippedSamples: number;
}

const INFO_IDS: Record<string, string> = {
  title: 'INAM',
  artist: 'IART',
  comment: 'ICMT',
  software: 'ISFT',
  genre: 'IGNR',
  date: 'ICRD',
  copyright: 'ICOP',
};

const MAX_RIFF_BYTES = 0xffffffff;

/** Bytes per sample of an encoding. */
export function bytesPerSample(encoding: WavEncoding): number {
  return encoding === 'pcm16' ? 2 : encoding === 'pcm24' ? 3 : 4;
}

function checkEncoding(encoding: unknown): WavEncoding {
  if (encoding !== 'pcm16' && encoding !== 'pcm24' && encoding !== 'float32') {
    throw new RangeError(`encoding must be 'pcm16', 'pcm24' or 'float32', got ${String(encoding)}`);
  }
  return encoding;
}

export function validatePcmAudio(audio: PcmAudio, name = 'audio'): number {
  if (audio === null || typeof audio !== 'object' || !Array.isArray(audio.channels)) {
    throw new TypeError(`${name} must be a PcmAudio { sampleRate, channels }`);
  }
  if (
    !Number.isInteger(audio.sampleRate) ||
    audio.sampleRate < MIN_SAMPLE_RATE ||
    audio.sampleRate > MAX_SAMPLE_RATE
  ) {
    throw new RangeError(`${name}.sampleRate must be an integer in ${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE}`);
  }
  if (audio.channels.length < 1 || audio.channels.length > MAX_CHANNELS) {
    throw new RangeError(`${name}.channels must hold 1..${MAX_CHANNELS} channels`);
  }
  const frames = audio.channels[0]!.length;
  for (const ch of audio.channels) {
    if (!(ch instanceof Float32Array)) throw new TypeError(`${name}.channels must be Float32Arrays`);
    if (ch.length !== frames) throw new RangeError(`${name}.channels must all have the same length`);
  }
  return frames;
}

/** Deterministic uniform noise in [0, 1) (mulberry32), for dither. */
export function makeRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Packs planar float frames into interleaved WAV sample bytes. Stateful so a stream writer keeps one
 * dither sequence across blocks.
 */
export class SamplePacker {
  readonly encoding: WavEncoding;
  readonly channels: number;
  clippedSamples = 0;
  readonly #random: (() => number) | undefined;

  constructor(encoding: WavEncoding, channels: number, dither: boolean, seed: number) {
    this.encoding = checkEncoding(encoding);
    this.channels = channels;
    this.#random = dither && encoding !== 'float32' ? makeRandom(seed) : undefined;
  }

  /** Pack frames [from, to) of `planar` into `out` at byte offset `at`. */
  pack(planar: readonly Float32Array[], from: number, to: number, out: Uint8Array, at: number): void {
    const nch = this.channels;
    const bps = bytesPerSample(this.encoding);
    const dv = new DataView(out.buffer, out.byteOffset + at, (to - from) * nch * bps);
    const rnd = this.#random;
    let clipped = 0;
    if (this.encoding === 'float32') {
      for (let c = 0; c < nch; c++) {
        const ch = planar[c]!;
        for (let i = from, p = c * 4; i < to; i++, p += nch * 4) {
          let v = ch[i]!;
          if (!Number.isFinite(v)) {
            // Float WAV may exceed ±1, but NaN/Inf would break every reader downstream.
            v = Number.isNaN(v) ? 0 : Math.sign(v);
            clipped++;
          }
          dv.setFloat32(p, v, true);
        }
      }
    } else {
      const scale = this.encoding === 'pcm16' ? 32768 : 8388608;
      const max = scale - 1;
      // Interleave frame by frame so the dither sequence does not depend on block boundaries.
      for (let i = from, p = 0; i < to; i++) {
        for (let c = 0; c < nch; c++, p += bps) {
          const x = planar[c]![i]!;
          let q: number;
          if (Number.isNaN(x)) {
            q = 0;
            clipped++;
          } else {
            let v = x * scale;
            if (rnd !== undefined) v += rnd() - rnd();
            q = Math.round(v);
            // Dither alone may push a legal sample one step past full scale: clamp, but do not count it.
            if (q > max) {
              q = max;
              if (x * scale > max) clipped++;
            } else if (q < -scale) {
              q = -scale;
              if (x < -1) clipped++;
            }
          }
          if (bps === 2) dv.setInt16(p, q, true);
          else {
            dv.setUint8(p, q & 0xff);
            dv.setUint8(p + 1, (q >> 8) & 0xff);
            dv.setUint8(p + 2, (q >> 16) & 0xff);
          }
        }
      }
    }
    this.clippedSamples += clipped;
  }
}

function cleanText(value: string, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  // NUL terminates INFO text; drop it rather than truncate silently at read time.
  return value.replaceAll('\0', '');
}

function checkFrame(v: unknown, what: string): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffffffff) {
    throw new RangeError(`${what} must be an integer frame index in 0..2^32-1`);
  }
  return v as number;
}

/** The 24-byte body of an `acid` chunk (layout from the Acidizer format, little-endian). */
export function acidChunkBody(acid: WavAcidInput): Uint8Array {
  if (!Number.isFinite(acid.tempo) || acid.tempo <= 0 || acid.tempo > 1000) {
    throw new RangeError('metadata.acid.tempo must be in (0, 1000] BPM');
  }
  if (!Number.isInteger(acid.beats) || acid.beats < 0 || acid.beats > 0xffffffff) {
    throw new RangeError('metadata.acid.beats must be a non-negative integer');
  }
  const [num, den] = acid.meter ?? [4, 4];
  if (
    !Number.isInteger(num) ||
    !Number.isInteger(den) ||
    num < 1 ||
    den < 1 ||
    num > 0xffff ||
    den > 0xffff
  ) {
    throw new RangeError('metadata.acid.meter must be [numerator, denominator] positive integers');
  }
  const root = acid.rootNote;
  if (root !== undefined && (!Number.isInteger(root) || root < 0 || root > 127)) {
    throw new RangeError('metadata.acid.rootNote must be a MIDI note 0..127');
  }
  let flags = 0;
  if (acid.oneShot) flags |= 0x01;
  if (root !== undefined) flags |= 0x02;
  if (acid.stretch ?? true) flags |= 0x04;
  if (acid.diskBased) flags |= 0x08;
  const body = new Uint8Array(24);
  const dv = new DataView(body.buffer);
  dv.setUint32(0, flags, true);
  dv.setUint16(4, root ?? 60, true);
  dv.setUint16(6, 0x8000, true);
  dv.setFloat32(8, 0, true);
  dv.setUint32(12, acid.beats, true);
  dv.setUint16(16, den, true);
  dv.setUint16(18, num, true);
  dv.setFloat32(20, acid.tempo, true);
  return body;
}

export interface WavLayout {
  /** Everything up to and including the data chunk header (its size field at `dataSizeOffset`). */
  head: Uint8Array;
  /** Metadata chunks that follow the sample data. */
  tail: Uint8Array;
  dataSizeOffset: number;
  /** Offset of the fact chunk's frame count, or -1 without one. */
  factSizeOffset: number;
  blockAlign: number;
}

/**
 * Header and trailing metadata chunks for a WAV with the given format; sizes of RIFF and data are left
 * for `finishWavHeader` to fill in.
 */
export function buildWavLayout(
  sampleRate: number,
  channels: number,
  encoding: WavEncoding,
  metadata: WavMetadataInput = {},
): WavLayout {
  checkEncoding(encoding);
  const wav = new wavefile.WaveFile();
  const code = encoding === 'pcm16' ? '16' : encoding === 'pcm24' ? '24' : '32f';
  const empty = channels === 1 ? [] : Array.from({ length: channels }, () => []);
  wav.fromScratch(channels, sampleRate, code, empty);
  if (encoding === 'float32') {
    // Non-PCM formats carry cbSize and a fact chunk (frame count, patched at finish); sox warns otherwise.
    const fmt = wav.fmt as Record<string, unknown>;
    if (fmt.chunkSize === 16) {
      fmt.chunkSize = 18;
      fmt.cbSize = 0;
    }
    Object.assign(wav.fact as Record<string, unknown>, { chunkId: 'fact', chunkSize: 4, dwSampleLength: 0 });
  }

  const tags: Record<string, string> = {};
  for (const [key, id] of Object.entries(INFO_IDS)) {
    const v = (metadata as Record<string, unknown>)[key];
    if (v !== undefined) tags[id] = cleanText(v as string, `metadata.${key}`);
  }
  for (const [id, v] of Object.entries(metadata.tags ?? {})) {
    if (!/^[\x20-\x7e]{4}$/.test(id))
      throw new RangeError(`metadata.tags key '${id}' must be 4 ASCII characters`);
    tags[id] = cleanText(v, `metadata.tags.${id}`);
  }
  for (const [id, v] of Object.entries(tags)) if (v.length > 0) wav.setTag(id, v);

  const cues = [...(metadata.cuePoints ?? [])].map((c, i) => ({
    frame: checkFrame(c.frame, `metadata.cuePoints[${i}].frame`),
    label: c.label === undefined ? '' : cleanText(c.label, `metadata.cuePoints[${i}].label`),
  }));
  if (cues.length > 0) {
    cues.sort((a, b) => a.frame - b.frame);
    // wavefile takes positions in milliseconds; add in frame order, then set exact frame offsets.
    for (const c of cues) wav.setCuePoint({ position: (c.frame * 1000) / sampleRate, label: c.label });
    const points = (wav.cue as { points: { dwSampleOffset: number; dwPosition: number }[] }).points;
    cues.forEach((c, i) => {
      points[i]!.dwSampleOffset = c.frame;
      points[i]!.dwPosition = c.frame;
    });
  }

  const loops = metadata.loops ?? [];
  if (loops.length > 0 || metadata.midiUnityNote !== undefined) {
    const unity = metadata.midiUnityNote ?? 60;
    if (!Number.isInteger(unity) || unity < 0 || unity > 127) {
      throw new RangeError('metadata.midiUnityNote must be a MIDI note 0..127');
    }
    const smpl = wav.smpl as Record<string, unknown>;
    smpl.chunkId = 'smpl';
    smpl.dwSamplePeriod = Math.round(1e9 / sampleRate);
    smpl.dwMIDIUnityNote = unity;
    smpl.dwNumSampleLoops = loops.length;
    smpl.loops = loops.map((l, i) => {
      const start = checkFrame(l.start, `metadata.loops[${i}].start`);
      const end = checkFrame(l.end, `metadata.loops[${i}].end`);
      if (end <= start) throw new RangeError(`metadata.loops[${i}] must have end > start`);
      const playCount = l.playCount ?? 0;
      if (!Number.isInteger(playCount) || playCount < 0) {
        throw new RangeError(`metadata.loops[${i}].playCount must be a non-negative integer`);
      }
      return {
        dwName: i + 1,
        dwType: 0,
        dwStart: start,
        dwEnd: end - 1,
        dwFraction: 0,
        dwPlayCount: playCount,
      };
    });
  }

  const file = wav.toBuffer();
  // Find the (empty) data chunk in wavefile's output: head = up to its header, tail = the rest.
  let pos = 12;
  let factSizeOffset = -1;
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  while (pos + 8 <= file.length) {
    const id = String.fromCharCode(file[pos]!, file[pos + 1]!, file[pos + 2]!, file[pos + 3]!);
    if (id === 'data') break;
    if (id === 'fact') factSizeOffset = pos + 8;
    const size = dv.getUint32(pos + 4, true);
    pos += 8 + size + (size & 1);
  }
  if (pos + 8 > file.length) throw new Error('wavefile produced no data chunk');
  const head = file.slice(0, pos + 8);
  let tail = file.slice(pos + 8);
  if (metadata.acid !== undefined) {
    const body = acidChunkBody(metadata.acid);
    const t = new Uint8Array(tail.length + 8 + body.length);
    t.set(tail, 0);
    t.set([0x61, 0x63, 0x69, 0x64, body.length, 0, 0, 0], tail.length);
    t.set(body, tail.length + 8);
    tail = t;
  }
  return {
    head,
    tail,
    dataSizeOffset: pos + 4,
    factSizeOffset,
    blockAlign: channels * bytesPerSample(encoding),
  };
}

/** Total file size for a given number of sample bytes (data padded to even length). */
export function wavFileSize(layout: WavLayout, dataBytes: number): number {
  return layout.head.length + dataBytes + (dataBytes & 1) + layout.tail.length;
}

/** Write the RIFF and data sizes into a copy of the layout's head. */
export function finishWavHeader(layout: WavLayout, dataBytes: number): Uint8Array {
  const total = wavFileSize(layout, dataBytes);
  if (total - 8 > MAX_RIFF_BYTES) throw new RangeError('WAV output would exceed 4 GiB');
  const head = layout.head.slice();
  const dv = new DataView(head.buffer);
  dv.setUint32(4, total - 8, true);
  dv.setUint32(layout.dataSizeOffset, dataBytes, true);
  if (layout.factSizeOffset >= 0) dv.setUint32(layout.factSizeOffset, dataBytes / layout.blockAlign, true);
  return head;
}

function encode(
  audio: PcmAudio,
  opts: WavEncodeOptions,
): { bytes: Uint8Array; frames: number; clipped: number } {
  const frames = validatePcmAudio(audio);
  const encoding = checkEncoding(opts.encoding ?? 'pcm16');
  const nch = audio.channels.length;
  const layout = buildWavLayout(audio.sampleRate, nch, encoding, opts.metadata);
  const dataBytes = frames * nch * bytesPerSample(encoding);
  const head = finishWavHeader(layout, dataBytes);
  const out = new Uint8Array(wavFileSize(layout, dataBytes));
  out.set(head, 0);
  const packer = new SamplePacker(encoding, nch, opts.dither ?? encoding === 'pcm16', opts.ditherSeed ?? 1);
  packer.pack(audio.channels, 0, frames, out, head.length);
  out.set(layout.tail, head.length + dataBytes + (dataBytes & 1));
  return { bytes: out, frames, clipped: packer.clippedSamples };
}

/** Encode audio as a complete WAV file in memory. */
export function encodeWav(audio: PcmAudio, opts: WavEncodeOptions = {}): Uint8Array {
  return encode(audio, opts).bytes;
}

function outputError(path: string, what: string, err: unknown): SonodiffError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    code === 'ENOENT'
      ? 'the folder does not exist'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'ENOSPC'
          ? 'no space left on the device'
          : code === 'EISDIR'
            ? 'is a directory'
            : code === 'EROFS'
              ? 'read-only file system'
              : ((err as Error)?.message ?? String(err));
  return new SonodiffError('ERR_OUTPUT', `${what}: ${reason}`, { path, cause: err });
}

/** Refuse early when the target exists (without force) or is a directory. */
export async function checkOutputTarget(path: string, force: boolean): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
  let st: Awaited<ReturnType<typeof fsp.stat>> | undefined;
  try {
    st = await fsp.stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw outputError(path, 'cannot write output', err);
  }
  if (st?.isDirectory())
    throw new SonodiffError('ERR_OUTPUT', 'cannot write output: is a directory', { path });
  if (st !== undefined && !force) {
    throw new SonodiffError('ERR_OUTPUT', 'output exists (use force / --force to overwrite)', { path });
  }
  let dir: Awaited<ReturnType<typeof fsp.stat>>;
  try {
    dir = await fsp.stat(dirname(path));
  } catch (err) {
    throw outputError(path, 'cannot write output', err);
  }
  if (!dir.isDirectory())
    throw new SonodiffError('ERR_OUTPUT', 'cannot write output: parent is not a folder', { path });
}

/** A fresh temporary name next to `path`, so the final rename stays on one file system. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Move a finished temporary file onto `path`. Without `force` the move is done with link+unlink, which
 * fails atomically if `path` appeared meanwhile.
 */
export async function commitTempFile(tmp: string, path: string, force: boolean): Promise<void> {
  try {
    if (force) {
      await fsp.rename(tmp, path);
      return;
    }
    try {
      await fsp.link(tmp, path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST')
        throw new SonodiffError('ERR_OUTPUT', 'output exists (use force / --force to overwrite)', { path });
      // File systems without hard links: check, then rename (a small race, but never a partial file).
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'EOPNOTSUPP') throw err;
      const exists = await fsp.stat(path).then(
        () => true,
        () => false,
      );
      if (exists)
        throw new SonodiffError('ERR_OUTPUT', 'output exists (use force / --force to overwrite)', { path });
      await fsp.rename(tmp, path);
      return;
    }
    await fsp.unlink(tmp);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    if (err instanceof SonodiffError) throw err;
    throw outputError(path, 'cannot write output', err);
  }
}

/**
 * Encode and write a WAV file: temp file in the same folder, then rename. Refuses to overwrite unless
 * `force`. Failures throw `SonodiffError('ERR_OUTPUT')` and leave no file behind.
 */
export async function writeWavFile(
  path: string,
  audio: PcmAudio,
  opts: WavWriteOptions = {},
): Promise<WavWriteResult> {
  const force = opts.force ?? false;
  await checkOutputTarget(path, force);
  let encoded: ReturnType<typeof encode>;
  try {
    encoded = encode(audio, opts);
  } catch (err) {
    if (err instanceof RangeError && err.message.includes('4 GiB')) {
      throw new SonodiffError('ERR_OUTPUT', 'output would exceed the 4 GiB WAV limit', { path, cause: err });
    }
    throw err;
  }
  const tmp = tempPathFor(path);
  try {
    await fsp.writeFile(tmp, encoded.bytes, { flag: 'wx' });
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw outputError(path, 'cannot write output', err);
  }
  await commitTempFile(tmp, path, force);
  return { path, bytes: encoded.bytes.length, frames: encoded.frames, clippedSamples: encoded.clipped };
}
