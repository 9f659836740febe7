/** Shared helpers for the audio I/O tests: data paths, sox/ffmpeg peers, an independent RIFF walker. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const trainDir = resolve(repoRoot, '../shared/data/train');
export const dishesWav = join(trainDir, 'noise/speech-commands/doing_the_dishes.wav');
export const amenFlac = join(trainDir, 'music/sonic-pi-samples/loop_amen.flac');
export const speechFlac = join(trainDir, 'librispeech-train-clean-100/103-1240-0000.flac');
export const trainOgg = join(trainDir, 'noise/blanket/train.ogg');

export function makeTempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `sonodiff-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function run(cmd: string, args: string[]): Buffer {
  return execFileSync(cmd, args, { maxBuffer: 1 << 29, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** sox with dither off, so references are exact. */
export function sox(...args: string[]): void {
  run('sox', ['-D', ...args]);
}

export function ffmpeg(...args: string[]): void {
  run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

/** Interleaved float32 samples as decoded by sox (reference peer). */
export function soxF32(path: string): Float32Array {
  const raw = run('sox', ['-D', path, '-t', 'f32', '-']);
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

/** Interleaved float32 samples as decoded by ffmpeg (reference peer). */
export function ffmpegF32(path: string): Float32Array {
  const raw = run('ffmpeg', ['-v', 'error', '-i', path, '-f', 'f32le', '-acodec', 'pcm_f32le', '-']);
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

export function ffprobeJson(path: string): {
  streams: Record<string, string | number>[];
  format: { tags?: Record<string, string> } & Record<string, unknown>;
} {
  const out = run('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', path]);
  return JSON.parse(out.toString());
}

/** Largest |a[c][i] - ref[i*nch + c]| over all samples. */
export function maxDiffInterleaved(planar: Float32Array[], ref: Float32Array): number {
  const nch = planar.length;
  let m = 0;
  for (let c = 0; c < nch; c++) {
    const ch = planar[c]!;
    for (let i = 0; i < ch.length; i++) m = Math.max(m, Math.abs(ch[i]! - ref[i * nch + c]!));
  }
  return m;
}

/** SNR in dB of planar samples against an interleaved reference. */
export function snrInterleaved(planar: Float32Array[], ref: Float32Array): number {
  const nch = planar.length;
  let s = 0;
  let e = 0;
  for (let c = 0; c < nch; c++) {
    const ch = planar[c]!;
    for (let i = 0; i < ch.length; i++) {
      const r = ref[i * nch + c]!;
      s += r * r;
      e += (ch[i]! - r) ** 2;
    }
  }
  return 10 * Math.log10(s / e);
}

export interface WalkedChunk {
  id: string;
  offset: number;
  size: number;
  body: Uint8Array;
}

/** A deliberately simple, independent RIFF walker (no recovery, little-endian). */
export function walkChunks(bytes: Uint8Array): { riffSize: number; chunks: WalkedChunk[] } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: WalkedChunk[] = [];
  let p = 12;
  while (p + 8 <= bytes.length) {
    const id = new TextDecoder('latin1').decode(bytes.subarray(p, p + 4));
    const size = dv.getUint32(p + 4, true);
    chunks.push({ id, offset: p, size, body: bytes.subarray(p + 8, p + 8 + size) });
    p += 8 + size + (size % 2);
  }
  return { riffSize: dv.getUint32(4, true), chunks };
}

/** Build a RIFF chunk (header, body, pad byte). */
export function chunk(id: string, body: Uint8Array | number[]): Uint8Array {
  const b = body instanceof Uint8Array ? body : Uint8Array.from(body);
  const out = new Uint8Array(8 + b.length + (b.length & 1));
  out.set(new TextEncoder().encode(id), 0);
  new DataView(out.buffer).setUint32(4, b.length, true);
  out.set(b, 8);
  return out;
}

/** Assemble RIFF/WAVE from chunks (RIFF size set from the total). */
export function riff(chunks: Uint8Array[], form = 'WAVE'): Uint8Array {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(12 + total);
  out.set(new TextEncoder().encode('RIFF'), 0);
  new DataView(out.buffer).setUint32(4, total + 4, true);
  out.set(new TextEncoder().encode(form), 8);
  let o = 12;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** A PCM fmt chunk body. */
export function fmtBody(opts: {
  tag?: number;
  channels?: number;
  rate?: number;
  bits?: number;
  blockAlign?: number;
}): Uint8Array {
  const tag = opts.tag ?? 1;
  const ch = opts.channels ?? 1;
  const rate = opts.rate ?? 16000;
  const bits = opts.bits ?? 16;
  const ba = opts.blockAlign ?? ch * Math.ceil(bits / 8);
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, tag, true);
  dv.setUint16(2, ch, true);
  dv.setUint32(4, rate, true);
  dv.setUint32(8, rate * ba, true);
  dv.setUint16(12, ba, true);
  dv.setUint16(14, bits, true);
  return b;
}

/** Int16 little-endian bytes of a ramp, for hand-built files. */
export function pcm16Ramp(n: number): Uint8Array {
  const b = new Uint8Array(2 * n);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < n; i++) dv.setInt16(2 * i, ((i * 37) % 65536) - 32768, true);
  return b;
}
