/**
 * Editing: init + strength, inpainting/outpainting masks over time (and frequency), continuation
 * and seamless loops. Conventions: the state is batch-major, the time axis is the last axis and,
 * for 2-D (spectrogram-like) states, frequency is the second-to-last. Masks hold 1 where content is
 * generated and 0 where the known content is kept; fractional values blend.
 */
import type { NoiseLevel } from './types.ts';

export function itemSizeOf(shape: readonly number[]): number {
  if (shape.length < 2) throw new RangeError(`shape must be [batch, ..., time], got [${shape.join(', ')}]`);
  let n = 1;
  for (let i = 1; i < shape.length; i++) {
    if (!Number.isInteger(shape[i]) || shape[i] < 1)
      throw new RangeError(`shape[${i}] must be a positive integer, got ${shape[i]}`);
    n *= shape[i];
  }
  return n;
}

/**
 * diffusers img2img strength: of the plan's `steps`, the last floor(steps·strength) run.
 * Returns the trailing slice of levels (its first entry is where the init is noised to).
 */
export function strengthLevels(levels: readonly NoiseLevel[], strength: number): NoiseLevel[] {
  if (!(strength > 0 && strength <= 1)) throw new RangeError(`strength must lie in (0, 1], got ${strength}`);
  const steps = levels.length - 1;
  const initSteps = Math.min(Math.floor(steps * strength), steps);
  const start = Math.max(steps - initSteps, 0);
  if (steps - start < 1) {
    throw new RangeError(
      `strength ${strength} with ${steps} steps leaves no step to run; raise strength or steps`,
    );
  }
  return levels.slice(start);
}

/**
 * Noises an init to a level in the state's own scaling: α·init + σ·ε. For σ-space (VE/EDM)
 * plans α = 1, so the init keeps unit weight and receives exactly σ of noise, never σ_max or an
 * init-noise multiplier (the swamping mistake of diffusers issue 10861).
 */
export function noiseTo(
  init: Float32Array,
  level: NoiseLevel,
  noise: Float32Array,
  out = new Float32Array(noise.length),
): Float32Array {
  const n = noise.length;
  const m = init.length;
  if (n % m !== 0) throw new RangeError(`init length ${m} must divide the state length ${n}`);
  for (let i = 0; i < n; i++) out[i] = level.alpha * init[i % m] + level.sigma * noise[i];
  return out;
}

/** A mask (one item) regenerating frames [start, end) along time; 1 inside, 0 outside. */
export function timeMask(shape: readonly number[], start: number, end: number): Float32Array {
  const size = itemSizeOf(shape);
  const t = shape[shape.length - 1];
  if (!(0 <= start && start <= end && end <= t))
    throw new RangeError(`time range must satisfy 0 ≤ start ≤ end ≤ ${t}, got [${start}, ${end})`);
  const m = new Float32Array(size);
  for (let r = 0; r < size / t; r++) m.fill(1, r * t + start, r * t + end);
  return m;
}

/** A mask (one item) regenerating a time × frequency box of a [batch, ..., freq, time] state. */
export function timeFrequencyMask(
  shape: readonly number[],
  box: { timeStart: number; timeEnd: number; freqStart: number; freqEnd: number },
): Float32Array {
  if (shape.length < 3)
    throw new RangeError(
      `shape must be [batch, ..., freq, time] for a frequency mask, got [${shape.join(', ')}]`,
    );
  const size = itemSizeOf(shape);
  const t = shape[shape.length - 1];
  const f = shape[shape.length - 2];
  const { timeStart, timeEnd, freqStart, freqEnd } = box;
  if (!(0 <= timeStart && timeStart <= timeEnd && timeEnd <= t))
    throw new RangeError(`timeStart/timeEnd must lie in [0, ${t}]`);
  if (!(0 <= freqStart && freqStart <= freqEnd && freqEnd <= f))
    throw new RangeError(`freqStart/freqEnd must lie in [0, ${f}]`);
  const m = new Float32Array(size);
  const planes = size / (t * f);
  for (let p = 0; p < planes; p++) {
    for (let k = freqStart; k < freqEnd; k++)
      m.fill(1, (p * f + k) * t + timeStart, (p * f + k) * t + timeEnd);
  }
  return m;
}

/**
 * Places known content (an item of `frames` time steps, same other dims) at `offset` on a canvas
 * of `shape`'s time length; everything else is generated. Continuation = offset 0 with the context
 * window; outpainting = any offset; the result feeds `inpaint`.
 */
export function placeOnCanvas(
  known: Float32Array,
  frames: number,
  shape: readonly number[],
  offset = 0,
): { known: Float32Array; mask: Float32Array } {
  const size = itemSizeOf(shape);
  const t = shape[shape.length - 1];
  const rows = size / t;
  if (!Number.isInteger(frames) || frames < 1 || known.length !== rows * frames) {
    throw new RangeError(`known must hold ${rows} rows × frames (${frames}) values, got ${known.length}`);
  }
  if (!(Number.isInteger(offset) && offset >= 0 && offset + frames <= t)) {
    throw new RangeError(`offset must place ${frames} frames inside ${t}, got ${offset}`);
  }
  const canvas = new Float32Array(size);
  const mask = new Float32Array(size).fill(1);
  for (let r = 0; r < rows; r++) {
    canvas.set(known.subarray(r * frames, (r + 1) * frames), r * t + offset);
    mask.fill(0, r * t + offset, r * t + offset + frames);
  }
  return { known: canvas, mask };
}

/** Continuation: the context window at the start, the rest generated. */
export function continuation(context: Float32Array, contextFrames: number, shape: readonly number[]) {
  return placeOnCanvas(context, contextFrames, shape, 0);
}

/**
 * The inpainting constraint after a step that reached `level`:
 *   x ← m·x + (1 − m)·(α·known + σ·ε0)
 * with ε0 the run's initial noise, so the kept region follows one consistent noisy trajectory.
 * `mask` and `known` are one item long (broadcast over the batch) or the whole batch.
 */
export function applyInpaint(
  x: Float32Array,
  known: Float32Array,
  mask: Float32Array,
  noise0: Float32Array,
  level: NoiseLevel,
): void {
  const n = x.length;
  const km = known.length;
  const mm = mask.length;
  for (let i = 0; i < n; i++) {
    const m = mask[i % mm];
    if (m === 1) continue;
    const target = level.alpha * known[i % km] + level.sigma * noise0[i];
    x[i] = m * x[i] + (1 - m) * target;
  }
}

/** Circular shift along the last axis by `shift` (positive moves content later). */
export function rollTime(
  x: Float32Array,
  frames: number,
  shift: number,
  out = new Float32Array(x.length),
): Float32Array {
  const s = ((shift % frames) + frames) % frames;
  const rows = x.length / frames;
  for (let r = 0; r < rows; r++) {
    const o = r * frames;
    out.set(x.subarray(o, o + frames - s), o + s);
    out.set(x.subarray(o + frames - s, o + frames), o);
  }
  return out;
}

/** Wrap-around padding of `pad` frames on both ends of the last axis. */
export function wrapPad(x: Float32Array, frames: number, pad: number): Float32Array {
  if (!(Number.isInteger(pad) && pad >= 0 && pad <= frames))
    throw new RangeError(`pad must be an integer in [0, ${frames}], got ${pad}`);
  const rows = x.length / frames;
  const w = frames + 2 * pad;
  const out = new Float32Array(rows * w);
  for (let r = 0; r < rows; r++) {
    const o = r * frames;
    out.set(x.subarray(o + frames - pad, o + frames), r * w);
    out.set(x.subarray(o, o + frames), r * w + pad);
    out.set(x.subarray(o, o + pad), r * w + pad + frames);
  }
  return out;
}

/** Inverse of wrapPad's layout: keeps the central `frames` of each row. */
export function cropPad(y: Float32Array, frames: number, pad: number): Float32Array {
  const w = frames + 2 * pad;
  const rows = y.length / w;
  const out = new Float32Array(rows * frames);
  for (let r = 0; r < rows; r++) out.set(y.subarray(r * w + pad, r * w + pad + frames), r * frames);
  return out;
}

/** Seam size of a loop relative to its interior: |x[T−1] − x[0]| over the median |x[i+1] − x[i]|, per row, worst row. */
export function loopSeamRatio(x: Float32Array, frames: number): number {
  const rows = x.length / frames;
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * frames;
    const d: number[] = [];
    for (let i = 0; i < frames - 1; i++) d.push(Math.abs(x[o + i + 1] - x[o + i]));
    d.sort((a, b) => a - b);
    const med = d[Math.floor(d.length / 2)] || Number.MIN_VALUE;
    worst = Math.max(worst, Math.abs(x[o] - x[o + frames - 1]) / med);
  }
  return worst;
}
