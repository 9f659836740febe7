import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logSpectralDistance, multiResolutionStftDistance } from '../../src/metrics/index.ts';
import { decodeMono, lcg, sharedDir } from './helpers.ts';

// Full-scale noise keeps nearly every bin far above the 1e-7 power floor.
const noise = Float32Array.from(lcg(11, 24000));

describe('logSpectralDistance', () => {
  it('is |20·log10 g| for an estimate scaled by g', () => {
    for (const g of [2, 0.5, 10]) {
      const est = Float32Array.from(noise, (v) => v * g);
      expect(logSpectralDistance(noise, est)).toBeCloseTo(Math.abs(20 * Math.log10(g)), 3);
      expect(logSpectralDistance(noise, est, { fftSize: 512, hop: 128 })).toBeCloseTo(
        Math.abs(20 * Math.log10(g)),
        3,
      );
    }
    expect(logSpectralDistance(noise, noise)).toBe(0);
  });

  it('averages per-frame values over frames (not one global RMS)', () => {
    // hop = fftSize = 256 and centred frames: frame f covers [256f − 128, 256f + 128), so with the gain
    // switching at 2688 frames 0..10 see gain 2 and frames 11..20 gain 10 (the last one via reflection).
    const ref = noise.subarray(0, 5120);
    const est = Float32Array.from(ref, (v, i) => v * (i < 2688 ? 2 : 10));
    const expected = (11 * 20 * Math.log10(2) + 10 * 20) / 21;
    expect(logSpectralDistance(ref, est, { fftSize: 256, hop: 256 })).toBeCloseTo(expected, 3);
  });

  it('rejects mismatched lengths', () => {
    expect(() => logSpectralDistance(noise, noise.subarray(1))).toThrow(/estimate/);
  });
});

describe('multiResolutionStftDistance', () => {
  it('gives spectral convergence |1 − g| and log-magnitude |ln g| for a gain g', () => {
    // Gains above 1 keep every estimate bin above the 1e-7 power floor (a few reference bins sit near 1e-7).
    for (const g of [2, 1.5]) {
      const est = Float32Array.from(noise, (v) => v * g);
      const r = multiResolutionStftDistance(noise, est);
      expect(r.perResolution.map((p) => p.fftSize)).toEqual([512, 1024, 2048]);
      for (const p of r.perResolution) {
        expect(p.spectralConvergence).toBeCloseTo(Math.abs(1 - g), 5);
        expect(p.logMagnitude).toBeCloseTo(Math.abs(Math.log(g)), 5);
      }
      expect(r.total).toBeCloseTo(Math.abs(1 - g) + Math.abs(Math.log(g)), 5);
    }
  });

  it('is 0 for identical signals and grows with added noise on real speech', () => {
    const file = path.join(sharedDir, 'data/train/librispeech-train-clean-100/118-121721-0000.flac');
    const speech = decodeMono(file, 16000).subarray(0, 32000);
    expect(multiResolutionStftDistance(speech, speech).total).toBe(0);
    const hiss = lcg(5, speech.length);
    const totals = [0.001, 0.01, 0.1].map(
      (a) =>
        multiResolutionStftDistance(
          speech,
          Float32Array.from(speech, (v, i) => v + a * hiss[i]!),
        ).total,
    );
    expect(totals[0]).toBeGreaterThan(0);
    expect(totals[1]).toBeGreaterThan(totals[0]!);
    expect(totals[2]).toBeGreaterThan(totals[1]!);
  });

  it('validates resolutions', () => {
    expect(() => multiResolutionStftDistance(noise, noise, { resolutions: [] })).toThrow(/resolutions/);
    expect(() =>
      multiResolutionStftDistance(noise, noise, { resolutions: [{ fftSize: 512, hop: 0 }] }),
    ).toThrow(/hop/);
  });
});
