/**
 * Exact conversions between model parameterisations at one noise level
 * x = alpha·x0 + sigma·eps. Every conversion goes through the pair (x0, eps):
 *   epsilon:      x0 = (x - sigma·eps) / alpha
 *   v_prediction: with r = sqrt(alpha² + sigma²), a = alpha/r, s = sigma/r, y = x/r:
 *                 v = a·eps - s·x0  ⇒  x0 = a·y - s·v,  eps = s·y + a·v   (Salimans & Ho; r = 1 for VP)
 *   sample:       x0 = out,  eps = (x - alpha·x0) / sigma
 *   flow:         v = eps - x0 on y = x/(alpha+sigma), u = sigma/(alpha+sigma):
 *                 x0 = y - u·v,  eps = y + (1-u)·v
 *   edm:          D = c_skip·x̃ + c_out·F with x̃ = x/alpha, σ̃ = sigma/alpha,
 *                 c_skip = σd²/(σ̃²+σd²), c_out = σ̃·σd/sqrt(σ̃²+σd²)  (Karras et al. 2022, Table 1)
 */
import type { Parameterisation } from './types.ts';

export const PARAMETERISATIONS: readonly Parameterisation[] = [
  'epsilon',
  'v_prediction',
  'sample',
  'flow',
  'edm',
];

export interface LevelScales {
  alpha: number;
  sigma: number;
  /** σ_data of the EDM preconditioning; only read by 'edm'. Default 0.5. */
  sigmaData?: number;
}

function checkKind(kind: Parameterisation, name: string): void {
  if (!PARAMETERISATIONS.includes(kind))
    throw new TypeError(`${name} must be one of ${PARAMETERISATIONS.join(', ')}, got ${String(kind)}`);
}

/**
 * Writes x0 into `out` (may alias `output`) from a raw model output. The affine form
 * x0 = p·x + q·output is returned too, because guidance and previews rely on it being affine.
 */
export function x0Coefficients(kind: Parameterisation, lv: LevelScales): { p: number; q: number } {
  const { alpha, sigma } = lv;
  switch (kind) {
    case 'epsilon':
      if (!(alpha > 0))
        throw new RangeError(`epsilon prediction needs alpha > 0 to recover x0, got alpha = ${alpha}`);
      return { p: 1 / alpha, q: -sigma / alpha };
    case 'v_prediction': {
      const r2 = alpha * alpha + sigma * sigma;
      return { p: alpha / r2, q: -sigma / Math.sqrt(r2) };
    }
    case 'sample':
      return { p: 0, q: 1 };
    case 'flow': {
      const c = alpha + sigma;
      return { p: 1 / c, q: -sigma / c };
    }
    case 'edm': {
      if (!(alpha > 0)) throw new RangeError(`edm preconditioning needs alpha > 0, got alpha = ${alpha}`);
      const sd = lv.sigmaData ?? 0.5;
      const s = sigma / alpha;
      const d = s * s + sd * sd;
      return { p: (sd * sd) / d / alpha, q: (s * sd) / Math.sqrt(d) };
    }
  }
  throw new TypeError(`unknown parameterisation ${String(kind)}`);
}

/** x0 from the model output, elementwise into out (out may be `output`). */
export function toX0(
  kind: Parameterisation,
  output: Float32Array,
  x: Float32Array,
  lv: LevelScales,
  out: Float32Array = new Float32Array(x.length),
): Float32Array {
  checkKind(kind, 'kind');
  const { p, q } = x0Coefficients(kind, lv);
  const n = x.length;
  if (p === 0) {
    for (let i = 0; i < n; i++) out[i] = q * output[i];
  } else {
    for (let i = 0; i < n; i++) out[i] = p * x[i] + q * output[i];
  }
  return out;
}

/** The model output a perfect model of `kind` would give for (x, x0) at this level. */
export function fromX0(
  kind: Parameterisation,
  x0: Float32Array,
  x: Float32Array,
  lv: LevelScales,
  out: Float32Array = new Float32Array(x.length),
): Float32Array {
  checkKind(kind, 'kind');
  // Inverse of the affine x0 = p·x + q·out, valid whenever q ≠ 0 (every kind at sigma > 0).
  const { p, q } = x0Coefficients(kind, lv);
  if (q === 0)
    throw new RangeError(`cannot express ${kind} at sigma = ${lv.sigma}: output does not affect x0`);
  const n = x.length;
  for (let i = 0; i < n; i++) out[i] = (x0[i] - p * x[i]) / q;
  return out;
}

/** Converts a model output from one parameterisation to another at the same level. */
export function convertPrediction(
  from: Parameterisation,
  to: Parameterisation,
  output: Float32Array,
  x: Float32Array,
  lv: LevelScales,
): Float32Array {
  if (from === to) return Float32Array.from(output);
  const x0 = toX0(from, output, x, lv);
  return fromX0(to, x0, x, lv, x0);
}

/** eps from (x, x0): (x - alpha·x0)/sigma. */
export function epsFromX0(x: number, x0: number, alpha: number, sigma: number): number {
  return (x - alpha * x0) / sigma;
}
