import { describe, expect, it } from 'vitest';
import { BiquadFilter } from '../../src/audio/biquad.ts';
import { DcBlocker } from '../../src/audio/dc-blocker.ts';

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

describe('DcBlocker', () => {
  it('removes an offset from the first sample on, whatever the chunking, and loses no samples', () => {
    const x = sine(200, 1.2, 0.25);
    const whole = new DcBlocker(RATE, 1);
    const a = Float32Array.from([...whole.process(x), ...whole.flush()]);
    expect(a).toHaveLength(x.length);
    // Settled on the opening's mean: the offset is gone from the start (the 200 Hz tone is kept).
    let m = 0;
    for (let i = 0; i < 1600; i++) m += a[i]!;
    expect(Math.abs(m / 1600)).toBeLessThan(0.01);
    expect(peak(a, 0)).toBeLessThan(1.02);
    const chunked = new DcBlocker(RATE, 1);
    const parts: number[] = [];
    for (let s = 0; s < x.length; s += 997) parts.push(...chunked.process(x.subarray(s, s + 997)));
    parts.push(...chunked.flush());
    expect(Float32Array.from(parts)).toEqual(a);
    expect(x[0]).toBe(Math.fround(0.25)); // the input is not modified
  });

  it('a stream shorter than its opening comes out at flush; arguments are checked', () => {
    const b = new DcBlocker(RATE, 1);
    expect(b.process(new Float32Array(100).fill(0.3))).toHaveLength(0);
    const out = b.flush();
    expect(out).toHaveLength(100);
    expect(peak(out, 0)).toBeLessThan(1e-6);
    expect(b.flush()).toHaveLength(0);
    expect(() => new DcBlocker(RATE, 0)).toThrow(RangeError);
    expect(() => new DcBlocker(0, 1)).toThrow(RangeError);
  });
});
