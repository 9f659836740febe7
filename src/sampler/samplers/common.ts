/** The contract between the sampling loop (sample.ts) and the individual samplers. */
import type { NoiseLevel, SamplerSettings } from '../types.ts';

export interface SamplerRuntime {
  /** x0 predicted at `level` for state x (model call, guidance, loop handling, clipping). A new array. */
  predict(x: Float32Array, level: NoiseLevel): Promise<Float32Array>;
  /** The next draw of standard normal noise for the whole batch. */
  noise(): Float32Array;
  /** Called once per step after x has moved to levels[i + 1]; may constrain x in place (inpainting). */
  endStep(i: number, x: Float32Array, x0: Float32Array): void;
  settings: SamplerSettings;
}

/** Runs a whole plan; mutates and returns x. levels has steps + 1 entries, the last being the target. */
export type SamplerFn = (
  x: Float32Array,
  levels: readonly NoiseLevel[],
  rt: SamplerRuntime,
) => Promise<Float32Array>;

/** x ← cx·x + c0·x0 + cz·z (the shape of every single-step update here). */
export function combine(
  x: Float32Array,
  cx: number,
  x0: Float32Array,
  c0: number,
  z?: Float32Array,
  cz = 0,
): void {
  const n = x.length;
  if (z !== undefined && cz !== 0) {
    for (let i = 0; i < n; i++) x[i] = cx * x[i] + c0 * x0[i] + cz * z[i];
  } else {
    for (let i = 0; i < n; i++) x[i] = cx * x[i] + c0 * x0[i];
  }
}

export function checkLevels(levels: readonly NoiseLevel[]): void {
  if (levels.length < 2)
    throw new RangeError(`levels must hold at least 2 entries (one step), got ${levels.length}`);
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i];
    if (!(l.alpha >= 0) || !(l.sigma >= 0) || !Number.isFinite(l.alpha) || !Number.isFinite(l.sigma)) {
      throw new RangeError(
        `levels[${i}] must have finite alpha ≥ 0 and sigma ≥ 0, got (${l.alpha}, ${l.sigma})`,
      );
    }
    if (l.alpha === 0 && l.sigma === 0) throw new RangeError(`levels[${i}] has alpha = sigma = 0`);
  }
  for (let i = 0; i < levels.length - 1; i++) {
    if (levels[i].sigma === 0) throw new RangeError(`levels[${i}] has sigma = 0 before the last level`);
  }
}
