import { describe, expect, it } from 'vitest';
import { BiquadFilter } from '../../src/audio/biquad.ts';

const RATE = 16000;

function sine(freq: number, seconds: number, offset = 0): Float32Array {
  return Float32Array.from(
    { length: Math.round(seconds * RATE) },
    (_, i) => offset + Math.sin((2 * Math.PI * freq * i) / RATE),
  );
}

function peak(x: Float32Array, from: number): number {
  let p = 0;
  for (let i = from; i < x.length; i++) p = Math.max(p, Math.abs(x[i]!));
  return p;
}

describe('BiquadFilter.dcBlocker', () => {
  it('removes a constant offset and passes 100 Hz within 0.01 dB', () => {
    const f = BiquadFilter.dcBlocker(RATE, 5);
    const x = f.process(sine(100, 2, 0.3));
    // After 1 s (30 time constants) the offset is gone and the tone's amplitude is kept.
    expect(Math.abs(x.slice(RATE).reduce((a, v) => a + v, 0) / RATE)).toBeLessThan(1e-4);
    expect(20 * Math.log10(peak(x, RATE))).toBeCloseTo(0, 2);
  });

  it('settle() starts it at the steady state of a constant input: no step transient', () => {
    const settled = BiquadFilter.dcBlocker(RATE, 5);
    settled.settle(0.5);
    const out = settled.process(new Float32Array(1000).fill(0.5));
    expect(peak(out, 0)).toBeLessThan(1e-6);
    // Without it the offset looks like a step from silence and decays slowly.
    const cold = BiquadFilter.dcBlocker(RATE, 5).process(new Float32Array(1000).fill(0.5));
    expect(cold[0]).toBe(0.5);
    expect(cold[200]).toBeGreaterThan(0.3);
  });

  it('streams: chunked processing equals one pass', () => {
    const x = sine(440, 0.5, 0.1);
    const whole = BiquadFilter.dcBlocker(RATE, 5).process(x.slice());
    const f = BiquadFilter.dcBlocker(RATE, 5);
    const parts = [x.slice(0, 1000), x.slice(1000, 1003), x.slice(1003)].map((p) => f.process(p));
    const joined = new Float32Array(x.length);
    let o = 0;
    for (const p of parts) {
      joined.set(p, o);
      o += p.length;
    }
    expect(joined).toEqual(whole);
  });
});
