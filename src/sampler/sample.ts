/**
 * The sampling entry point: builds the runtime (model calls, guidance, loop handling, editing
 * constraints, noise, events, abort) around one of the samplers.
 */
import { SonodiffError } from '../errors.ts';
import { applyInpaint, cropPad, itemSizeOf, noiseTo, rollTime, strengthLevels, wrapPad } from './editing.ts';
import { type SamplerEventHandler, throwIfAborted } from './events.ts';
import {
  applyCfg,
  type GuidanceOptions,
  guidanceActive,
  rescaleGuidance,
  validateGuidance,
} from './guidance.ts';
import { PARAMETERISATIONS, toX0 } from './parameterisation.ts';
import { fillBatchNoise, type NoiseSource, uniformInt } from './rng.ts';
import { checkLevels } from './samplers/common.ts';
import type { SamplerRuntime } from './samplers/index.ts';
import { modelCallsFor, SAMPLERS } from './samplers/index.ts';
import {
  type Denoiser,
  type NoiseLevel,
  type Parameterisation,
  SAMPLER_NAMES,
  type SamplerName,
  type SamplerSettings,
} from './types.ts';

export interface LoopOptions {
  /**
   * 'shift' (default): before every model call the state is rolled along time by a fresh
   * random offset and the output rolled back, so the seam sits at a different interior point
   * each call. 'pad': every call sees `padFrames` of wrap-around context on both ends (the model
   * must accept the longer time axis) and the padding is cropped from its output.
   */
  mode?: 'shift' | 'pad';
  padFrames?: number;
}

export interface SampleOptions<C> {
  denoiser: Denoiser<C>;
  /** [batch, ..., time]. */
  shape: readonly number[];
  /** steps + 1 noise levels, most noisy first; the last is the target (usually σ = 0). */
  levels: readonly NoiseLevel[];
  sampler: SamplerName;
  prediction: Parameterisation;
  /** σ_data for 'edm' predictions. */
  sigmaData?: number;
  settings?: SamplerSettings;
  /** Noise seed (and optional per-item seeds / item offset, see rng.ts). */
  seed: number;
  seeds?: readonly number[];
  itemOffset?: number;
  /** One condition per batch item, or one for all. Default [undefined]. */
  cond?: readonly C[];
  guidance?: GuidanceOptions<C>;
  /** Std of the initial noise in the state's native units. Default: σ of the first level. */
  initNoiseScale?: number;
  /** img2img: start from `init` (one item or the whole batch) noised to the level `strength` selects. */
  init?: { x: Float32Array; strength: number };
  /** Keep `known` where `mask` is 0 (inpainting, outpainting, continuation). */
  inpaint?: { known: Float32Array; mask: Float32Array };
  loop?: LoopOptions;
  signal?: AbortSignal;
  onEvent?: SamplerEventHandler;
  /** Attach an x0 preview to step events: true = every step, n = every n-th step. */
  preview?: boolean | number;
}

export interface SampleResult {
  x: Float32Array;
  shape: number[];
  steps: number;
  modelCalls: number;
  /** The levels actually run (after strength). */
  levels: NoiseLevel[];
}

function broadcast<C>(list: readonly C[], batch: number, name: string): C[] {
  if (list.length === batch) return [...list];
  if (list.length === 1) return Array.from({ length: batch }, () => list[0]);
  throw new RangeError(`${name} must hold 1 or ${batch} entries, got ${list.length}`);
}

export async function sample<C = unknown>(opts: SampleOptions<C>): Promise<SampleResult> {
  const t0 = performance.now();
  if (typeof opts.denoiser !== 'function') throw new TypeError('denoiser must be a function');
  if (!SAMPLER_NAMES.includes(opts.sampler))
    throw new TypeError(`sampler must be one of ${SAMPLER_NAMES.join(', ')}, got ${String(opts.sampler)}`);
  if (!PARAMETERISATIONS.includes(opts.prediction))
    throw new TypeError(
      `prediction must be one of ${PARAMETERISATIONS.join(', ')}, got ${String(opts.prediction)}`,
    );
  const shape = [...opts.shape];
  const itemSize = itemSizeOf(shape);
  const batch = shape[0];
  if (!Number.isInteger(batch) || batch < 1)
    throw new RangeError(`shape[0] (batch) must be a positive integer, got ${batch}`);
  const frames = shape[shape.length - 1];
  const size = batch * itemSize;
  checkLevels(opts.levels);
  let levels = [...opts.levels];
  if (opts.init !== undefined) levels = strengthLevels(levels, opts.init.strength);
  const settings = opts.settings ?? {};
  const conds = broadcast(opts.cond ?? [undefined as C], batch, 'cond');
  if (opts.guidance !== undefined) validateGuidance(opts.guidance, batch);
  const unconds = opts.guidance ? broadcast(opts.guidance.uncond, batch, 'guidance.uncond') : [];
  const src: NoiseSource = { seed: opts.seed, seeds: opts.seeds, itemOffset: opts.itemOffset };
  const loopMode = opts.loop ? (opts.loop.mode ?? 'shift') : undefined;
  const pad = opts.loop?.padFrames ?? Math.max(1, Math.floor(frames / 8));
  const previewEvery = opts.preview === true ? 1 : typeof opts.preview === 'number' ? opts.preview : 0;
  const signal = opts.signal;
  throwIfAborted(signal, 'before the first step');

  // Draw 0 is the initial noise; stochastic steps take draws 1, 2, ...
  const noise0 = new Float32Array(size);
  fillBatchNoise(noise0, src, batch, itemSize, 0);
  let draw = 1;
  let calls = 0;
  let x: Float32Array;
  if (opts.init !== undefined) {
    x = noiseTo(opts.init.x, levels[0], noise0);
  } else {
    const scale = opts.initNoiseScale ?? levels[0].sigma;
    if (!(scale >= 0)) throw new RangeError(`initNoiseScale must be ≥ 0, got ${scale}`);
    x = new Float32Array(size);
    for (let i = 0; i < size; i++) x[i] = scale * noise0[i];
  }
  if (opts.inpaint !== undefined) {
    const { known, mask } = opts.inpaint;
    if (
      size % known.length !== 0 ||
      size % mask.length !== 0 ||
      known.length % itemSize !== 0 ||
      mask.length % itemSize !== 0
    ) {
      throw new RangeError(
        `inpaint.known and inpaint.mask must be one item (${itemSize}) or the whole batch (${size}) long`,
      );
    }
    applyInpaint(x, known, mask, noise0, levels[0]);
  }

  // Noise depends only on (seed, item, draw), so the next draw is computed while an asynchronous
  // model (onnxruntime runs on its own threads) is busy, taking it off the critical path.
  const eta = settings.eta ?? (opts.sampler === 'ddim' ? 0 : 1);
  const stochastic =
    opts.sampler === 'ddpm' ||
    (['ddim', 'euler_ancestral', 'dpmpp_2m_sde', 'dpmpp_3m_sde'].includes(opts.sampler) && eta > 0);
  let nextNoise: Float32Array | undefined;
  const prefetchNoise = () => {
    if (!stochastic || nextNoise !== undefined) return;
    nextNoise = new Float32Array(size);
    fillBatchNoise(nextNoise, src, batch, itemSize, draw);
  };

  const callModel = async (
    xin: Float32Array,
    level: NoiseLevel,
    callShape: number[],
  ): Promise<Float32Array> => {
    throwIfAborted(signal, `before model call ${calls + 1}`);
    const n = xin.length;
    const cIn = level.cIn ?? 1;
    let input = xin;
    if (cIn !== 1) {
      input = new Float32Array(n);
      for (let i = 0; i < n; i++) input[i] = cIn * xin[i];
    }
    const g = opts.guidance;
    let out: Float32Array;
    if (g !== undefined && guidanceActive(g, level)) {
      const big = new Float32Array(2 * n);
      big.set(input, 0);
      big.set(input, n);
      const bigShape = [2 * callShape[0], ...callShape.slice(1)];
      const pending = opts.denoiser(
        big,
        { t: level.t, alpha: level.alpha, sigma: level.sigma, shape: bigShape },
        [...conds, ...unconds],
      );
      prefetchNoise();
      const res = await pending;
      calls++;
      if (!(res instanceof Float32Array) || res.length !== 2 * n) {
        throw new SonodiffError(
          'ERR_MODEL',
          `denoiser returned ${res?.length} values for a batched call of ${2 * n}`,
        );
      }
      out = applyCfg(res.subarray(0, n), res.subarray(n), g.scale, new Float32Array(n));
      rescaleGuidance(out, res.subarray(0, n), g.rescale ?? 0, callShape[0]);
    } else {
      const pending = opts.denoiser(
        input,
        { t: level.t, alpha: level.alpha, sigma: level.sigma, shape: callShape },
        conds,
      );
      prefetchNoise();
      out = await pending;
      calls++;
      if (!(out instanceof Float32Array) || out.length !== n) {
        throw new SonodiffError('ERR_MODEL', `denoiser returned ${out?.length} values for a call of ${n}`);
      }
    }
    // Convert in place (the model's buffer is ours now unless it was the input).
    const target = out === input ? new Float32Array(n) : out;
    return toX0(
      opts.prediction,
      out,
      xin,
      { alpha: level.alpha, sigma: level.sigma, sigmaData: opts.sigmaData },
      target,
    );
  };

  const clip = settings.clipX0;
  const rt: SamplerRuntime = {
    settings,
    async predict(xs, level) {
      let x0: Float32Array;
      if (loopMode === 'shift') {
        const s = uniformInt(frames, opts.seed, calls);
        const rolled = rollTime(xs, frames, s);
        x0 = rollTime(await callModel(rolled, level, shape), frames, -s, new Float32Array(rolled.length));
      } else if (loopMode === 'pad') {
        const padded = wrapPad(xs, frames, pad);
        const x0p = await callModel(padded, level, [...shape.slice(0, -1), frames + 2 * pad]);
        x0 = cropPad(x0p, frames, pad);
      } else {
        x0 = await callModel(xs, level, shape);
      }
      if (clip !== undefined) {
        for (let i = 0; i < x0.length; i++) x0[i] = Math.min(clip, Math.max(-clip, x0[i]));
      }
      return x0;
    },
    noise() {
      let z = nextNoise;
      nextNoise = undefined;
      if (z === undefined) {
        z = new Float32Array(size);
        fillBatchNoise(z, src, batch, itemSize, draw);
      }
      draw++;
      return z;
    },
    endStep(i, xs, x0) {
      if (opts.inpaint !== undefined)
        applyInpaint(xs, opts.inpaint.known, opts.inpaint.mask, noise0, levels[i + 1]);
      if (opts.onEvent) {
        const step = i + 1;
        const withPreview = previewEvery > 0 && (step % previewEvery === 0 || step === levels.length - 1);
        opts.onEvent({
          type: 'step',
          step,
          steps: levels.length - 1,
          t: levels[i].t,
          sigma: levels[i].sigma,
          ...(withPreview ? { x0Preview: Float32Array.from(x0) } : {}),
        });
      }
    },
  };

  const steps = levels.length - 1;
  opts.onEvent?.({
    type: 'start',
    sampler: opts.sampler,
    steps,
    modelCalls: modelCallsFor(opts.sampler, steps, levels[steps].sigma === 0),
    shape,
  });
  x = await SAMPLERS[opts.sampler](x, levels, rt);
  opts.onEvent?.({ type: 'done', steps, modelCalls: calls, elapsedMs: performance.now() - t0 });
  return { x, shape, steps, modelCalls: calls, levels };
}
