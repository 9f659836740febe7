/**
 * Delay estimation by FFT cross-correlation, and alignment of two signals to their common overlap.
 * Used to compensate the latency of peer denoisers before sample-wise metrics (SI-SDR, segSNR).
 */
import { getFft } from '../spectrogram/fft.ts';
import { checkSignal } from './check.ts';

export interface DelayOptions {
  /** Largest |delay| searched, in samples. Default: every lag the two lengths allow. */
  maxLag?: number;
}

export interface DelayEstimate {
  /** Integer lag d maximising Σ reference[n]·other[n + d]; positive when `other` lags behind. */
  delay: number;
  /** `delay` refined by a parabola through the peak and its neighbours (sub-sample). */
  fractionalDelay: number;
  /** Peak correlation divided by √(‖reference‖²‖other‖²), in [−1, 1]; near 1 for a clean copy. */
  correlation: number;
}

export interface AlignOptions extends DelayOptions {
  /** Use this lag instead of estimating it (e.g. one measured once for a device). */
  delay?: number;
}

export interface Aligned {
  /** The overlapping part of the reference. */
  reference: Float32Array;
  /** The matching part of `other`: other[n + delay] for each kept reference sample n. */
  other: Float32Array;
  delay: number;
}

export function estimateDelay(
  reference: Float32Array,
  other: Float32Array,
  options: DelayOptions = {},
): DelayEstimate {
  checkSignal(reference, 'reference');
  checkSignal(other, 'other');
  if (reference.length === 0) throw new RangeError('reference must not be empty');
  if (other.length === 0) throw new RangeError('other must not be empty');
  const nr = reference.length;
  const no = other.length;
  const maxLag = options.maxLag ?? Math.max(nr, no);
  if (!Number.isInteger(maxLag) || maxLag < 0)
    throw new RangeError(`options.maxLag must be a non-negative integer, got ${maxLag}`);

  // Zero-pad to a power of two ≥ nr + no − 1 so the circular correlation equals the linear one.
  let size = 1;
  while (size < nr + no - 1) size <<= 1;
  const fft = getFft(size);
  const bins = (size >> 1) + 1;
  const ar = new Float64Array(bins);
  const ai = new Float64Array(bins);
  const br = new Float64Array(bins);
  const bi = new Float64Array(bins);
  fft.forwardReal(reference, ar, ai);
  fft.forwardReal(other, br, bi);
  // conj(A)·B → r[l] = Σ a[n] b[n + l], lag l at index l mod size.
  for (let k = 0; k < bins; k++) {
    const re = ar[k]! * br[k]! + ai[k]! * bi[k]!;
    const im = ar[k]! * bi[k]! - ai[k]! * br[k]!;
    ar[k] = re;
    ai[k] = im;
  }
  const r = new Float64Array(size);
  fft.inverseReal(ar, ai, r);
  const at = (lag: number): number => r[(lag + size) % size]!;

  const lo = -Math.min(nr - 1, maxLag);
  const hi = Math.min(no - 1, maxLag);
  let best = lo;
  for (let l = lo + 1; l <= hi; l++) if (at(l) > at(best)) best = l;

  let fractionalDelay = best;
  if (best > lo && best < hi) {
    const y0 = at(best - 1);
    const y1 = at(best);
    const y2 = at(best + 1);
    const den = y0 - 2 * y1 + y2;
    if (den < 0) fractionalDelay = best + (0.5 * (y0 - y2)) / den;
  }
  let er = 0;
  let eo = 0;
  for (const v of reference) er += v * v;
  for (const v of other) eo += v * v;
  const norm = Math.sqrt(er * eo);
  return { delay: best, fractionalDelay, correlation: norm > 0 ? at(best) / norm : 0 };
}

/** Shifts `other` by the estimated (or given) delay and trims both to their common overlap. */
export function alignSignals(
  reference: Float32Array,
  other: Float32Array,
  options: AlignOptions = {},
): Aligned {
  checkSignal(reference, 'reference');
  checkSignal(other, 'other');
  let delay: number;
  if (options.delay !== undefined) {
    if (!Number.isInteger(options.delay))
      throw new RangeError(`options.delay must be an integer, got ${options.delay}`);
    delay = options.delay;
  } else {
    delay = estimateDelay(reference, other, options).delay;
  }
  // Reference samples n with 0 ≤ n < nr and 0 ≤ n + delay < no.
  const start = Math.max(0, -delay);
  const end = Math.min(reference.length, other.length - delay);
  if (end <= start) return { reference: new Float32Array(0), other: new Float32Array(0), delay };
  return {
    reference: reference.slice(start, end),
    other: other.slice(start + delay, end + delay),
    delay,
  };
}
