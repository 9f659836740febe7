/**
 * Heun's second-order method (Karras et al. 2022, Algorithm 1 without churn). Coordinates:
 * 've' integrates y = x/α against u = σ/α (k-diffusion, diffusers HeunDiscrete); 'flow' integrates
 * y = x/(α+σ) against u = σ/(α+σ) (diffusers FlowMatchHeun). In both, dy/du = (y − x0̂)/u.
 * A step to σ = 0 is a plain Euler step, as in both references.
 */
import { combine, type SamplerFn } from './common.ts';

export const heun: SamplerFn = async (x, levels, rt) => {
  const coords = rt.settings.heunCoordinates ?? (levels.some((l) => l.alpha === 0) ? 'flow' : 've');
  const scale = (l: { alpha: number; sigma: number }) => (coords === 've' ? l.alpha : l.alpha + l.sigma);
  const n = x.length;
  // Scratch reused across steps: allocating 3 state-sized arrays per step showed up as GC time.
  const y = new Float32Array(n);
  const d1 = new Float32Array(n);
  const x2 = new Float32Array(n);
  for (let i = 0; i < levels.length - 1; i++) {
    const a = levels[i];
    const b = levels[i + 1];
    const ca = scale(a);
    if (!(ca > 0))
      throw new RangeError(`heun in '${coords}' coordinates needs alpha > 0 at every level (level ${i})`);
    const x0 = await rt.predict(x, a);
    if (b.sigma === 0) {
      combine(x, 0, x0, b.alpha);
      rt.endStep(i, x, x0);
      continue;
    }
    const cb = scale(b);
    const ua = a.sigma / ca;
    const ub = b.sigma / cb;
    const dt = ub - ua;
    for (let j = 0; j < n; j++) {
      y[j] = x[j] / ca;
      d1[j] = (y[j] - x0[j]) / ua;
      x2[j] = cb * (y[j] + dt * d1[j]);
    }
    const x0b = await rt.predict(x2, b);
    for (let j = 0; j < n; j++) {
      const y2 = x2[j] / cb;
      const d2 = (y2 - x0b[j]) / ub;
      x[j] = cb * (y[j] + 0.5 * dt * (d1[j] + d2));
    }
    rt.endStep(i, x, x0);
  }
  return x;
};
