/**
 * `sonodiff denoise` on a long WAV streams: peak RSS of the real binary stays flat as the input grows
 * (and far under 1 GiB), and the output has exactly the input's length and alignment.
 *
 * Peak RSS comes from `process.resourceUsage().maxRSS` of the process that runs the binary: a tiny
 * wrapper (run-with-max-rss.mjs) imports dist/cli/main.js and prints it at exit; no /usr/bin/time needed.
 *
 * Budget: the tiny fixture model runs at ~20× real time on a loaded 2-core machine, so the 20-minute
 * file goes through with --strength 0 (the same reader, resampling/windowing pipeline and writer, no
 * model calls); a 30-second file checks the path with model calls.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'dist/cli/main.js');
const packs = path.join(root, 'tests/fixtures/packs');
const wrapper = path.join(import.meta.dirname, 'run-with-max-rss.mjs');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-denoise-mem-'));
const f = (name: string): string => path.join(tmp, name);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const LONG_MINUTES = 20;
const RATE = 8000;

function soxSynth(out: string, seconds: number): void {
  // A tone in white noise at 8 kHz, mono 16-bit.
  execFileSync('sox', [
    '-r',
    String(RATE),
    '-n',
    '-r',
    String(RATE),
    '-c',
    '1',
    '-b',
    '16',
    out,
    'synth',
    String(seconds),
    'sine',
    '440',
    'synth',
    'whitenoise',
    'mix',
    'vol',
    '0.5',
  ]);
}

/** Frame count as sox sees it (an independent reader). */
function soxFrames(file: string): number {
  return Number(execFileSync('soxi', ['-s', file]).toString().trim());
}

/** Samples of [start, start + seconds) as float32, decoded by sox. */
function soxSlice(file: string, start: number, seconds: number): Float32Array {
  const raw = execFileSync('sox', ['-D', file, '-t', 'f32', '-', 'trim', String(start), String(seconds)]);
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

interface Run {
  code: number | null;
  stderr: string;
  maxRssMiB: number;
  seconds: number;
}

function denoise(args: string[]): Run {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [wrapper, bin, 'denoise', ...args, '-m', 'tiny-stft-denoise'], {
    cwd: tmp,
    env: { ...process.env, SONODIFF_MODELS: packs, NO_COLOR: '1' },
    timeout: 120_000,
  });
  const stderr = r.stderr.toString();
  const m = /MAXRSS_KB (\d+)/.exec(stderr);
  expect(m, stderr).not.toBeNull();
  return {
    code: r.status,
    stderr,
    maxRssMiB: Number(m![1]) / 1024,
    seconds: (performance.now() - t0) / 1000,
  };
}

describe.skipIf(!existsSync(bin))('denoise of a long WAV streams with bounded memory', () => {
  beforeAll(() => {
    soxSynth(f('long.wav'), LONG_MINUTES * 60);
    soxSynth(f('short.wav'), 60);
    soxSynth(f('model.wav'), 30);
  }, 60_000);

  it(`${LONG_MINUTES} minutes use no more memory than 1 minute; the output keeps length and alignment`, () => {
    const short = denoise([f('short.wav'), '-o', f('short.out.wav'), '--strength', '0']);
    expect(short.code, short.stderr).toBe(0);
    const long = denoise([f('long.wav'), '-o', f('long.out.wav'), '--strength', '0']);
    expect(long.code, long.stderr).toBe(0);
    expect(long.maxRssMiB).toBeLessThan(1024);
    // Reading the input whole would add its bytes (19 MB) and float32 samples (38 MB) at least; the
    // previous whole-file version measured +71 MiB here.
    expect(long.maxRssMiB - short.maxRssMiB).toBeLessThan(40);
    const frames = LONG_MINUTES * 60 * RATE;
    expect(soxFrames(f('long.wav'))).toBe(frames);
    expect(soxFrames(f('long.out.wav'))).toBe(frames);
    // Dry output = the input requantised with ±1 LSB dither, sample-aligned to the very end.
    for (const start of [0, LONG_MINUTES * 60 - 1]) {
      const a = soxSlice(f('long.wav'), start, 1);
      const b = soxSlice(f('long.out.wav'), start, 1);
      expect(b.length).toBe(RATE);
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      expect(maxDiff * 32768).toBeLessThan(2.5);
    }
    console.info(
      `denoise --strength 0: 1 min ${short.maxRssMiB.toFixed(0)} MiB, ${LONG_MINUTES} min ` +
        `${long.maxRssMiB.toFixed(0)} MiB peak RSS (${long.seconds.toFixed(1)} s)`,
    );
  }, 90_000);

  it('-o - streams the same bytes as a file output, from a file or from stdin', () => {
    const common = ['-m', 'tiny-stft-denoise', '--strength', '0'];
    const env = { ...process.env, SONODIFF_MODELS: packs, NO_COLOR: '1' };
    // The first test wrote short.out.wav with these flags.
    const fileBytes = readFileSync(f('short.out.wav'));
    const toStdout = spawnSync(process.execPath, [bin, 'denoise', f('short.wav'), '-o', '-', ...common], {
      env,
      maxBuffer: 1 << 26,
    });
    expect(toStdout.status, toStdout.stderr.toString()).toBe(0);
    expect(Buffer.compare(toStdout.stdout, fileBytes)).toBe(0);
    // From stdin only the INFO comment differs (input "-"), so compare everything before it.
    const input = readFileSync(f('short.wav'));
    const piped = spawnSync(process.execPath, [bin, 'denoise', '-', '-o', '-', ...common], {
      env,
      input,
      maxBuffer: 1 << 26,
    });
    expect(piped.status, piped.stderr.toString()).toBe(0);
    const dataEnd = 44 + 60 * RATE * 2;
    expect(fileBytes.length).toBeGreaterThan(dataEnd);
    expect(Buffer.compare(piped.stdout.subarray(8, dataEnd), fileBytes.subarray(8, dataEnd))).toBe(0);
  }, 60_000);

  it('with model calls: bounded memory, same length, exit 0', () => {
    const r = denoise([f('model.wav'), '-o', f('model.out.wav'), '--steps', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.maxRssMiB).toBeLessThan(1024);
    expect(soxFrames(f('model.out.wav'))).toBe(30 * RATE);
    // The model changed the audio (it is not the dry path).
    const a = soxSlice(f('model.wav'), 10, 1);
    const b = soxSlice(f('model.out.wav'), 10, 1);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i]! - b[i]!);
    expect(diff / a.length).toBeGreaterThan(1e-3);
  }, 90_000);
});
