/**
 * Mel → linear-frequency inversion: for each frame, a non-negative x with M·x ≈ y (M the
 * filterbank), like librosa.feature.inverse.mel_to_stft. Start from the ridge-regularised
 * pseudo-inverse clamped at 0, then run accelerated projected-gradient steps (FISTA with the
 * projection onto x ≥ 0) on ½‖M·x − y‖².
 */
import type { MelFilterbank } from './mel.ts';
import type { Spectrogram } from './stft.ts';

export interface MelInversionOptions {
  /** The exponent the mel spectrogram was built with: 2 = power (default), 1 = amplitude. */
  power?: number;
  /** Projected-gradient iterations after the pseudo-inverse; 0 = clamped pseudo-inverse only. Default 16. */
  iterations?: number;
}

/** Cholesky factor (lower, row-major) of a symmetric positive-definite n × n matrix, in place. */
function cholesky(a: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= a[j * n + k]! ** 2;
    const ljj = Math.sqrt(Math.max(d, 1e-300));
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = s / ljj;
    }
    for (let k = j + 1; k < n; k++) a[j * n + k] = 0;
  }
}

/** Solves L·Lᵀ·z = b in place in b. */
function cholSolve(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * b[k]!;
    b[i] = s / l[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * b[k]!;
    b[i] = s / l[i * n + i]!;
  }
}

/** Returns |X| (amplitude, frames × bins) whose mel projection best matches `mel` (frames × nMels). */
export function melToLinear(
  mel: Spectrogram,
  fb: MelFilterbank,
  options: MelInversionOptions = {},
): Spectrogram {
  if (mel === null || typeof mel !== 'object' || !(mel.data instanceof Float32Array))
    throw new TypeError('mel must be a Spectrogram');
  if (fb === null || typeof fb !== 'object' || !(fb.weights instanceof Float32Array))
    throw new TypeError('fb must be a MelFilterbank');
  if (mel.bins !== fb.nMels) throw new RangeError(`mel has ${mel.bins} bands but fb has ${fb.nMels} filters`);
  const power = options.power ?? 2;
  if (!(Number.isFinite(power) && power > 0)) throw new RangeError(`power must be > 0, got ${power}`);
  const iterations = options.iterations ?? 16;
  if (!Number.isInteger(iterations) || iterations < 0)
    throw new RangeError(`iterations must be a non-negative integer, got ${iterations}`);

  const { nMels, bins, ranges } = fb;
  const w = Float64Array.from(fb.weights);
  const lo = (m: number) => ranges[2 * m]!;
  const hi = (m: number) => ranges[2 * m + 1]!;

  // G = M·Mᵀ (filters overlap only neighbours, but nMels² is small either way).
  const g = new Float64Array(nMels * nMels);
  let trace = 0;
  for (let i = 0; i < nMels; i++) {
    for (let j = i; j < nMels; j++) {
      let s = 0;
      const a = Math.max(lo(i), lo(j));
      const b = Math.min(hi(i), hi(j));
      for (let k = a; k < b; k++) s += w[i * bins + k]! * w[j * bins + k]!;
      g[i * nMels + j] = s;
      g[j * nMels + i] = s;
    }
    trace += g[i * nMels + i]!;
  }
  // Lipschitz constant of the gradient: the largest eigenvalue of G, by power iteration.
  let v = new Float64Array(nMels).fill(1 / Math.sqrt(nMels));
  let lipschitz = 0;
  for (let it = 0; it < 100; it++) {
    const u = new Float64Array(nMels);
    for (let i = 0; i < nMels; i++) {
      let s = 0;
      for (let j = 0; j < nMels; j++) s += g[i * nMels + j]! * v[j]!;
      u[i] = s;
    }
    let norm = 0;
    for (const x of u) norm += x * x;
    norm = Math.sqrt(norm);
    if (norm === 0) break;
    const converged = Math.abs(norm - lipschitz) < 1e-9 * norm;
    lipschitz = norm;
    for (let i = 0; i < nMels; i++) u[i] = u[i]! / norm;
    v = u;
    if (converged) break;
  }
  // A small ridge keeps empty or duplicate filters (many mels, small nFft) from making G singular.
  const ridge = Math.max(1e-10 * (trace / nMels), 1e-300);
  for (let i = 0; i < nMels; i++) g[i * nMels + i] = g[i * nMels + i]! + ridge;
  cholesky(g, nMels);

  const { frames } = mel;
  const out = new Float32Array(frames * bins);
  const y = new Float64Array(nMels);
  const z = new Float64Array(nMels);
  const x = new Float64Array(bins);
  const xPrev = new Float64Array(bins);
  const pt = new Float64Array(bins);
  const r = new Float64Array(nMels);
  const step = lipschitz > 0 ? 1 / lipschitz : 0;
  for (let f = 0; f < frames; f++) {
    for (let m = 0; m < nMels; m++) y[m] = mel.data[f * nMels + m]!;
    z.set(y);
    cholSolve(g, nMels, z);
    x.fill(0);
    for (let m = 0; m < nMels; m++) {
      const zm = z[m]!;
      for (let k = lo(m); k < hi(m); k++) x[k] += w[m * bins + k]! * zm;
    }
    for (let k = 0; k < bins; k++) if (x[k]! < 0) x[k] = 0;
    // FISTA: gradient step at the extrapolated point pt, then project onto x ≥ 0.
    xPrev.set(x);
    let t = 1;
    for (let it = 0; it < iterations && step > 0; it++) {
      const tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
      const beta = (t - 1) / tNext;
      for (let k = 0; k < bins; k++) pt[k] = x[k]! + beta * (x[k]! - xPrev[k]!);
      for (let m = 0; m < nMels; m++) {
        let s = -y[m]!;
        for (let k = lo(m); k < hi(m); k++) s += w[m * bins + k]! * pt[k]!;
        r[m] = s;
      }
      xPrev.set(x);
      x.set(pt);
      for (let m = 0; m < nMels; m++) {
        const rm = step * r[m]!;
        if (rm === 0) continue;
        for (let k = lo(m); k < hi(m); k++) x[k] -= w[m * bins + k]! * rm;
      }
      for (let k = 0; k < bins; k++) if (x[k]! < 0) x[k] = 0;
      t = tNext;
    }
    const inv = 1 / power;
    for (let k = 0; k < bins; k++)
      out[f * bins + k] = power === 1 ? x[k]! : power === 2 ? Math.sqrt(x[k]!) : x[k]! ** inv;
  }
  return { frames, bins, data: out };
}
