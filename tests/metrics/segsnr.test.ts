import { describe, expect, it } from 'vitest';
import { segmentalSnr } from '../../src/metrics/index.ts';

const n = 8192;
const ref = Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin(0.07 * i) + 0.2 * Math.sin(0.31 * i));

describe('segmentalSnr', () => {
  it('is 20·log10(1/a) when the error is a·reference in every frame', () => {
    // Estimate = (1 − 0.1)·ref: error 0.1·ref in every frame, SNR exactly 20 dB.
    const est = Float32Array.from(ref, (v) => v * 0.9);
    expect(segmentalSnr(ref, est)).toBeCloseTo(20, 4);
    expect(segmentalSnr(ref, est, { frameLength: 256, hop: 256 })).toBeCloseTo(20, 4);
  });

  it('clamps each frame to [−10, 35] dB', () => {
    expect(segmentalSnr(ref, ref)).toBe(35);
    const far = Float32Array.from(ref, (v) => v * -20); // error 21·ref → −26.4 dB
    expect(segmentalSnr(ref, far)).toBe(-10);
    expect(segmentalSnr(ref, far, { minDb: -40 })).toBeCloseTo(-20 * Math.log10(21), 4);
  });

  it('averages frames: half at 20 dB, half at 60 dB clamped to 35 → 27.5', () => {
    // Non-overlapping 512-sample frames, so each frame lies in one half.
    const est = Float32Array.from(ref, (v, i) => v * (i < n / 2 ? 0.9 : 0.999));
    expect(segmentalSnr(ref, est, { frameLength: 512, hop: 512 })).toBeCloseTo(27.5, 3);
  });

  it('validates options', () => {
    expect(() => segmentalSnr(ref, ref, { frameLength: 0 })).toThrow(/frameLength/);
    expect(() => segmentalSnr(ref, ref, { minDb: 10, maxDb: 0 })).toThrow(/minDb/);
  });
});
