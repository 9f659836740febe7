/**
 * First-order samplers. With x0̂ the model's data estimate and ε̂ = (x − α·x0̂)/σ:
 *   DDIM(η):  x' = α'·x0̂ + sqrt(σ'² − s²)·ε̂ + s·z,  s² = η²·σ'²·σ²_{t|s}/σ²,  σ²_{t|s} = σ² − (α/α')²σ'²
 *             (Song et al. 2021 eq. 16 written for any (α, σ) process; η = 1 is DDPM's posterior).
 *   Euler:    k-diffusion's Euler on x/α against σ/α, which is the same update as DDIM(0).
 *   DDPM:     posterior mean (α_{t|s}σ'²/σ²)·x + (α'σ²_{t|s}/σ²)·x0̂ plus sqrt(σ²_{t|s}σ'²/σ²)·z (Ho et al. 2020).
 *   Euler ancestral: σ̃ = σ/α; σ_up = min(σ̃', η·σ̃'·sqrt(1 − σ̃'²/σ̃²)), σ_down = sqrt(σ̃'² − σ_up²);
 *             x' = α'·(x0̂ + σ_down·ε̂ + σ_up·z)  (k-diffusion sample_euler_ancestral).
 *   Flow Euler: y = x/(α+σ), u = σ/(α+σ): y' = y + (u' − u)·v̂, v̂ = (y − x0̂)/u  (rectified flow).
 */
import { combine, type SamplerFn } from './common.ts';

export const ddim: SamplerFn = async (x, levels, rt) => {
  const eta = rt.settings.eta ?? 0;
  const sNoise = rt.settings.sNoise ?? 1;
  for (let i = 0; i < levels.length - 1; i++) {
    const a = levels[i];
    const b = levels[i + 1];
    const x0 = await rt.predict(x, a);
    // Write x' = cx·x + c0·x0 + cz·z with ε̂ folded into cx and c0.
    const ratio = a.alpha > 0 ? (b.alpha > 0 ? a.alpha / b.alpha : Number.POSITIVE_INFINITY) : 0;
    const condVar = Math.max(0, a.sigma * a.sigma - ratio * ratio * b.sigma * b.sigma);
    const s =
      eta > 0 && b.sigma > 0 ? eta * Math.sqrt((condVar * b.sigma * b.sigma) / (a.sigma * a.sigma)) : 0;
    const dir = Math.sqrt(Math.max(0, b.sigma * b.sigma - s * s));
    const cx = dir / a.sigma;
    const c0 = b.alpha - cx * a.alpha;
    combine(x, cx, x0, c0, s > 0 ? rt.noise() : undefined, s * sNoise);
    rt.endStep(i, x, x0);
  }
  return x;
};

export const euler: SamplerFn = async (x, levels, rt) => {
  for (let i = 0; i < levels.length - 1; i++) {
    const a = levels[i];
    const b = levels[i + 1];
    const x0 = await rt.predict(x, a);
    const cx = b.sigma / a.sigma;
    combine(x, cx, x0, b.alpha - cx * a.alpha);
    rt.endStep(i, x, x0);
  }
  return x;
};

export const ddpm: SamplerFn = async (x, levels, rt) => {
  const sNoise = rt.settings.sNoise ?? 1;
  for (let i = 0; i < levels.length - 1; i++) {
    const a = levels[i];
    const b = levels[i + 1];
    const x0 = await rt.predict(x, a);
    if (b.sigma === 0) {
      combine(x, 0, x0, b.alpha);
    } else {
      // α_{t|s} = α_t/α_s, σ²_{t|s} = σ_t² − α_{t|s}²σ_s² (Kingma et al. 2021, eq. 5).
      const ats = b.alpha > 0 ? a.alpha / b.alpha : 0;
      const condVar = Math.max(0, a.sigma * a.sigma - ats * ats * b.sigma * b.sigma);
      const s2 = a.sigma * a.sigma;
      const cx = (ats * b.sigma * b.sigma) / s2;
      const c0 = (b.alpha * condVar) / s2;
      const std = Math.sqrt((condVar * b.sigma * b.sigma) / s2);
      combine(x, cx, x0, c0, std > 0 ? rt.noise() : undefined, std * sNoise);
    }
    rt.endStep(i, x, x0);
  }
  return x;
};

export const eulerAncestral: SamplerFn = async (x, levels, rt) => {
  const eta = rt.settings.eta ?? 1;
  const sNoise = rt.settings.sNoise ?? 1;
  for (let i = 0; i < levels.length - 1; i++) {
    const a = levels[i];
    const b = levels[i + 1];
    const x0 = await rt.predict(x, a);
    if (b.sigma === 0 || b.alpha === 0) {
      combine(x, b.alpha === 0 ? b.sigma / a.sigma : 0, x0, b.alpha === 0 ? 0 : b.alpha);
    } else {
      const sb = b.sigma / b.alpha;
      const q = a.alpha > 0 ? (b.sigma * a.alpha) / (b.alpha * a.sigma) : 0; // σ̃'/σ̃
      const up = Math.min(sb, eta * sb * Math.sqrt(Math.max(0, 1 - q * q)));
      const down = Math.sqrt(Math.max(0, sb * sb - up * up));
      // x' = α'(x0 + down·(x − α x0)/σ + up·z)
      const cx = (b.alpha * down) / a.sigma;
      combine(x, cx, x0, b.alpha - cx * a.alpha, up > 0 ? rt.noise() : undefined, b.alpha * up * sNoise);
    }
    rt.endStep(i, x, x0);
  }
  return x;
};

export const flowEuler: SamplerFn = async (x, levels, rt) => {
  for (let i = 0; i < levels.length - 1; i++) {
    const a = levels[i];
    const b = levels[i + 1];
    const x0 = await rt.predict(x, a);
    const ca = a.alpha + a.sigma;
    const cb = b.alpha + b.sigma;
    const ua = a.sigma / ca;
    const ub = b.sigma / cb;
    // y' = y + (u' − u)(y − x0)/u, then x' = cb·y'.
    const k = (ub - ua) / ua;
    const n = x.length;
    for (let j = 0; j < n; j++) {
      const y = x[j] / ca;
      x[j] = cb * (y + k * (y - x0[j]));
    }
    rt.endStep(i, x, x0);
  }
  return x;
};
