import { describe, expect, it } from 'vitest';
import { Fft } from '../../src/spectrogram/fft.ts';

function naiveDft(re: Float64Array, im: Float64Array): [Float64Array, Float64Array] {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * ((k * t) % n)) / n;
      sr += re[t]! * Math.cos(a) - im[t]! * Math.sin(a);
      si += re[t]! * Math.sin(a) + im[t]! * Math.cos(a);
    }
    outRe[k] = sr;
    outIm[k] = si;
  }
  return [outRe, outIm];
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

describe('Fft', () => {
  for (const n of [1, 2, 8, 64, 256, 5, 12, 100, 441, 1000]) {
    it(`matches the naive DFT and inverts exactly for n=${n}`, () => {
      const rnd = lcg(n);
      const re = Float64Array.from({ length: n }, rnd);
      const im = Float64Array.from({ length: n }, rnd);
      const [er, ei] = naiveDft(re, im);
      const fr = re.slice();
      const fi = im.slice();
      const fft = new Fft(n);
      fft.forward(fr, fi);
      let maxErr = 0;
      for (let k = 0; k < n; k++)
        maxErr = Math.max(maxErr, Math.abs(fr[k]! - er[k]!), Math.abs(fi[k]! - ei[k]!));
      expect(maxErr).toBeLessThan(1e-9 * Math.max(1, n));
      fft.inverse(fr, fi);
      let invErr = 0;
      for (let k = 0; k < n; k++)
        invErr = Math.max(invErr, Math.abs(fr[k]! - re[k]!), Math.abs(fi[k]! - im[k]!));
      expect(invErr).toBeLessThan(1e-12 * Math.max(1, n));
    });
  }

  it('real transforms round-trip for odd and even sizes', () => {
    for (const n of [16, 15, 400, 17640]) {
      const rnd = lcg(7);
      const x = Float64Array.from({ length: n }, rnd);
      const fft = new Fft(n);
      const bins = (n >> 1) + 1;
      const re = new Float64Array(bins);
      const im = new Float64Array(bins);
      fft.forwardReal(x, re, im);
      const y = new Float64Array(n);
      fft.inverseReal(re, im, y);
      let err = 0;
      for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(y[i]! - x[i]!));
      expect(err).toBeLessThan(1e-10);
    }
  });

  it('rejects invalid sizes with RangeError', () => {
    expect(() => new Fft(0)).toThrow(RangeError);
    expect(() => new Fft(2.5)).toThrow(RangeError);
  });
});
