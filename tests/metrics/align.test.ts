import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alignSignals, estimateDelay, siSdr } from '../../src/metrics/index.ts';
import { decodeMono, lcg, sharedDir } from './helpers.ts';

const file = path.join(sharedDir, 'data/train/librispeech-train-clean-100/7113-86041-0000.flac');
const speech = decodeMono(file, 16000).subarray(0, 4 * 16000);

/** other[n] = x[n − delay] (zeros shifted in) plus optional white noise. */
function delayed(x: Float32Array, delay: number, noise = 0): Float32Array {
  const hiss = lcg(9, x.length);
  return Float32Array.from(x, (_, n) => {
    const src = n - delay;
    return (src >= 0 && src < x.length ? x[src]! : 0) + noise * hiss[n]!;
  });
}

describe('estimateDelay on real speech', () => {
  it('has four seconds of speech to work with', () => {
    expect(speech.length).toBe(64000);
  });

  it.each([0, 1, 37, 480, 1234, -250, -4001])('recovers a delay of %i samples', (d) => {
    const other = delayed(speech, d, 0.01);
    const est = estimateDelay(speech, other);
    expect(est.delay).toBe(d);
    expect(Math.abs(est.fractionalDelay - d)).toBeLessThan(0.5);
    expect(est.correlation).toBeGreaterThan(0.9);
  });

  it('recovers a delay between signals of different lengths and within maxLag', () => {
    const other = delayed(speech, 800).subarray(0, 50000);
    expect(estimateDelay(speech, other).delay).toBe(800);
    expect(estimateDelay(speech, other, { maxLag: 1000 }).delay).toBe(800);
    // With the true lag outside the window the best in-window lag is returned instead.
    expect(Math.abs(estimateDelay(speech, other, { maxLag: 100 }).delay)).toBeLessThanOrEqual(100);
  });
});

describe('alignSignals', () => {
  it('undoes a delay so sample-wise metrics see the true quality', () => {
    const other = delayed(speech, 321, 0.003);
    const before = siSdr(speech, other);
    const a = alignSignals(speech, other);
    expect(a.delay).toBe(321);
    expect(a.reference.length).toBe(speech.length - 321);
    expect(a.other.length).toBe(a.reference.length);
    // After alignment the pair differs only by the added noise: well above the unaligned value.
    const after = siSdr(a.reference, a.other);
    expect(after).toBeGreaterThan(15);
    expect(after).toBeGreaterThan(before + 15);
    expect(a.other[0]).toBeCloseTo(a.reference[0]! + 0.003 * lcg(9, 322)[321]!, 6);
  });

  it('uses a given delay and trims negative delays from the front', () => {
    const a = alignSignals(speech, delayed(speech, -100), { delay: -100 });
    expect(a.reference.length).toBe(speech.length - 100);
    expect(a.reference[0]).toBe(speech[100]);
    expect(a.other[0]).toBe(speech[0]);
    expect(() => alignSignals(speech, speech, { delay: 0.5 })).toThrow(/delay/);
  });
});
