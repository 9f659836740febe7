import { describe, expect, it } from 'vitest';
import { type ComplexSpectrogram, griffinLim, stft, stftMagnitude } from '../../src/spectrogram/index.ts';
import { decodeMono, lcg, relError, speechFile } from './helpers.ts';

// 2.5 s of real read speech (LibriSpeech, 16 kHz).
const x = decodeMono(speechFile, undefined, 2.5);
const opts = { nFft: 512, hopLength: 128 };
const mag = stftMagnitude(x, opts);

describe('griffinLim', () => {
  const fast = griffinLim(mag, { ...opts, iterations: 32, length: x.length });
  const plain = griffinLim(mag, { ...opts, iterations: 32, momentum: 0, length: x.length });

  it('spectral convergence falls steadily from a random start', () => {
    const sc = plain.spectralConvergence;
    expect(sc.length).toBe(33);
    expect(sc[0]).toBeGreaterThan(0.5); // random phase: the STFT of its inverse is far off
    // Plain Griffin-Lim never increases the inconsistency (it is a projection algorithm).
    for (let i = 1; i < sc.length; i++) expect(sc[i]!).toBeLessThanOrEqual(sc[i - 1]! + 1e-6);
    expect(sc[32]!).toBeLessThan(0.5 * sc[1]!);
    const fsc = fast.spectralConvergence;
    expect(fsc[32]!).toBeLessThan(fsc[4]!);
    expect(fsc[32]!).toBeLessThan(fsc[16]!);
  });

  it('fast Griffin-Lim (momentum 0.99) beats plain Griffin-Lim at equal iterations', () => {
    const f = fast.spectralConvergence[32]!;
    const p = plain.spectralConvergence[32]!;
    expect(f).toBeLessThan(0.7 * p);
    expect(f).toBeLessThan(0.1);
    // The reported figure describes the returned signal.
    expect(fast.signal.length).toBe(x.length);
    const m2 = stftMagnitude(fast.signal, opts);
    expect(relError(m2.data, mag.data)).toBeCloseTo(f, 2);
  });

  it('is deterministic for a seed, differs across seeds, and supports zero initial phase', () => {
    const short = stftMagnitude(x.subarray(0, 8000), opts);
    const a = griffinLim(short, { ...opts, iterations: 4, seed: 7 });
    const b = griffinLim(short, { ...opts, iterations: 4, seed: 7 });
    const c = griffinLim(short, { ...opts, iterations: 4, seed: 8 });
    expect(Array.from(a.signal)).toEqual(Array.from(b.signal));
    expect(relError(a.signal, c.signal)).toBeGreaterThan(0.01);
    const z = griffinLim(short, { ...opts, iterations: 4, init: 'zeros' });
    const z2 = griffinLim(short, { ...opts, iterations: 4, init: 'zeros', seed: 99 });
    expect(Array.from(z.signal)).toEqual(Array.from(z2.signal));
    expect(z.spectralConvergence[4]!).toBeLessThan(z.spectralConvergence[0]!);
    const calls: number[] = [];
    griffinLim(short, { ...opts, iterations: 2, onIteration: (i, s) => calls.push(i, s) });
    expect(calls.filter((_, i) => i % 2 === 0)).toEqual([0, 1, 2]);
  });

  it('starts from the phase of a given spectrum (refining one), not its magnitude', () => {
    // A whole number of hops, so the signal Griffin-Lim synthesises has the original's frames exactly.
    const seg = x.subarray(0, 64 * opts.hopLength);
    const short = stftMagnitude(seg, opts);
    const spec = stft(seg, opts);
    // The true phase: consistent from the start, and the signal comes back.
    const exact = griffinLim(short, { ...opts, iterations: 2, init: spec, length: seg.length });
    expect(exact.spectralConvergence[0]!).toBeLessThan(1e-4);
    expect(relError(exact.signal, seg)).toBeLessThan(1e-3);
    // Its magnitude is ignored: a spectrum scaled by 10 gives the same result.
    const loud = { ...spec, re: spec.re.map((v) => 10 * v), im: spec.im.map((v) => 10 * v) };
    const same = griffinLim(short, { ...opts, iterations: 2, init: loud, length: seg.length });
    expect(relError(same.signal, exact.signal)).toBeLessThan(1e-5);
    // A perturbed phase (±0.9 rad) is a better start than a random one, and the projections improve it.
    const rnd = lcg(5);
    const re = new Float32Array(spec.re.length);
    const im = new Float32Array(spec.im.length);
    for (let i = 0; i < re.length; i++) {
      const d = 1.8 * (rnd() - 0.5);
      re[i] = spec.re[i]! * Math.cos(d) - spec.im[i]! * Math.sin(d);
      im[i] = spec.re[i]! * Math.sin(d) + spec.im[i]! * Math.cos(d);
    }
    const noisy: ComplexSpectrogram = { frames: spec.frames, bins: spec.bins, re, im };
    const warm = griffinLim(short, { ...opts, iterations: 4, init: noisy });
    const cold = griffinLim(short, { ...opts, iterations: 4 });
    expect(warm.spectralConvergence[0]!).toBeLessThan(0.7 * cold.spectralConvergence[0]!);
    expect(warm.spectralConvergence[4]!).toBeLessThan(0.7 * warm.spectralConvergence[0]!);
    expect(warm.spectralConvergence[4]!).toBeLessThan(cold.spectralConvergence[4]!);
    // Zero bins start at phase 0; deterministic, and the seed plays no part.
    const zeros = { ...spec, re: new Float32Array(spec.re.length), im: new Float32Array(spec.im.length) };
    const z = griffinLim(short, { ...opts, iterations: 2, init: zeros });
    const z0 = griffinLim(short, { ...opts, iterations: 2, init: 'zeros', seed: 3 });
    expect(Array.from(z.signal)).toEqual(Array.from(z0.signal));
    expect(() => griffinLim(short, { ...opts, init: { ...spec, frames: spec.frames - 1 } })).toThrow(
      /init spectrum must be/,
    );
    expect(() => griffinLim(short, { ...opts, init: 'noise' as 'random' })).toThrow(/init must be/);
  });

  it('validates arguments', () => {
    expect(() => griffinLim(mag, { nFft: 1024 })).toThrow(/bins/);
    expect(() => griffinLim(mag, { ...opts, momentum: -1 })).toThrow(/momentum/);
    expect(() => griffinLim(mag, { ...opts, iterations: 1.5 })).toThrow(/iterations/);
  });
});
