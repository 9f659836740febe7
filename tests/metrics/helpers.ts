import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const sharedDir = path.resolve(import.meta.dirname, '../../../shared');

/** Minimal reader for the golden 16-bit PCM mono WAVs: walks chunks to `data`, int16 / 32768. */
export function readPcm16Wav(file: string): { sampleRate: number; samples: Float32Array } {
  const b = readFileSync(file);
  let sampleRate = 0;
  let o = 12;
  while (o + 8 <= b.length) {
    const id = b.toString('ascii', o, o + 4);
    const size = b.readUInt32LE(o + 4);
    if (id === 'fmt ') {
      if (b.readUInt16LE(o + 8) !== 1 || b.readUInt16LE(o + 10) !== 1 || b.readUInt16LE(o + 22) !== 16)
        throw new Error(`${file}: expected mono 16-bit PCM`);
      sampleRate = b.readUInt32LE(o + 12);
    } else if (id === 'data') {
      const n = Math.floor(Math.min(size, b.length - o - 8) / 2);
      const samples = new Float32Array(n);
      for (let i = 0; i < n; i++) samples[i] = b.readInt16LE(o + 8 + 2 * i) / 32768;
      return { sampleRate, samples };
    }
    o += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

/** Decodes any file to mono float32 at `rate` with ffmpeg (an independent decoder). */
export function decodeMono(file: string, rate: number): Float32Array {
  const raw = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', file, '-f', 'f32le', '-ac', '1', '-ar', String(rate), '-'],
    { maxBuffer: 1 << 28 },
  );
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

/** Uniform values in [−0.5, 0.5) from a 32-bit LCG (Numerical Recipes constants): reproducible anywhere. */
export function lcg(seed: number, n: number): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}
