/**
 * Noise schedules. Discrete β schedules follow diffusers' formulas (computed here in float64;
 * diffusers computes them in float32, so values agree to float32 precision), continuous σ
 * schedules follow k-diffusion. Every function validates its arguments.
 */
import type { NoiseLevel } from './types.ts';

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2' | 'sigmoid';
export type TimestepSpacing = 'leading' | 'linspace' | 'trailing';

function checkCount(n: number, name: string): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`);
}

function checkPositive(v: number, name: string): void {
  if (!(v > 0) || !Number.isFinite(v))
    throw new RangeError(`${name} must be a positive finite number, got ${v}`);
}

/** numpy.linspace(start, stop, num): step = (stop-start)/(num-1), y_i = i·step + start, y_last = stop. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/** numpy.round: round half to even. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * β_1..β_N. linear: linspace(β0, β1, N); scaled_linear: linspace(√β0, √β1, N)²;
 * squaredcos_cap_v2: β_i = min(1 − ᾱ((i+1)/N)/ᾱ(i/N), 0.999), ᾱ(t) = cos²((t+0.008)/1.008·π/2)
 * (Nichol & Dhariwal 2021, diffusers betas_for_alpha_bar); sigmoid: sigmoid(linspace(−6, 6, N))·(β1−β0)+β0.
 */
export function betaSchedule(
  kind: BetaSchedule,
  n: number,
  betaStart = 0.0001,
  betaEnd = 0.02,
): Float64Array {
  checkCount(n, 'n');
  switch (kind) {
    case 'linear':
      return linspace(betaStart, betaEnd, n);
    case 'scaled_linear':
      return linspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), n).map((v) => v * v);
    case 'squaredcos_cap_v2': {
      const abar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.min(1 - abar((i + 1) / n) / abar(i / n), 0.999);
      return out;
    }
    case 'sigmoid':
      return linspace(-6, 6, n).map((v) => (1 / (1 + Math.exp(-v))) * (betaEnd - betaStart) + betaStart);
  }
  throw new TypeError(
    `beta schedule must be linear, scaled_linear, squaredcos_cap_v2 or sigmoid, got ${String(kind)}`,
  );
}

/** ᾱ_t = Π_{s≤t} (1 − β_s). */
export function alphasCumprod(betas: ArrayLike<number>): Float64Array {
  const out = new Float64Array(betas.length);
  let p = 1;
  for (let i = 0; i < betas.length; i++) {
    p *= 1 - betas[i];
    out[i] = p;
  }
  return out;
}

/**
 * Zero-terminal-SNR rescale (Lin et al. 2024, Algorithm 1): shift √ᾱ so its last value is 0,
 * scale so its first is unchanged, then recover β.
 */
export function rescaleZeroTerminalSnr(betas: ArrayLike<number>): Float64Array {
  const ac = alphasCumprod(betas);
  const s = ac.map(Math.sqrt);
  const first = s[0];
  const last = s[s.length - 1];
  for (let i = 0; i < s.length; i++) s[i] = ((s[i] - last) * first) / (first - last);
  const out = new Float64Array(betas.length);
  let prev = 1;
  for (let i = 0; i < s.length; i++) {
    const a = s[i] * s[i];
    out[i] = 1 - (i === 0 ? a : a / prev);
    prev = a;
  }
  return out;
}

/**
 * Inference timesteps (descending) as diffusers' DDIM/DDPM `set_timesteps`:
 *   linspace: round(linspace(0, N−1, steps))           reversed
 *   leading:  round(arange(steps)·(N // steps)) + steps_offset   reversed
 *   trailing: round(arange(N, 0, −N/steps)) − 1
 * `round` is numpy's half-to-even. Euler-family schedulers use `eulerTimesteps` (no rounding for linspace).
 */
export function spacedTimesteps(
  spacing: TimestepSpacing,
  trainSteps: number,
  steps: number,
  stepsOffset = 0,
): number[] {
  checkCount(trainSteps, 'trainSteps');
  checkCount(steps, 'steps');
  if (steps > trainSteps) throw new RangeError(`steps (${steps}) must not exceed trainSteps (${trainSteps})`);
  if (spacing === 'linspace') return [...linspace(0, trainSteps - 1, steps)].map(roundHalfEven).reverse();
  if (spacing === 'leading') {
    const ratio = Math.floor(trainSteps / steps);
    return Array.from({ length: steps }, (_, i) => roundHalfEven(i * ratio) + stepsOffset).reverse();
  }
  if (spacing === 'trailing')
    return arangeDown(trainSteps, trainSteps / steps).map((v) => roundHalfEven(v) - 1);
  throw new TypeError(`spacing must be leading, linspace or trailing, got ${String(spacing)}`);
}

/** numpy.arange(start, 0, −step): start − i·step while > 0. */
export function arangeDown(start: number, step: number): number[] {
  const len = Math.ceil(start / step);
  return Array.from({ length: len }, (_, i) => start + i * -step);
}

/** Euler/Heun/Euler-ancestral spacing: like spacedTimesteps but linspace keeps fractional timesteps. */
export function eulerTimesteps(
  spacing: TimestepSpacing,
  trainSteps: number,
  steps: number,
  stepsOffset = 0,
): number[] {
  if (spacing === 'linspace') {
    checkCount(steps, 'steps');
    return [...linspace(0, trainSteps - 1, steps)].reverse();
  }
  return spacedTimesteps(spacing, trainSteps, steps, stepsOffset);
}

/** VE sigma of a VP schedule: σ = sqrt((1−ᾱ)/ᾱ). */
export function vpSigmas(alphasCumprod: ArrayLike<number>): Float64Array {
  const out = new Float64Array(alphasCumprod.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt((1 - alphasCumprod[i]) / alphasCumprod[i]);
  return out;
}

/** numpy.interp on a uniform grid 0..n−1 (clamped at the ends). */
export function interpUniform(x: number, values: ArrayLike<number>): number {
  if (x <= 0) return values[0];
  const last = values.length - 1;
  if (x >= last) return values[last];
  const i = Math.floor(x);
  const w = x - i;
  return values[i] + w * (values[i + 1] - values[i]);
}

/**
 * diffusers `_sigma_to_t`: piecewise-linear interpolation of the timestep in log σ over the
 * training schedule (log σ ascending with t).
 */
export function sigmaToT(sigma: number, logSigmas: ArrayLike<number>): number {
  const ls = Math.log(Math.max(sigma, 1e-10));
  const n = logSigmas.length;
  let count = 0;
  // cumsum(dists >= 0).argmax(): the last index whose log σ ≤ ls (first index of the max count).
  let lowIdx = 0;
  for (let i = 0; i < n; i++) {
    if (ls - logSigmas[i] >= 0) {
      count++;
      lowIdx = i;
    }
  }
  if (count === 0) lowIdx = 0;
  lowIdx = Math.min(lowIdx, n - 2);
  const low = logSigmas[lowIdx];
  const high = logSigmas[lowIdx + 1];
  let w = (low - ls) / (low - high);
  w = Math.min(1, Math.max(0, w));
  return (1 - w) * lowIdx + w * (lowIdx + 1);
}

/** Karras et al. (2022) eq. 5: (σmax^{1/ρ} + i/(n−1)·(σmin^{1/ρ} − σmax^{1/ρ}))^ρ, descending, n values. */
export function karrasSigmas(n: number, sigmaMin: number, sigmaMax: number, rho = 7): number[] {
  checkCount(n, 'n');
  checkPositive(sigmaMin, 'sigmaMin');
  checkPositive(sigmaMax, 'sigmaMax');
  checkPositive(rho, 'rho');
  const a = sigmaMax ** (1 / rho);
  const b = sigmaMin ** (1 / rho);
  return [...linspace(0, 1, n)].map((r) => (a + r * (b - a)) ** rho);
}

/** exp(linspace(ln σmax, ln σmin, n)). */
export function exponentialSigmas(n: number, sigmaMin: number, sigmaMax: number): number[] {
  checkCount(n, 'n');
  checkPositive(sigmaMin, 'sigmaMin');
  checkPositive(sigmaMax, 'sigmaMax');
  return [...linspace(Math.log(sigmaMax), Math.log(sigmaMin), n)].map(Math.exp);
}

/** k-diffusion polyexponential: exp(linspace(1, 0, n)^ρ·(ln σmax − ln σmin) + ln σmin). */
export function polyexponentialSigmas(n: number, sigmaMin: number, sigmaMax: number, rho = 1): number[] {
  checkCount(n, 'n');
  checkPositive(sigmaMin, 'sigmaMin');
  checkPositive(sigmaMax, 'sigmaMax');
  checkPositive(rho, 'rho');
  const lmin = Math.log(sigmaMin);
  const lmax = Math.log(sigmaMax);
  return [...linspace(1, 0, n)].map((r) => Math.exp(r ** rho * (lmax - lmin) + lmin));
}

/** Continuous VP (Song et al. 2021) as σ = sqrt(exp(β_d t²/2 + β_min t) − 1), t = linspace(1, ε_s, n). */
export function vpContinuousSigmas(n: number, betaD = 19.9, betaMin = 0.1, epsS = 1e-3): number[] {
  checkCount(n, 'n');
  return [...linspace(1, epsS, n)].map((t) => Math.sqrt(Math.expm1((betaD * t * t) / 2 + betaMin * t)));
}

/** Rectified-flow timestep shift (SD3): shift·t / (1 + (shift − 1)·t). */
export function flowShift(t: number, shift: number): number {
  checkPositive(shift, 'shift');
  return (shift * t) / (1 + (shift - 1) * t);
}

/** Resolution-dependent shift (Flux, diffusers time_shift exponential): e^μ / (e^μ + (1/t − 1)^s). */
export function flowTimeShift(t: number, mu: number, s = 1): number {
  if (t <= 0) return 0;
  return Math.exp(mu) / (Math.exp(mu) + (1 / t - 1) ** s);
}

/** Formulations turn a σ list into native noise levels. */
export type Formulation = 'vp' | 've' | 'edm' | 'flow';

export interface LevelOptions {
  /** EDM σ_data (default 0.5). */
  sigmaData?: number;
  /** The model's time value per level; defaults: vp/ve → σ, edm → ln(σ)/4, flow → t·1000. */
  timeOf?: (sigma: number, index: number) => number;
}

/**
 * Native levels from a σ list. `vp`: σ is the VE sigma σ̃ = σ/α of a variance-preserving model
 * (α = 1/√(σ̃²+1)); `ve`/`edm`: α = 1; `flow`: σ is the flow time t ∈ [0, 1] (α = 1 − t).
 */
export function levelsFromSigmas(
  formulation: Formulation,
  sigmas: readonly number[],
  opts: LevelOptions = {},
): NoiseLevel[] {
  return sigmas.map((s, i) => {
    if (!(s >= 0) || !Number.isFinite(s))
      throw new RangeError(`sigmas[${i}] must be finite and ≥ 0, got ${s}`);
    switch (formulation) {
      case 'vp': {
        const alpha = 1 / Math.sqrt(s * s + 1);
        return { alpha, sigma: s * alpha, t: opts.timeOf ? opts.timeOf(s, i) : s };
      }
      case 've':
        return { alpha: 1, sigma: s, t: opts.timeOf ? opts.timeOf(s, i) : s };
      case 'edm': {
        const sd = opts.sigmaData ?? 0.5;
        return {
          alpha: 1,
          sigma: s,
          t: opts.timeOf ? opts.timeOf(s, i) : s > 0 ? Math.log(s) / 4 : 0,
          cIn: 1 / Math.sqrt(s * s + sd * sd),
        };
      }
      case 'flow':
        if (s > 1) throw new RangeError(`flow sigmas must lie in [0, 1], got ${s} at ${i}`);
        return { alpha: 1 - s, sigma: s, t: opts.timeOf ? opts.timeOf(s, i) : s * 1000 };
    }
    throw new TypeError(`formulation must be vp, ve, edm or flow, got ${String(formulation)}`);
  });
}

/** σ̃ = σ/α: the VE ("k-diffusion") sigma of a level; +∞ when α = 0. */
export function veSigma(level: NoiseLevel): number {
  return level.alpha > 0 ? level.sigma / level.alpha : Number.POSITIVE_INFINITY;
}

/** log-SNR λ = ln(α/σ). */
export function logSnr(level: NoiseLevel): number {
  return Math.log(level.alpha) - Math.log(level.sigma);
}
