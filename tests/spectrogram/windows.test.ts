import { describe, expect, it } from 'vitest';
import {
  blackman,
  checkCola,
  hamming,
  hann,
  kaiser,
  makeWindow,
  rectangular,
} from '../../src/spectrogram/index.ts';
import { besselI0 } from '../../src/spectrogram/windows.ts';
import { hasTorch, runPythonF32 } from './helpers.ts';

function close(a: ArrayLike<number>, b: readonly number[], tol = 1e-12): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(tol);
}

describe('windows', () => {
  it('hann: periodic is the first N of an (N+1)-point symmetric window', () => {
    close(hann(4), [0, 0.5, 1, 0.5]);
    close(hann(5, false), [0, 0.5, 1, 0.5, 0]);
    close(hann(8), Array.from(hann(9, false)).slice(0, 8));
    close(hann(1), [1]);
  });

  it('hamming, blackman and rectangular take their textbook values', () => {
    // Hamming: 0.54 − 0.46 cos → 0.08 at the ends, 1 in the middle.
    close(hamming(5, false), [0.08, 0.54, 1, 0.54, 0.08]);
    // Blackman: 0.42 − 0.5 cos + 0.08 cos(2·) → 0, 0.34, 1 at quarter points.
    close(blackman(5, false), [0, 0.34, 1, 0.34, 0]);
    close(blackman(4), [0, 0.34, 1, 0.34]);
    close(rectangular(3), [1, 1, 1]);
  });

  it('kaiser: I0 series, β = 0 is rectangular, ends are 1/I0(β)', () => {
    // I0(1) = 1.2660658777520082 (Abramowitz & Stegun table 9.8), I0(0) = 1.
    expect(besselI0(0)).toBe(1);
    expect(Math.abs(besselI0(1) - 1.2660658777520082)).toBeLessThan(1e-15);
    close(kaiser(6, 0), [1, 1, 1, 1, 1, 1]);
    const k = kaiser(7, 8.6, false);
    expect(k[3]).toBeCloseTo(1, 14);
    expect(Math.abs(k[0]! - 1 / besselI0(8.6))).toBeLessThan(1e-15);
    expect(Math.abs(k[0]! - k[6]!)).toBeLessThan(1e-15);
  });

  it('makeWindow accepts names, objects and explicit samples and validates', () => {
    close(makeWindow({ type: 'hann', periodic: false }, 5), [0, 0.5, 1, 0.5, 0]);
    close(makeWindow('hann', 4), [0, 0.5, 1, 0.5]);
    close(makeWindow(Float32Array.of(0.25, 0.5), 2), [0.25, 0.5]);
    expect(() => makeWindow(Float32Array.of(1, 2), 3)).toThrow(RangeError);
    expect(() => hann(0)).toThrow(/length/);
    expect(() => kaiser(8, -1)).toThrow(/beta/);
    // @ts-expect-error: an unknown name is rejected at run time too
    expect(() => makeWindow('triangle', 8)).toThrow(/window/);
  });

  it('checkCola: sums are N/(2·hop) for Hann, 3N/(8·hop) for Hann², and symmetric Hann is not COLA', () => {
    const n = 1024;
    const c = checkCola(hann(n), 256);
    expect(c.cola).toBe(true);
    expect(c.value).toBeCloseTo(2, 12);
    const c2 = checkCola(hann(n), 256, { power: 2 });
    expect(c2.cola).toBe(true);
    expect(c2.value).toBeCloseTo(1.5, 12);
    // Hann² is not COLA at hop N/2 (its sum ripples), but it never vanishes there (NOLA).
    const c3 = checkCola(hann(n), 512, { power: 2 });
    expect(c3.cola).toBe(false);
    expect(c3.minimum).toBeGreaterThan(0.49);
    const sym = checkCola(hann(n, false), 256);
    expect(sym.cola).toBe(false);
    expect(sym.deviation).toBeGreaterThan(1e-4);
    expect(checkCola(hamming(n), 512).value).toBeCloseTo(1.08, 12);
    expect(checkCola(blackman(1023), 341).cola).toBe(true);
    expect(checkCola(rectangular(100), 100).value).toBe(1);
    expect(() => checkCola(hann(8), 9)).toThrow(/hop/);
  });

  it.runIf(hasTorch())('matches torch.*_window (python reference)', () => {
    const ours = [
      hann(400),
      hann(401, false),
      hamming(512),
      blackman(300),
      kaiser(256, 12),
      kaiser(255, 5, false),
    ];
    const ref = runPythonF32(
      `import sys, torch, numpy as np
ws = [torch.hann_window(400, dtype=torch.float64), torch.hann_window(401, periodic=False, dtype=torch.float64),
      torch.hamming_window(512, dtype=torch.float64), torch.blackman_window(300, dtype=torch.float64),
      torch.kaiser_window(256, True, 12.0, dtype=torch.float64),
      torch.kaiser_window(255, False, 5.0, dtype=torch.float64)]
np.concatenate([w.numpy() for w in ws]).astype(np.float32).tofile(sys.argv[1])`,
      [],
    );
    let off = 0;
    let maxErr = 0;
    for (const w of ours) {
      for (let i = 0; i < w.length; i++) maxErr = Math.max(maxErr, Math.abs(w[i]! - ref[off + i]!));
      off += w.length;
    }
    expect(off).toBe(ref.length);
    expect(maxErr).toBeLessThan(1e-6);
  });
});
