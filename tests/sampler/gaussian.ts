/**
 * Test fixture: data x0 ~ N(mu, s²) independently per element. For x = α·x0 + σ·ε the optimal
 * denoiser is E[x0 | x] = mu + α s²/(α² s² + σ²)·(x − α mu), and the probability-flow ODE keeps the
 * standardised value z = (x − α mu)/sqrt(α² s² + σ²) constant, so its exact solution from level a
 * to level b is x_b = α_b mu + sqrt(α_b² s² + σ_b²)·z_a.
 */
import type { Denoiser, NoiseLevel, Parameterisation, TimeInput } from '../../src/sampler/index.ts';
import { fromX0 } from '../../src/sampler/index.ts';

export const MU = 0.3;
export const S = 0.5;

export function exactX0(x: number, alpha: number, sigma: number, mu = MU, s = S): number {
  return mu + ((alpha * s * s) / (alpha * alpha * s * s + sigma * sigma)) * (x - alpha * mu);
}

/** The optimal denoiser, answering in the given parameterisation. */
export function gaussianDenoiser(kind: Parameterisation, sigmaData = 0.5, mu = MU, s = S): Denoiser {
  return async (x: Float32Array, t: TimeInput) => {
    // The model sees c_in·x for EDM levels; undo it to get the state.
    const x0 = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) x0[i] = exactX0(x[i], t.alpha, t.sigma, mu, s);
    return fromX0(kind, x0, x, { alpha: t.alpha, sigma: t.sigma, sigmaData });
  };
}

export function exactOde(xa: number, a: NoiseLevel, b: NoiseLevel, mu = MU, s = S): number {
  const z = (xa - a.alpha * mu) / Math.sqrt(a.alpha * a.alpha * s * s + a.sigma * a.sigma);
  return b.alpha * mu + Math.sqrt(b.alpha * b.alpha * s * s + b.sigma * b.sigma) * z;
}

/** Least-squares slope of log(err) against log(1/steps): the empirical order of convergence. */
export function fitOrder(steps: number[], errs: number[]): number {
  const xs = steps.map((n) => Math.log(n));
  const ys = errs.map((e) => Math.log(e));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return -num / den;
}

export function meanVar(x: Float32Array): { mean: number; variance: number } {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length;
  let v2 = 0;
  for (const v of x) v2 += (v - m) ** 2;
  return { mean: m, variance: v2 / (x.length - 1) };
}
