/** Test helpers: decode real files with ffmpeg, and an optional python3 + torch reference. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const trainDir = path.resolve(import.meta.dirname, '../../../shared/data/train');

/** Decodes any file ffmpeg reads to mono float32 at `sampleRate` (default: keep the file's). */
export function decodeMono(file: string, sampleRate?: number, seconds?: number): Float32Array {
  const args = ['-v', 'error', '-i', file, '-ac', '1'];
  if (sampleRate !== undefined) args.push('-ar', String(sampleRate));
  if (seconds !== undefined) args.push('-t', String(seconds));
  args.push('-f', 'f32le', '-');
  const r = spawnSync('ffmpeg', args, { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`ffmpeg failed on ${file}: ${r.stderr?.toString()}`);
  const b = r.stdout;
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export const speechFile = path.join(trainDir, 'librispeech-train-clean-100/103-1240-0000.flac');

let python: string | null | undefined;
/** The first of python3 on PATH and /usr/bin/python3 (Debian's, with torch) that imports torch and numpy. */
function torchPython(): string | null {
  if (python === undefined) {
    python = null;
    for (const exe of ['python3', '/usr/bin/python3']) {
      const r = spawnSync(exe, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
      if (r.status === 0) {
        python = exe;
        break;
      }
    }
    if (python === null)
      console.warn('no python3 with torch and numpy: skipping the torch reference comparisons');
  }
  return python;
}

export function hasTorch(): boolean {
  return torchPython() !== null;
}

/**
 * Runs a python script with `inputs` written as float32 files in a temp dir (paths passed as argv),
 * and returns the float32 array it writes to the path in argv[1].
 */
export function runPythonF32(script: string, inputs: Float32Array[]): Float32Array {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-spec-'));
  try {
    const out = path.join(dir, 'out.f32');
    const ins = inputs.map((a, i) => {
      const p = path.join(dir, `in${i}.f32`);
      writeFileSync(p, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      return p;
    });
    const exe = torchPython();
    if (exe === null) throw new Error('python3 with torch is not available');
    const r = spawnSync(exe, ['-c', script, out, ...ins], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
    const b = readFileSync(out);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** ‖a − b‖ / ‖b‖ over the first min(len) samples. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}
