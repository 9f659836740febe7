import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Resampler, resample, resampleAudio } from '../../src/audio/resample.ts';
import { type PolyphaseJob, PolyphaseKernel, polyphaseJs } from '../../src/audio/resample-wasm.ts';
import { fitTone, measureSweep, measureTones, tone } from './measure.ts';

const high = (x: Float32Array, a: number, b: number) => resample(x, a, b);

function streamed(x: Float32Array, a: number, b: number, seed: number): Float32Array {
  const r = new Resampler(a, b);
  const parts: Float32Array[] = [];
  let i = 0;
  let k = seed;
  while (i < x.length) {
    const c = x.subarray(i, Math.min(x.length, i + k));
    parts.push(r.process(c));
    i += c.length;
    k = ((k * 7919 + 13) % 4001) + (k % 3 === 0 ? 0 : 1);
  }
  parts.push(r.flush());
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('resample quality (high)', () => {
  // Measured: ripple ≈ 6e-6 dB, spurious ≤ −145 dB, stopband ≤ −127 dB, sweep aliases ≤ −131 dB.
  for (const [a, b] of [
    [44100, 48000],
    [48000, 44100],
    [22050, 16000],
    [16000, 22050],
  ] as const) {
    it(`${a} → ${b}: passband ripple, image/alias rejection on tones`, async () => {
      const r = await measureTones(high, a, b, { count: 12, seconds: 0.25 });
      expect(r.rippleDb).toBeLessThan(1e-4);
      expect(r.worstSpuriousDb).toBeLessThan(-120);
      expect(r.worstStopbandDb).toBeLessThan(-120);
    });
  }
  it('44100 → 48000 and 48000 → 16000: no alias or image above −120 dB on a full-band sweep', async () => {
    const up = await measureSweep(high, 44100, 48000, { seconds: 2 });
    const down = await measureSweep(high, 48000, 16000, { seconds: 2 });
    expect(up.frames).toBeGreaterThan(30);
    expect(down.frames).toBeGreaterThan(10);
    expect(up.worstAliasDb).toBeLessThan(-120);
    expect(down.worstAliasDb).toBeLessThan(-120);
  });
  it('a 9 kHz tone resampled 48k → 16k (new Nyquist 8 kHz) is suppressed by > 120 dB', () => {
    const y = resample(tone(9000, 48000, 48000, 1), 48000, 16000);
    let p = 0;
    for (let i = 2000; i < 14000; i++) p += y[i]! * y[i]!;
    expect(10 * Math.log10(p / 12000 / 0.5)).toBeLessThan(-120);
  });
});

describe('resample presets', () => {
  it('medium ≥ 90 dB and fast ≥ 60 dB stopband, ripple < 0.001 / 0.01 dB', async () => {
    const med = await measureTones((x, a, b) => resample(x, a, b, { quality: 'medium' }), 48000, 44100, {
      bandwidth: 0.9,
      count: 10,
      seconds: 0.25,
    });
    const fast = await measureTones((x, a, b) => resample(x, a, b, { quality: 'fast' }), 48000, 44100, {
      bandwidth: 0.8,
      count: 10,
      seconds: 0.25,
    });
    expect(med.worstStopbandDb).toBeLessThan(-90);
    expect(med.rippleDb).toBeLessThan(1e-3);
    expect(fast.worstStopbandDb).toBeLessThan(-60);
    expect(fast.rippleDb).toBeLessThan(1e-2);
  });
});

describe('resample geometry', () => {
  it('has length round(len·to/from) and zero delay for many rate pairs', () => {
    const pairs = [
      [44100, 48000],
      [48000, 8000],
      [8000, 192000],
      [192000, 44100],
      [11025, 16000],
      [44101, 48000],
      [44100.5, 48000],
      [32000, 96000],
    ];
    for (const [a, b] of pairs) {
      for (const len of [0, 1, 7, 1001])
        expect(resample(new Float32Array(len), a!, b!).length).toBe(Math.round((len * b!) / a!));
      const x = tone(997, a!, Math.round(a! * 0.2));
      const y = resample(x, a!, b!);
      // The output must be the same continuous sine sampled at the new rate: fit its phase.
      const s = Math.floor(y.length * 0.2);
      const e = Math.floor(y.length * 0.8);
      const fit = fitTone(y, 997, b!, s, e);
      expect(Math.abs(fit.amplitude - 0.5)).toBeLessThan(1e-5);
      let err = 0;
      for (let n = s; n < e; n++)
        err = Math.max(err, Math.abs(y[n]! - 0.5 * Math.sin((2 * Math.PI * 997 * n) / b!)));
      expect(err).toBeLessThan(2e-6);
    }
  });
  it('streaming in random chunk sizes equals the one-shot result bit for bit', () => {
    const x = new Float32Array(30011);
    let s = 1;
    for (let i = 0; i < x.length; i++) {
      s = (s * 48271) % 2147483647;
      x[i] = s / 2147483647 - 0.5;
    }
    for (const [a, b] of [
      [44100, 48000],
      [48000, 16000],
      [44101, 48000],
    ] as const) {
      const one = resample(x, a, b);
      for (const seed of [1, 17, 4000]) expect(streamed(x, a, b, seed)).toEqual(one);
    }
  });
  it('resampleAudio converts every channel and the same rate is a copy', () => {
    const a = { sampleRate: 48000, channels: [tone(100, 48000, 4800), tone(200, 48000, 4800)] };
    const b = resampleAudio(a, 16000);
    expect(b.sampleRate).toBe(16000);
    expect(b.channels.map((c) => c.length)).toEqual([1600, 1600]);
    const same = resample(a.channels[0]!, 48000, 48000);
    expect(same).toEqual(a.channels[0]);
    expect(same).not.toBe(a.channels[0]);
  });
  it('rejects bad arguments with errors naming them', () => {
    expect(() => resample(new Float32Array(4), 0, 48000)).toThrow(/fromRate/);
    expect(() => resample(new Float32Array(4), 48000, 1e7)).toThrow(/toRate/);
    expect(() => resample(new Float32Array(4), 48000, 16000, { bandwidth: 2 })).toThrow(/bandwidth/);
    expect(() => resample([1, 2] as unknown as Float32Array, 48000, 16000)).toThrow(TypeError);
    const r = new Resampler(48000, 16000);
    r.flush();
    expect(() => r.process(new Float32Array(4))).toThrow(/flush/);
  });
});

describe('resample SIMD kernel', () => {
  it('equals the plain-JS reference bit for bit (exact and interpolated tables)', () => {
    let s = 7;
    const rnd = () => {
      s = (s * 48271) % 2147483647;
      return s / 2147483647 - 0.5;
    };
    const stride = 24; // 21 real taps + 3 zero pads
    const rows = 6;
    const table = new Float64Array(rows * stride);
    for (let r = 0; r < rows; r++) for (let m = 0; m < 21; m++) table[r * stride + m] = rnd();
    const input = Float32Array.from({ length: 5000 }, rnd);
    const kernel = PolyphaseKernel.create(table, stride);
    expect(kernel).not.toBeNull();
    for (const phaseScale of [0, 5 / 7]) {
      const job = (out: Float32Array): PolyphaseJob => ({
        input,
        inStart: 11,
        inLength: 1130 + stride, // covers the last output: 699 steps of 1 + 3/up samples
        count: 700,
        phase: 3,
        up: phaseScale === 0 ? 5 : 7,
        stepInt: 1,
        stepPhase: 3,
        phaseScale,
        out,
        outStart: 2,
      });
      const a = new Float32Array(702);
      const b = new Float32Array(702);
      kernel!.run(job(a));
      polyphaseJs(job(b), table, stride);
      expect(a.subarray(2).some((v) => v !== 0)).toBe(true);
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    }
  });
});

describe('resample vs sox rate -v', () => {
  it('agrees with sox on a two-tone signal 44100 → 48000 to better than −110 dB', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-rs-'));
    try {
      const x = new Float32Array(44100);
      for (let i = 0; i < x.length; i++)
        x[i] =
          0.4 * Math.sin((2 * Math.PI * 1000 * i) / 44100) +
          0.2 * Math.sin((2 * Math.PI * 15000 * i) / 44100);
      writeFileSync(path.join(dir, 'in.f32'), x);
      execFileSync('sox', [
        '-t',
        'f32',
        '-r',
        '44100',
        '-c',
        '1',
        path.join(dir, 'in.f32'),
        '-t',
        'f32',
        '-r',
        '48000',
        path.join(dir, 'out.f32'),
        'rate',
        '-v',
      ]);
      const buf = readFileSync(path.join(dir, 'out.f32'));
      const ys = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
      const y = resample(x, 44100, 48000);
      expect(ys.length).toBe(y.length);
      let d = 0;
      let r = 0;
      for (let i = 4800; i < y.length - 4800; i++) {
        d += (y[i]! - ys[i]!) ** 2;
        r += y[i]! ** 2;
      }
      expect(10 * Math.log10(d / r)).toBeLessThan(-110);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
