import { describe, expect, it } from 'vitest';
import {
  applyGainDb,
  concatenate,
  crossfade,
  crossfadeGains,
  fadeGain,
  fadeIn,
  fadeOut,
  fitPeak,
  normalizePeak,
  remix,
  softLimit,
  standardMixMatrix,
  toMono,
  toStereo,
} from '../../src/audio/mix.ts';
import type { PcmAudio } from '../../src/audio/types.ts';
import { noise } from './measure.ts';

const audio = (...channels: Float32Array[]): PcmAudio => ({ sampleRate: 48000, channels });
const power = (x: Float32Array, from = 0, to = x.length) => {
  let p = 0;
  for (let i = from; i < to; i++) p += x[i]! * x[i]!;
  return p / (to - from);
};

describe('channel mixing', () => {
  it('mono ↔ stereo', () => {
    const l = Float32Array.of(1, 0.5, -1);
    const r = Float32Array.of(0, 0.5, 1);
    expect(Array.from(toMono(audio(l, r)).channels[0]!)).toEqual([0.5, 0.5, 0]);
    const st = toStereo(audio(l));
    expect(st.channels.length).toBe(2);
    expect(st.channels[0]).toEqual(l);
    expect(st.channels[1]).toEqual(l);
  });
  it('5.1 → stereo uses BS.775 coefficients (C, Ls at −3 dB, LFE dropped)', () => {
    const ones = () => Float32Array.of(1);
    const ch = [0, 1, 2, 3, 4, 5].map(() => ones());
    const m = standardMixMatrix(6, 2)!;
    expect(m[0]).toEqual([1, 0, Math.SQRT1_2, 0, Math.SQRT1_2, 0]);
    const st = remix(audio(...ch), 2);
    expect(st.channels[0]![0]).toBeCloseTo(1 + 2 * Math.SQRT1_2, 6);
    const norm = remix(audio(...ch), 2, { normalize: true });
    expect(norm.channels[0]![0]).toBeCloseTo(1, 6);
    // LFE alone vanishes.
    const lfe = [0, 1, 2, 3, 4, 5].map((i) => Float32Array.of(i === 3 ? 1 : 0));
    expect(remix(audio(...lfe), 2).channels[0]![0]).toBe(0);
    expect(toMono(audio(...ch)).channels[0]![0]).toBeCloseTo(1 + 2 * Math.SQRT1_2, 6);
  });
  it('custom matrices and errors', () => {
    const a = audio(Float32Array.of(1, 2), Float32Array.of(3, 4));
    expect(Array.from(remix(a, 1, { matrix: [[0.25, 0.75]] }).channels[0]!)).toEqual([2.5, 3.5]);
    expect(() => remix(a, 1, { matrix: [[1]] })).toThrow(/matrix/);
    expect(() => remix(audio(...[0, 1, 2, 3, 4, 5, 6].map(() => new Float32Array(1))), 3)).toThrow(
      /opts.matrix/,
    );
    expect(() => remix(a, 0)).toThrow(/channels/);
  });
});

describe('gain and peak', () => {
  it('applies dB gain and normalises sample peak to the target', () => {
    const x = noise(1000, 3);
    expect(applyGainDb(audio(x), -6.0206).channels[0]![10]).toBeCloseTo(x[10]! / 2, 5);
    const r = normalizePeak(audio(x), -1);
    let peak = 0;
    for (const v of r.audio.channels[0]!) peak = Math.max(peak, Math.abs(v));
    expect(20 * Math.log10(peak)).toBeCloseTo(-1, 5);
    const t = normalizePeak(audio(x), -1, { mode: 'true' });
    expect(t.gainDb).toBeLessThanOrEqual(r.gainDb + 1e-9);
    expect(normalizePeak(audio(new Float32Array(10))).gainDb).toBe(0);
  });
});

describe('fades', () => {
  it('curves start at 0, end at 1; equal-power is sin, exponential spans 60 dB', () => {
    for (const c of ['linear', 'equal-power', 'exponential'] as const) {
      expect(fadeGain(c, 0)).toBe(0);
      expect(fadeGain(c, 1)).toBeCloseTo(1, 12);
    }
    expect(fadeGain('equal-power', 0.5)).toBeCloseTo(Math.SQRT1_2, 12);
    expect(fadeGain('linear', 0.25)).toBe(0.25);
    // Each tenth of the exponential fade is 6 dB (near the top, where the −1 offset is negligible).
    expect(20 * Math.log10(fadeGain('exponential', 1) / fadeGain('exponential', 0.9))).toBeCloseTo(6, 1);
  });
  it('fadeIn/fadeOut shape only the requested frames', () => {
    const x = new Float32Array(100).fill(1);
    const a = fadeIn(audio(x), 10, 'linear').channels[0]!;
    expect(a[0]).toBe(0);
    expect(a[5]).toBeCloseTo(0.5, 6);
    expect(a[10]).toBe(1);
    const b = fadeOut(audio(x), 10, 'equal-power').channels[0]!;
    expect(b[89]).toBe(1);
    expect(b[99]).toBe(0);
    expect(b[90]).toBeCloseTo(Math.sin((Math.PI / 2) * 0.9), 6);
    expect(x[0]).toBe(1); // input untouched
    expect(() => fadeIn(audio(x), 101)).toThrow(/length/);
  });
});

describe('crossfades', () => {
  it('equal-power gains have out² + in² = 1 at every frame; linear gains sum to 1', () => {
    const g = crossfadeGains(1000);
    let worst = 0;
    for (let i = 0; i < 1000; i++)
      worst = Math.max(worst, Math.abs(g.fadeOut[i]! ** 2 + g.fadeIn[i]! ** 2 - 1));
    expect(worst).toBeLessThan(1e-12);
    const l = crossfadeGains(10, 'linear');
    for (let i = 0; i < 10; i++) expect(l.fadeOut[i]! + l.fadeIn[i]!).toBeCloseTo(1, 12);
  });
  it('keeps the power of uncorrelated noise constant through the joint (within 0.3 dB)', () => {
    const n = 48000;
    const xf = 24000;
    const y = crossfade(audio(noise(n, 1)), audio(noise(n, 2)), xf).channels[0]!;
    expect(y.length).toBe(2 * n - xf);
    const ref = power(noise(n, 1));
    for (let start = n - xf; start < n; start += 4000) {
      const p = power(y, start, start + 4000);
      expect(Math.abs(10 * Math.log10(p / ref))).toBeLessThan(0.3);
    }
  });
  it('concatenates several parts with joints and checks compatibility', () => {
    const parts = [1, 2, 3].map((v) => audio(new Float32Array(100).fill(v)));
    const y = concatenate(parts, { crossfade: 10, curve: 'linear' }).channels[0]!;
    expect(y.length).toBe(280);
    expect(y[0]).toBe(1);
    expect(y[95]).toBeCloseTo(1.55, 5); // t = 5.5/10 through the first joint
    expect(y[150]).toBe(2);
    expect(y[279]).toBe(3);
    expect(concatenate(parts).channels[0]!.length).toBe(300);
    expect(() => concatenate([parts[0]!, { sampleRate: 44100, channels: [new Float32Array(100)] }])).toThrow(
      /sample rates/,
    );
    expect(() => crossfade(parts[0]!, parts[1]!, 101)).toThrow(/crossfade/);
  });
});

describe('fitPeak and softLimit', () => {
  it('fitPeak scales a signal so its peak is the ceiling, raising quiet ones by 30 dB at most', () => {
    const before = [0.1, -2.5, 1.2, 0];
    const loud = Float32Array.from(before);
    const gain = fitPeak(loud);
    expect(gain).toBeCloseTo(0.89 / 2.5, 7);
    for (const [i, v] of before.entries()) expect(loud[i]).toBeCloseTo(v * gain, 6);
    expect(loud[1]).toBeCloseTo(-0.89, 6);
    const quiet = Float32Array.from([0.5, -0.089]);
    expect(fitPeak(quiet)).toBeCloseTo(0.89 / 0.5, 6);
    expect(quiet[0]).toBeCloseTo(0.89, 6);
    expect(quiet[1]).toBeCloseTo(-0.089 * (0.89 / 0.5), 6);
    // Near-silence is raised by 30 dB at most.
    const faint = Float32Array.from([1e-4, -1e-5]);
    expect(fitPeak(faint)).toBe(31.6);
    expect(faint[0]).toBeCloseTo(3.16e-3, 8);
    expect(fitPeak(new Float32Array(4))).toBe(1);
    expect(() => fitPeak(quiet, 0)).toThrow(RangeError);
    expect(() => fitPeak([1] as unknown as Float32Array)).toThrow(TypeError);
  });

  it('softLimit passes samples under the threshold and bends louder ones below 1, keeping sign', () => {
    const x = Float32Array.from([0.5, -0.89, 0.95, -3, 100]);
    softLimit(x);
    expect(x[0]).toBe(0.5);
    expect(x[1]).toBe(Math.fround(-0.89));
    expect(x[2]).toBeGreaterThan(0.89);
    expect(x[2]).toBeLessThan(0.95);
    expect(x[3]).toBeLessThan(-0.89);
    expect(x[3]).toBeGreaterThan(-1);
    expect(x[4]).toBeLessThan(1);
  });
});
