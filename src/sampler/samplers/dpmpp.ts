/**
 * DPM-Solver++ multistep in log-SNR λ = ln(α/σ) with data prediction (Lu et al. 2022), with the
 * SDE variant's η (k-diffusion's dpmpp_2m_sde / dpmpp_3m_sde generalised to any (α, σ) process).
 * With h = λ' − λ, hη = (1 + η)h, D0 = x0̂ at this step:
 *   x' = (σ'/σ)e^{−ηh}·x + α'(1 − e^{−hη})·D0 + [order ≥ 2 terms] + σ'·sqrt(1 − e^{−2ηh})·z
 *   order 2, midpoint: + ½α'(1 − e^{−hη})·D1,       D1 = (D0 − D_{-1})/r0, r0 = h_{-1}/h
 *   order 2, heun:     + α'φ2·D1,                    φ2 = expm1(−hη)/hη + 1
 *   order 3:           + α'(φ2·d1 − φ3·d2),          φ3 = φ2/hη − ½,
 *                      d1 = D1_0 + (D1_0 − D1_1)·r0/(r0 + r1), d2 = (D1_0 − D1_1)/(r0 + r1)
 * Order selection follows diffusers DPMSolverMultistepScheduler (warm-up, lower_order_final when
 * steps < 15, euler_at_final, and first order on a final step to σ = 0).
 */
import type { NoiseLevel } from '../types.ts';
import type { SamplerFn, SamplerRuntime } from './common.ts';

function lambda(l: NoiseLevel): number {
  return Math.log(l.alpha) - Math.log(l.sigma);
}

export function multistepOrder(
  i: number,
  steps: number,
  maxOrder: number,
  warm: number,
  finalToZero: boolean,
  settings: SamplerRuntime['settings'],
): number {
  const lof = settings.lowerOrderFinal ?? true;
  const lowerFinal =
    i === steps - 1 && ((settings.eulerAtFinal ?? false) || (lof && steps < 15) || finalToZero);
  const lowerSecond = i === steps - 2 && lof && steps < 15;
  if (maxOrder === 1 || warm < 1 || lowerFinal) return 1;
  if (maxOrder === 2 || warm < 2 || lowerSecond) return 2;
  return 3;
}

function makeDpmpp(defaultEta: number, defaultOrder: number): SamplerFn {
  return async (x, levels, rt) => {
    const eta = rt.settings.eta ?? defaultEta;
    const maxOrder = rt.settings.order ?? defaultOrder;
    if (![1, 2, 3].includes(maxOrder)) throw new RangeError(`order must be 1, 2 or 3, got ${maxOrder}`);
    const sNoise = rt.settings.sNoise ?? 1;
    const heunType = rt.settings.solverType === 'heun';
    const steps = levels.length - 1;
    const n = x.length;
    let d1prev: Float32Array | undefined; // D_{-1}
    let d2prev: Float32Array | undefined; // D_{-2}
    let h1 = 0;
    let h2 = 0;
    let warm = 0;
    for (let i = 0; i < steps; i++) {
      const a = levels[i];
      const b = levels[i + 1];
      const d0 = await rt.predict(x, a);
      const order = multistepOrder(i, steps, maxOrder, warm, b.sigma === 0, rt.settings);
      if (b.sigma === 0) {
        for (let j = 0; j < n; j++) x[j] = b.alpha * d0[j];
      } else {
        const h = lambda(b) - lambda(a);
        const he = (1 + eta) * h;
        const cx = eta === 0 ? b.sigma / a.sigma : (b.sigma / a.sigma) * Math.exp(-eta * h);
        const c0 = -b.alpha * Math.expm1(-he);
        const phi2 = Math.expm1(-he) / he + 1;
        const cz = eta > 0 ? b.sigma * Math.sqrt(-Math.expm1(-2 * eta * h)) * sNoise : 0;
        const z = cz > 0 ? rt.noise() : undefined;
        if (order === 1 || d1prev === undefined) {
          for (let j = 0; j < n; j++) x[j] = cx * x[j] + c0 * d0[j];
        } else if (order === 2 || d2prev === undefined) {
          const r0 = h1 / h;
          const c1 = (heunType ? b.alpha * phi2 : 0.5 * c0) / r0;
          for (let j = 0; j < n; j++) {
            x[j] = cx * x[j] + (c0 + c1) * d0[j] - c1 * d1prev[j];
          }
        } else {
          const r0 = h1 / h;
          const r1 = h2 / h;
          const phi3 = phi2 / he - 0.5;
          const k1 = b.alpha * phi2;
          const k2 = b.alpha * phi3;
          for (let j = 0; j < n; j++) {
            const e0 = (d0[j] - d1prev[j]) / r0;
            const e1 = (d1prev[j] - d2prev[j]) / r1;
            const dd1 = e0 + ((e0 - e1) * r0) / (r0 + r1);
            const dd2 = (e0 - e1) / (r0 + r1);
            x[j] = cx * x[j] + c0 * d0[j] + k1 * dd1 - k2 * dd2;
          }
        }
        if (z !== undefined) for (let j = 0; j < n; j++) x[j] += cz * z[j];
        h2 = h1;
        h1 = h;
      }
      d2prev = d1prev;
      d1prev = d0;
      if (warm < maxOrder) warm++;
      rt.endStep(i, x, d0);
    }
    return x;
  };
}

/** DPM-Solver++(2M): deterministic, order 2 by default (order 3 gives the 3M update with η = 0). */
export const dpmpp2m: SamplerFn = makeDpmpp(0, 2);
/** DPM-Solver++(2M) SDE, η = 1 by default. */
export const dpmpp2mSde: SamplerFn = makeDpmpp(1, 2);
/** DPM-Solver++(3M) SDE, η = 1 by default. */
export const dpmpp3mSde: SamplerFn = makeDpmpp(1, 3);
