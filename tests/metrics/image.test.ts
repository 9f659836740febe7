import { describe, expect, it } from 'vitest';
import { type Image2D, psnr, ssim } from '../../src/metrics/index.ts';
import { lcg } from './helpers.ts';

const W = 64;
const H = 48;

/** The pair also built by the numpy script below (same LCG, float32 rounding). */
function testImages(): { ref: Image2D; tst: Image2D } {
  const n1 = lcg(1, W * H);
  const n2 = lcg(2, W * H);
  const ref = new Float32Array(W * H);
  const tst = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      ref[i] = Math.sin(0.3 * x) * Math.cos(0.2 * y) + 0.1 * n1[i]!;
      tst[i] = ref[i]! + 0.2 * n2[i]!;
    }
  }
  return { ref: { width: W, height: H, data: ref }, tst: { width: W, height: H, data: tst } };
}

/*
 * Reference values from an independent numpy/scipy implementation of Wang et al. 2004
 * (python3, numpy 1.x/2.x, scipy.signal.convolve2d 'valid'):
 *
 *   import numpy as np; from scipy.signal import convolve2d
 *   def lcg(seed, n):
 *       s = seed; out = np.empty(n)
 *       for i in range(n):
 *           s = (s * 1664525 + 1013904223) % 2**32; out[i] = s / 2**32 - 0.5
 *       return out
 *   W, H = 64, 48; y, x = np.mgrid[0:H, 0:W]
 *   ref = (np.sin(0.3*x)*np.cos(0.2*y) + 0.1*lcg(1, W*H).reshape(H, W)).astype(np.float32)
 *   tst = (ref.astype(np.float64) + 0.2*lcg(2, W*H).reshape(H, W)).astype(np.float32)
 *   def ssim(a, b, L):
 *       a = a.astype(np.float64); b = b.astype(np.float64)
 *       g = np.exp(-((np.arange(11) - 5)**2) / (2*1.5**2)); w = np.outer(g, g); w /= w.sum()
 *       f = lambda z: convolve2d(z, w, mode='valid')
 *       ma, mb = f(a), f(b)
 *       va, vb, cab = f(a*a) - ma**2, f(b*b) - mb**2, f(a*b) - ma*mb
 *       c1, c2 = (0.01*L)**2, (0.03*L)**2
 *       return np.mean((2*ma*mb + c1)*(2*cab + c2) / ((ma**2 + mb**2 + c1)*(va + vb + c2)))
 *   print(ssim(ref, tst, 2.0), ssim(ref, tst, float(ref.max() - ref.min())))
 *   # 0.9564872059099592 0.9569248560420518
 */
const NUMPY_SSIM_RANGE_2 = 0.9564872059099592;
const NUMPY_SSIM_DEFAULT_RANGE = 0.9569248560420518;

describe('ssim', () => {
  const { ref, tst } = testImages();

  it('is 1 for identical images', () => {
    expect(ssim(ref, ref)).toBeCloseTo(1, 12);
    expect(ssim(ref, ref, { dataRange: 2 })).toBeCloseTo(1, 12);
  });

  it('matches an independent numpy implementation', () => {
    expect(ssim(ref, tst, { dataRange: 2 })).toBeCloseTo(NUMPY_SSIM_RANGE_2, 10);
    // Default data range = max − min of the reference.
    expect(ssim(ref, tst)).toBeCloseTo(NUMPY_SSIM_DEFAULT_RANGE, 10);
  });

  it('is symmetric and drops with more distortion', () => {
    expect(ssim(tst, ref, { dataRange: 2 })).toBeCloseTo(NUMPY_SSIM_RANGE_2, 10);
    const worse = { ...tst, data: Float32Array.from(tst.data, (v, i) => v + 0.3 * Math.sin(i)) };
    expect(ssim(ref, worse, { dataRange: 2 })).toBeLessThan(NUMPY_SSIM_RANGE_2);
  });

  it('rejects mismatched or too-small images', () => {
    expect(() => ssim(ref, { width: 32, height: 96, data: tst.data })).toThrow(/test must be 64×48/);
    const tiny = { width: 8, height: 8, data: new Float32Array(64) };
    expect(() => ssim(tiny, tiny, { dataRange: 1 })).toThrow(/at least 11×11/);
    expect(() => ssim(ref, tst, { windowSize: 4 })).toThrow(/windowSize/);
  });
});

describe('psnr', () => {
  const { ref } = testImages();

  it('is 10·log10(L² / MSE) for a known MSE', () => {
    // ±d alternating → MSE d² (up to float32 rounding of the stored sum).
    const d = 0.05;
    const tst = { ...ref, data: Float32Array.from(ref.data, (v, i) => v + (i % 2 === 0 ? d : -d)) };
    expect(psnr(ref, tst, { dataRange: 2 })).toBeCloseTo(10 * Math.log10(4 / (d * d)), 4);
    expect(psnr(ref, tst, { dataRange: 1 })).toBeCloseTo(10 * Math.log10(1 / (d * d)), 4);
  });

  it('is +Infinity for identical images and validates dataRange', () => {
    expect(psnr(ref, ref)).toBe(Number.POSITIVE_INFINITY);
    expect(() => psnr(ref, ref, { dataRange: -1 })).toThrow(/dataRange/);
    const flat = { width: 4, height: 4, data: new Float32Array(16) };
    expect(() => psnr(flat, flat)).toThrow(/dataRange/);
  });
});
