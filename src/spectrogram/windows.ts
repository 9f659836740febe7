/**
 * Analysis/synthesis windows. `periodic` windows (the default, as in torch and librosa's
 * `fftbins=True`) are the first N samples of an (N+1)-point symmetric window: they tile exactly
 * under overlap-add, which is what spectral analysis wants. Symmetric windows suit filter design.
 */

export type WindowName = 'hann' | 'hamming' | 'blackman' | 'kaiser' | 'rectangular';

/** A window by name with options, or explicit samples. */
export type WindowSpec =
  | WindowName
  | { type: WindowName; periodic?: boolean; beta?: number }
  | Float32Array
  | Float64Array;

function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 1)
    throw new RangeError(`length must be a positive integer, got ${length}`);
}

/** Generalised cosine window Σ (-1)^k a_k cos(2πkn/M), M = N (periodic) or N-1 (symmetric). */
function cosineSum(length: number, periodic: boolean, coeffs: readonly number[]): Float64Array {
  checkLength(length);
  const w = new Float64Array(length);
  if (length === 1) {
    w[0] = 1;
    return w;
  }
  const m = periodic ? length : length - 1;
  for (let n = 0; n < length; n++) {
    let v = 0;
    let sign = 1;
    for (let k = 0; k < coeffs.length; k++) {
      v += sign * coeffs[k]! * Math.cos((2 * Math.PI * k * n) / m);
      sign = -sign;
    }
    w[n] = v;
  }
  return w;
}

export function hann(length: number, periodic = true): Float64Array {
  return cosineSum(length, periodic, [0.5, 0.5]);
}

export function hamming(length: number, periodic = true): Float64Array {
  return cosineSum(length, periodic, [0.54, 0.46]);
}

/** The classic Blackman window (a0 = 0.42, a1 = 0.5, a2 = 0.08), as torch and scipy define it. */
export function blackman(length: number, periodic = true): Float64Array {
  const w = cosineSum(length, periodic, [0.42, 0.5, 0.08]);
  // The formula gives -1.4e-17 at the ends; windows are non-negative.
  for (let i = 0; i < w.length; i++) if (w[i]! < 0) w[i] = 0;
  return w;
}

/** Modified Bessel function of the first kind, order 0, by its power series (converges for all x). */
export function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Kaiser window I0(β√(1-(2n/M-1)²))/I0(β). torch's default β is 12. */
export function kaiser(length: number, beta = 12, periodic = true): Float64Array {
  checkLength(length);
  if (!Number.isFinite(beta) || beta < 0) throw new RangeError(`beta must be ≥ 0, got ${beta}`);
  const w = new Float64Array(length);
  if (length === 1) {
    w[0] = 1;
    return w;
  }
  const m = periodic ? length : length - 1;
  const denom = besselI0(beta);
  for (let n = 0; n < length; n++) {
    const r = (2 * n) / m - 1;
    w[n] = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / denom;
  }
  return w;
}

export function rectangular(length: number): Float64Array {
  checkLength(length);
  return new Float64Array(length).fill(1);
}

/** Builds the window described by `spec` with `length` samples (explicit samples must match it). */
export function makeWindow(spec: WindowSpec, length: number): Float64Array {
  checkLength(length);
  if (spec instanceof Float32Array || spec instanceof Float64Array) {
    if (spec.length !== length)
      throw new RangeError(`window has ${spec.length} samples, expected win length ${length}`);
    return Float64Array.from(spec);
  }
  const { type, periodic = true, beta = 12 } = typeof spec === 'string' ? { type: spec } : spec;
  switch (type) {
    case 'hann':
      return hann(length, periodic);
    case 'hamming':
      return hamming(length, periodic);
    case 'blackman':
      return blackman(length, periodic);
    case 'kaiser':
      return kaiser(length, beta, periodic);
    case 'rectangular':
      return rectangular(length);
    default:
      throw new RangeError(
        `window must be hann, hamming, blackman, kaiser or rectangular, got ${String(type)}`,
      );
  }
}

export interface ColaResult {
  /** True when the overlap-added sum varies by less than `tolerance` (relative to its mean). */
  cola: boolean;
  /** Mean of the steady-state overlap-added sum (e.g. 2 for periodic Hann at hop N/4, N/(2·hop) in general). */
  value: number;
  /** max |sum − mean| / mean over one hop period. */
  deviation: number;
  /** Smallest steady-state sum: iSTFT can normalise only where this is > 0 (the NOLA condition). */
  minimum: number;
}

/**
 * Constant-overlap-add check of `window` at `hop`: Σ_m w(n − m·hop) is constant in n.
 * `power: 2` checks the squared window instead, the condition for plain weighted overlap-add
 * synthesis (analysis and synthesis both windowed) to be exact without normalisation.
 */
export function checkCola(
  window: ArrayLike<number>,
  hop: number,
  options: { power?: 1 | 2; tolerance?: number } = {},
): ColaResult {
  const n = window.length;
  if (n < 1) throw new RangeError('window must have at least one sample');
  if (!Number.isInteger(hop) || hop < 1 || hop > n)
    throw new RangeError(`hop must be an integer in 1..${n}, got ${hop}`);
  const power = options.power ?? 1;
  const tolerance = options.tolerance ?? 1e-10;
  // Fold every sample into one hop period: that is the steady-state overlap-add sum.
  const sums = new Float64Array(hop);
  for (let i = 0; i < n; i++) {
    const v = window[i]!;
    sums[i % hop] += power === 2 ? v * v : v;
  }
  let mean = 0;
  let minimum = Number.POSITIVE_INFINITY;
  for (const s of sums) {
    mean += s;
    minimum = Math.min(minimum, s);
  }
  mean /= hop;
  let dev = 0;
  for (const s of sums) dev = Math.max(dev, Math.abs(s - mean));
  const deviation = mean > 0 ? dev / mean : Number.POSITIVE_INFINITY;
  return { cola: deviation < tolerance, value: mean, deviation, minimum };
}
