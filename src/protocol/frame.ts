/**
 * Binary audio frames: a 40-byte little-endian header followed by float32 samples, planar
 * (all of channel 0, then all of channel 1, …). Layout (docs/protocol.md, "Binary frames"):
 *
 *   0 u32 magic "SDAF"    4 u8 version    5 u8 kind    6 u8 channels    7 u8 header words (10)
 *   8 u32 flags          12 u32 job      16 u32 seq   20 u32 sample rate
 *  24 u32 frame count    28 u64 start frame           36 u32 reserved (0)
 *
 * Decoding validates every field and the exact length: frames come from the network.
 */
import {
  FLAG_LAST,
  FLAG_REPLAY,
  FRAME_HEADER_BYTES,
  FRAME_KIND_IN,
  FRAME_KIND_OUT,
  FRAME_MAGIC,
  FRAME_VERSION,
  KNOWN_FLAGS,
  MAX_FRAME_CHANNELS,
  MAX_JOB_ID,
  MAX_RATE,
  MAX_SEQ,
  MIN_RATE,
} from './constants.ts';
import { ProtocolError } from './errors.ts';

export type FrameKind = 'out' | 'in';

export interface AudioFrame {
  /** `out`: audio a job produced (server → client); `in`: audio for a denoise job (client → server). */
  kind: FrameKind;
  job: number;
  /** Per job and direction, from 0, +1 per frame. */
  seq: number;
  sampleRate: number;
  /** Frame index of the first sample within the job's stream (per direction). */
  startFrame: number;
  /** The job's final frame in this direction. */
  last: boolean;
  /** Re-sent from the replay buffer after a resume. */
  replay: boolean;
  /** Planar samples, all channels the same length (may be 0 only on a last frame). */
  channels: Float32Array[];
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function checkUint(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Encodes a frame; throws TypeError/RangeError naming the bad argument field. */
export function encodeFrame(frame: AudioFrame, maxFrames = Number.MAX_SAFE_INTEGER): Uint8Array {
  if (typeof frame !== 'object' || frame === null) throw new TypeError('frame must be an object');
  if (frame.kind !== 'out' && frame.kind !== 'in') throw new RangeError(`frame.kind must be 'out' or 'in'`);
  checkUint(frame.job, 'frame.job', 1, MAX_JOB_ID);
  checkUint(frame.seq, 'frame.seq', 0, MAX_SEQ);
  checkUint(frame.sampleRate, 'frame.sampleRate', MIN_RATE, MAX_RATE);
  checkUint(frame.startFrame, 'frame.startFrame', 0, Number.MAX_SAFE_INTEGER);
  if (
    !Array.isArray(frame.channels) ||
    frame.channels.length < 1 ||
    frame.channels.length > MAX_FRAME_CHANNELS
  ) {
    throw new RangeError(`frame.channels must hold 1 to ${MAX_FRAME_CHANNELS} Float32Arrays`);
  }
  const n = frame.channels[0]!.length;
  for (const [i, ch] of frame.channels.entries()) {
    if (!(ch instanceof Float32Array)) throw new TypeError(`frame.channels[${i}] must be a Float32Array`);
    if (ch.length !== n) throw new RangeError(`frame.channels[${i}] has ${ch.length} frames, channel 0 ${n}`);
  }
  if (n > Math.min(maxFrames, 0xffff_ffff)) throw new RangeError(`frame has ${n} frames, limit ${maxFrames}`);
  if (n === 0 && !frame.last) throw new RangeError('frame.channels may be empty only on a last frame');
  const bytes = new Uint8Array(FRAME_HEADER_BYTES + frame.channels.length * n * 4);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, FRAME_MAGIC, true);
  dv.setUint8(4, FRAME_VERSION);
  dv.setUint8(5, frame.kind === 'out' ? FRAME_KIND_OUT : FRAME_KIND_IN);
  dv.setUint8(6, frame.channels.length);
  dv.setUint8(7, FRAME_HEADER_BYTES / 4);
  dv.setUint32(8, (frame.last ? FLAG_LAST : 0) | (frame.replay ? FLAG_REPLAY : 0), true);
  dv.setUint32(12, frame.job, true);
  dv.setUint32(16, frame.seq, true);
  dv.setUint32(20, frame.sampleRate, true);
  dv.setUint32(24, n, true);
  dv.setUint32(28, frame.startFrame % 0x1_0000_0000, true);
  dv.setUint32(32, Math.floor(frame.startFrame / 0x1_0000_0000), true);
  dv.setUint32(36, 0, true);
  let off = FRAME_HEADER_BYTES;
  for (const ch of frame.channels) {
    if (littleEndianHost) bytes.set(new Uint8Array(ch.buffer, ch.byteOffset, n * 4), off);
    else for (let i = 0; i < n; i++) dv.setFloat32(off + i * 4, ch[i]!, true);
    off += n * 4;
  }
  return bytes;
}

function bad(field: string, message: string): never {
  throw new ProtocolError('BAD_FRAME', `binary frame ${field}: ${message}`, {
    issues: [{ field, message }],
  });
}

export interface DecodeFrameOptions {
  /** Reject frames longer than this many frames per channel. */
  maxFrames?: number;
  /** Accept NaN and ±Infinity samples (default false: they would poison a model). */
  allowNonFinite?: boolean;
}

/** Decodes and validates a binary frame; throws ProtocolError('BAD_FRAME') naming the bad field. */
export function decodeFrame(
  data: ArrayBuffer | ArrayBufferView,
  options: DecodeFrameOptions = {},
): AudioFrame {
  let bytes: Uint8Array;
  if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else throw new TypeError('data must be an ArrayBuffer or a byte view');
  if (bytes.length < FRAME_HEADER_BYTES) bad('length', `${bytes.length} bytes, shorter than the header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== FRAME_MAGIC) bad('magic', 'not "SDAF"');
  const version = dv.getUint8(4);
  if (version !== FRAME_VERSION) bad('version', `unsupported version ${version}`);
  const kindByte = dv.getUint8(5);
  if (kindByte !== FRAME_KIND_OUT && kindByte !== FRAME_KIND_IN) bad('kind', `unknown kind ${kindByte}`);
  const channels = dv.getUint8(6);
  if (channels < 1 || channels > MAX_FRAME_CHANNELS)
    bad('channels', `${channels} is not 1 to ${MAX_FRAME_CHANNELS}`);
  const headerWords = dv.getUint8(7);
  if (headerWords !== FRAME_HEADER_BYTES / 4) bad('headerWords', `${headerWords}, v1 requires 10`);
  const flags = dv.getUint32(8, true);
  if ((flags & ~KNOWN_FLAGS) !== 0) bad('flags', `unknown bits 0x${(flags & ~KNOWN_FLAGS).toString(16)}`);
  const job = dv.getUint32(12, true);
  if (job === 0) bad('job', 'job id 0 is reserved');
  const seq = dv.getUint32(16, true);
  const sampleRate = dv.getUint32(20, true);
  if (sampleRate < MIN_RATE || sampleRate > MAX_RATE)
    bad('sampleRate', `${sampleRate} is not ${MIN_RATE} to ${MAX_RATE}`);
  const frameCount = dv.getUint32(24, true);
  const last = (flags & FLAG_LAST) !== 0;
  if (frameCount === 0 && !last) bad('frameCount', '0 is allowed only on a last frame');
  if (options.maxFrames !== undefined && frameCount > options.maxFrames)
    bad('frameCount', `${frameCount} exceeds the limit ${options.maxFrames}`);
  const lo = dv.getUint32(28, true);
  const hi = dv.getUint32(32, true);
  if (hi > 0x1f_ffff) bad('startFrame', 'larger than 2^53 - 1');
  const startFrame = hi * 0x1_0000_0000 + lo;
  if (dv.getUint32(36, true) !== 0) bad('reserved', 'must be 0');
  const expected = FRAME_HEADER_BYTES + channels * frameCount * 4;
  if (bytes.length !== expected)
    bad('length', `${bytes.length} bytes, header says ${expected} (${channels} × ${frameCount} float32)`);
  const out: Float32Array[] = [];
  for (let c = 0; c < channels; c++) {
    const off = FRAME_HEADER_BYTES + c * frameCount * 4;
    let ch: Float32Array;
    if (littleEndianHost) {
      // Copy so the samples are aligned and do not pin the network buffer.
      ch = new Float32Array(bytes.slice(off, off + frameCount * 4).buffer);
    } else {
      ch = new Float32Array(frameCount);
      for (let i = 0; i < frameCount; i++) ch[i] = dv.getFloat32(off + i * 4, true);
    }
    if (!options.allowNonFinite) {
      for (let i = 0; i < frameCount; i++) {
        if (!Number.isFinite(ch[i]!)) bad('samples', `channel ${c} sample ${i} is not finite`);
      }
    }
    out.push(ch);
  }
  return {
    kind: kindByte === FRAME_KIND_OUT ? 'out' : 'in',
    job,
    seq,
    sampleRate,
    startFrame,
    last,
    replay: (flags & FLAG_REPLAY) !== 0,
    channels: out,
  };
}

/** Reads the job id and sequence of an encoded frame without decoding it (the header must be valid). */
export function peekFrameHeader(bytes: Uint8Array): { job: number; seq: number; frameCount: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { job: dv.getUint32(12, true), seq: dv.getUint32(16, true), frameCount: dv.getUint32(24, true) };
}

/** Sets or clears the replay flag of an encoded frame in a copy. */
export function withReplayFlag(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  const dv = new DataView(copy.buffer);
  dv.setUint32(8, dv.getUint32(8, true) | FLAG_REPLAY, true);
  return copy;
}
