import { describe, expect, it } from 'vitest';
import { sdr, siSdr } from '../../src/metrics/index.ts';
import { lcg } from './helpers.ts';

const n = 16000;

/** A zero-mean chirp-like signal and noise made exactly orthogonal to it and zero-mean. */
function signalAndOrthogonalNoise(): { x: Float64Array; noise: Float64Array } {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.5 * Math.sin(0.01 * i + 1e-6 * i * i);
  const noise = lcg(3, n);
  const center = (v: Float64Array): void => {
    let m = 0;
    for (const e of v) m += e;
    m /= v.length;
    for (let i = 0; i < v.length; i++) v[i] = v[i]! - m;
  };
  center(x);
  center(noise);
  let xn = 0;
  let xx = 0;
  for (let i = 0; i < n; i++) {
    xn += x[i]! * noise[i]!;
    xx += x[i]! * x[i]!;
  }
  for (let i = 0; i < n; i++) noise[i] = noise[i]! - (xn / xx) * x[i]!;
  return { x, noise };
}

const energy = (v: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return s;
};

describe('siSdr', () => {
  const { x, noise } = signalAndOrthogonalNoise();
  const ref = Float32Array.from(x);

  it('equals 10·log10(‖x‖² / ‖c·n‖²) for noise orthogonal to x, at any estimate gain and offset', () => {
    for (const c of [0.01, 0.3, 2]) {
      const analytic = 10 * Math.log10(energy(x) / (c * c * energy(noise)));
      for (const [gain, offset] of [
        [1, 0],
        [0.2, 0],
        [-3, 0.1],
      ] as const) {
        const est = Float32Array.from(x, (v, i) => gain * (v + c * noise[i]!) + offset);
        // Float32 storage limits agreement to ~1e-5 dB.
        expect(siSdr(ref, est)).toBeCloseTo(analytic, 3);
      }
    }
  });

  it('is +Infinity for a scaled copy and rejects a constant reference', () => {
    const est = Float32Array.from(ref, (v) => v * 0.5);
    expect(siSdr(ref, est)).toBeGreaterThan(100);
    expect(() => siSdr(new Float32Array(8).fill(0.3), ref.subarray(0, 8))).toThrow(/reference/);
    expect(() => siSdr(ref, ref.subarray(1))).toThrow(/estimate/);
  });
});

describe('sdr', () => {
  it('is the plain energy ratio, not scale invariant', () => {
    const ref = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 0.05));
    const half = Float32Array.from(ref, (v) => v * 0.5);
    // Error is 0.5·ref, so SDR = 10·log10(1 / 0.25) = 6.0206 dB.
    expect(sdr(ref, half)).toBeCloseTo(10 * Math.log10(4), 6);
    const noisy = Float32Array.from(ref, (v, i) => v + (i % 2 === 0 ? 0.1 : -0.1));
    const expected = 10 * Math.log10(energy(ref) / (1000 * Math.fround(0.1) ** 2));
    expect(sdr(ref, noisy)).toBeCloseTo(expected, 3);
    expect(sdr(ref, ref)).toBe(Number.POSITIVE_INFINITY);
  });
});
