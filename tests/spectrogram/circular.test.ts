import { describe, expect, it } from 'vitest';
import {
  circularFramePositions,
  circularGriffinLim,
  circularIstft,
  circularStft,
  stft,
  stftMagnitude,
} from '../../src/spectrogram/index.ts';

const rate = 16000;
const o = { nFft: 512, hopLength: 128, winLength: 512, window: 'hann' as const, center: true };

/** A loop of `n` samples: partials on whole cycles per loop so it repeats without a seam. */
function tonalLoop(n: number, cycles: readonly number[]): Float32Array {
  const x = new Float32Array(n);
  for (const [j, c] of cycles.entries()) {
    for (let i = 0; i < n; i++) x[i] += (0.3 / (j + 1)) * Math.sin((2 * Math.PI * c * i) / n + j);
  }
  return x;
}

/** Frequency (Hz) of the strongest partial, by a long DFT scan with parabolic peak interpolation. */
function peakHz(x: Float32Array, lo: number, hi: number): number {
  const mag = (f: number) => {
    let re = 0;
    let im = 0;
    for (let i = 0; i < x.length; i++) {
      const a = (2 * Math.PI * f * i) / rate;
      const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / x.length);
      re += w * x[i]! * Math.cos(a);
      im -= w * x[i]! * Math.sin(a);
    }
    return Math.hypot(re, im);
  };
  const step = rate / x.length / 2;
  let best = lo;
  let bestMag = 0;
  for (let f = lo; f <= hi; f += step) {
    const m = mag(f);
    if (m > bestMag) [best, bestMag] = [f, m];
  }
  const a = mag(best - step);
  const c = mag(best + step);
  return best + (0.5 * step * (a - c)) / (a - 2 * bestMag + c);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('circular STFT', () => {
  it('spreads frames evenly over the period', () => {
    expect(Array.from(circularFramePositions(4, 10))).toEqual([0, 3, 5, 8]);
    expect(Array.from(circularFramePositions(3, 384))).toEqual([0, 128, 256]);
    expect(() => circularFramePositions(0, 10)).toThrow(/frames/);
    expect(() => circularFramePositions(2, 1.5)).toThrow(/period/);
  });

  it('equals the ordinary STFT of the repeated loop when period = frames·hop', () => {
    const frames = 24;
    const x = tonalLoop(frames * o.hopLength, [7, 19, 40]);
    const tiled = new Float32Array(3 * x.length);
    for (let k = 0; k < 3; k++) tiled.set(x, k * x.length);
    const whole = stft(tiled, o);
    const c = circularStft(x, o, frames);
    // Frame f of the loop is frame frames + f of the middle copy.
    const off = frames * whole.bins;
    let err = 0;
    let peak = 0;
    for (let i = 0; i < c.re.length; i++) {
      err = Math.max(err, Math.abs(c.re[i]! - whole.re[off + i]!), Math.abs(c.im[i]! - whole.im[off + i]!));
      peak = Math.max(peak, Math.abs(c.re[i]!));
    }
    expect(err).toBeLessThan(1e-5 * peak);
  });

  it('inverts itself exactly on uniform and non-uniform grids', () => {
    for (const [frames, period] of [
      [24, 24 * 128],
      [24, 3000],
      [7, 900],
    ] as const) {
      const x = tonalLoop(period, [3, 11, 25]);
      const y = circularIstft(circularStft(x, o, frames), o, period);
      expect(y.length).toBe(period);
      expect(maxAbsDiff(x, y)).toBeLessThan(1e-5);
    }
    // Frames too sparse for the window to cover the loop cannot be inverted.
    expect(() => circularIstft(circularStft(tonalLoop(4096, [3]), o, 2), o, 4096)).toThrow(/gaps/);
  });
});

describe('circularGriffinLim', () => {
  it('rebuilds a loop from magnitudes, seamlessly, converging like Griffin-Lim', () => {
    const frames = 32;
    const period = frames * o.hopLength;
    const x = tonalLoop(period, [20, 47, 90]);
    const mag = circularStft(x, o, frames);
    const m = { frames, bins: mag.bins, data: new Float32Array(mag.re.length) };
    for (let i = 0; i < m.data.length; i++) m.data[i] = Math.hypot(mag.re[i]!, mag.im[i]!);
    const r = circularGriffinLim(m, o, { period, iterations: 32, seed: 3 });
    expect(r.signal.length).toBe(period);
    expect(r.spectralConvergence[32]!).toBeLessThan(0.2 * r.spectralConvergence[0]!);
    // The wrap-around step is an ordinary step of the loop.
    const steps = Array.from(r.signal.subarray(1), (v, i) => Math.abs(v - r.signal[i]!));
    const seam = Math.abs(r.signal[0]! - r.signal[period - 1]!);
    expect(seam).toBeLessThanOrEqual(Math.max(...steps));
    const again = circularGriffinLim(m, o, { period, iterations: 32, seed: 3 });
    expect(Array.from(again.signal)).toEqual(Array.from(r.signal));
  });

  it('refines a given spectrum on the uniform grid', () => {
    const frames = 32;
    const period = frames * o.hopLength;
    const x = tonalLoop(period, [20, 47, 90]);
    const spec = circularStft(x, o, frames);
    const m = { frames, bins: spec.bins, data: new Float32Array(spec.re.length) };
    for (let i = 0; i < m.data.length; i++) m.data[i] = Math.hypot(spec.re[i]!, spec.im[i]!);
    // From the loop's own phase: consistent at once, the loop comes back.
    const r = circularGriffinLim(m, o, { period, iterations: 2, init: spec });
    expect(r.spectralConvergence[0]!).toBeLessThan(1e-4);
    expect(maxAbsDiff(r.signal, x)).toBeLessThan(1e-4);
    // From a coarse phase (quantised to quarter turns) it converges faster than from a random one.
    const q = { ...spec, re: spec.re.slice(), im: spec.im.slice() };
    for (let i = 0; i < q.re.length; i++) {
      const a = Math.round(Math.atan2(spec.im[i]!, spec.re[i]!) / (Math.PI / 2)) * (Math.PI / 2);
      q.re[i] = Math.cos(a);
      q.im[i] = Math.sin(a);
    }
    const warm = circularGriffinLim(m, o, { period, iterations: 8, init: q });
    const cold = circularGriffinLim(m, o, { period, iterations: 8, seed: 3 });
    expect(warm.spectralConvergence[8]!).toBeLessThan(cold.spectralConvergence[8]!);
    expect(warm.spectralConvergence[8]!).toBeLessThan(warm.spectralConvergence[0]!);
    expect(() => circularGriffinLim(m, o, { period, init: { ...spec, bins: 5 } })).toThrow(/init spectrum/);
  });

  it('changes a loop’s length by time-scale modification, keeping its pitch', () => {
    // 2 s of a 440 Hz tone with a harmonic, fitted into 5 % less and 5 % more time: a resampler
    // would move the pitch by 5 % (to 463 or 419 Hz); re-spaced frames keep it, to within
    // Griffin-Lim's own accuracy (a loop of L samples also holds only multiples of rate/L, 0.5 Hz).
    const lo = { nFft: 1024, hopLength: 256, winLength: 1024, window: 'hann' as const, center: true };
    const frames = 125;
    const n = frames * lo.hopLength;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = 0.4 * Math.sin((2 * Math.PI * 440 * i) / rate) + 0.2 * Math.sin((2 * Math.PI * 880 * i) / rate);
    }
    const mag = stftMagnitude(x, lo);
    const inner = { frames, bins: mag.bins, data: mag.data.slice(0, frames * mag.bins) };
    for (const ratio of [0.95, 1.05]) {
      const period = Math.round(n * ratio);
      const y = circularGriffinLim(inner, lo, { period, iterations: 32, seed: 1 }).signal;
      expect(y.length).toBe(period);
      expect(Math.abs(peakHz(y, 415, 465) - 440)).toBeLessThan(0.01 * 440);
    }
  });

  it('validates arguments', () => {
    const m = { frames: 4, bins: 257, data: new Float32Array(4 * 257) };
    expect(() => circularGriffinLim(m, { nFft: 1024 }, { period: 512 })).toThrow(/bins/);
    expect(() => circularGriffinLim(m, o, { period: 512, momentum: -1 })).toThrow(/momentum/);
    expect(() => circularGriffinLim(m, o, { period: 512, iterations: 0.5 })).toThrow(/iterations/);
    expect(() => circularGriffinLim(m, o, { period: 0 })).toThrow(/period/);
  });
});
