/**
 * Classifier-free guidance (Ho & Salimans 2022) on raw model outputs, as diffusers does:
 *   g = u + w·(c − u)
 * Because every parameterisation maps to x0 affinely with the same coefficients for c and u,
 * guiding raw outputs equals guiding x0. Guidance rescale (Lin et al. 2024, eq. 15–16):
 *   g' = φ·g·std(c)/std(g) + (1 − φ)·g, std taken per batch item over all its values.
 * Guidance interval (Kynkäänniemi et al. 2024): guidance applies only while the VE sigma σ/α
 * lies in [lo, hi]; outside it the model runs on the conditional half alone (half the batch).
 */
import type { NoiseLevel } from './types.ts';

export interface GuidanceOptions<C> {
  /** w; 1 disables guidance (one unbatched call). */
  scale: number;
  /** Unconditional or negative conditions, one per batch item (or one for all). */
  uncond: readonly C[];
  /** φ of guidance rescale in [0, 1]; 0 (default) = off. */
  rescale?: number;
  /** [lo, hi] in VE sigma σ/α where guidance applies; default everywhere. */
  interval?: readonly [number, number];
}

export function validateGuidance<C>(g: GuidanceOptions<C>, batch: number): void {
  if (!Number.isFinite(g.scale)) throw new RangeError(`guidance.scale must be finite, got ${g.scale}`);
  if (!Array.isArray(g.uncond) || (g.uncond.length !== 1 && g.uncond.length !== batch)) {
    throw new RangeError(`guidance.uncond must hold 1 or ${batch} conditions, got ${g.uncond?.length}`);
  }
  const phi = g.rescale ?? 0;
  if (!(phi >= 0 && phi <= 1)) throw new RangeError(`guidance.rescale must lie in [0, 1], got ${phi}`);
  if (g.interval !== undefined) {
    const [lo, hi] = g.interval;
    if (!(lo >= 0) || !(hi >= lo))
      throw new RangeError(`guidance.interval must be [lo, hi] with 0 ≤ lo ≤ hi, got [${lo}, ${hi}]`);
  }
}

/** Whether guidance applies at this level. */
export function guidanceActive<C>(g: GuidanceOptions<C> | undefined, level: NoiseLevel): boolean {
  if (g === undefined || g.scale === 1) return false;
  if (g.interval === undefined) return true;
  const s = level.alpha > 0 ? level.sigma / level.alpha : Number.POSITIVE_INFINITY;
  return s >= g.interval[0] && s <= g.interval[1];
}

/** out = u + w(c − u); out may alias c. */
export function applyCfg(c: Float32Array, u: Float32Array, w: number, out: Float32Array = c): Float32Array {
  const n = c.length;
  for (let i = 0; i < n; i++) out[i] = u[i] + w * (c[i] - u[i]);
  return out;
}

function std(a: Float32Array, off: number, len: number): number {
  let m = 0;
  for (let i = 0; i < len; i++) m += a[off + i];
  m /= len;
  let v = 0;
  for (let i = 0; i < len; i++) {
    const d = a[off + i] - m;
    v += d * d;
  }
  return Math.sqrt(v / Math.max(1, len - 1));
}

/** In-place guidance rescale of `guided` towards the per-item std of `cond`. */
export function rescaleGuidance(
  guided: Float32Array,
  cond: Float32Array,
  phi: number,
  batch: number,
): Float32Array {
  if (phi === 0) return guided;
  const size = guided.length / batch;
  for (let b = 0; b < batch; b++) {
    const off = b * size;
    const sg = std(guided, off, size);
    const factor = sg > 0 ? std(cond, off, size) / sg : 1;
    const k = phi * factor + (1 - phi);
    for (let i = 0; i < size; i++) guided[off + i] *= k;
  }
  return guided;
}
