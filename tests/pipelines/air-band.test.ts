import { describe, expect, it } from 'vitest';
import { AirBand } from '../../src/pipelines/air-band.ts';
import { noise } from '../audio-dsp/measure.ts';

const RATE = 48000;

function rms(x: Float32Array, from = 0): number {
  let e = 0;
  for (let i = from; i < x.length; i++) e += x[i]! ** 2;
  return Math.sqrt(e / (x.length - from));
}

describe('AirBand', () => {
  it('gives the input back where the model kept everything (wet = low)', () => {
    const dry = noise(RATE, 3);
    // Any "low" works: the high band is dry − low, added back with gain 1.
    const low = dry.map((v, i) => 0.7 * v + 0.1 * Math.sin(i / 9));
    const wet = low.slice();
    new AirBand(RATE, 16000).process(wet, low, dry);
    let err = 0;
    for (let i = 0; i < dry.length; i++) err = Math.max(err, Math.abs(wet[i]! - dry[i]!));
    expect(err).toBeLessThan(1e-6);
  });

  it('gates the high band with the model: silence out means no air after ~20 ms', () => {
    const dry = noise(RATE, 5);
    const low = dry.map((v) => 0.5 * v);
    const wet = new Float32Array(dry.length);
    new AirBand(RATE, 16000).process(wet, low, dry);
    // After the followers settle the output is far below the high band it would pass (rms ≈ 0.14).
    expect(rms(wet, RATE / 10)).toBeLessThan(1e-3);
    // wet = ½·low: the model kept half the amplitude of its top octave, so the high band passes at ½.
    const scaled = low.map((v) => 0.5 * v);
    const out = scaled.slice();
    new AirBand(RATE, 16000).process(out, low, dry);
    const high = dry.map((v, i) => v - low[i]!);
    const diff = out.map((v, i) => v - scaled[i]!);
    expect(rms(diff, RATE / 10) / rms(high, RATE / 10)).toBeCloseTo(0.5, 2);
  });

  it('streams: any chunking gives the same result', () => {
    const dry = noise(20000, 7);
    const low = dry.map((v, i) => 0.8 * v * Math.abs(Math.sin(i / 500)));
    const wet = low.map((v, i) => v * (i % 3000 < 1500 ? 1 : 0.1));
    const whole = wet.slice();
    new AirBand(RATE, 16000).process(whole, low, dry);
    const band = new AirBand(RATE, 16000);
    const parts = wet.slice();
    for (const [a, b] of [
      [0, 1],
      [1, 777],
      [777, 13000],
      [13000, 20000],
    ] as const)
      band.process(parts.subarray(a, b), low.subarray(a, b), dry.subarray(a, b));
    expect(parts).toEqual(whole);
  });

  it('needs an input rate above the model rate', () => {
    expect(() => new AirBand(16000, 16000)).toThrow(RangeError);
  });
});
