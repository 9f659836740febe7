/**
 * Generation from a pack: class/tag/control-conditioned sampling with classifier-free guidance,
 * window after window (each continuing from the previous window's tail, crossfaded), decoded to
 * audio (Griffin-Lim or the pack's neural vocoder) and yielded chunk by chunk. Seamless loops are
 * sampled with the sampler's loop mode and decoded circularly to an exact length (loop-plan.ts).
 */

import { fitPeak, softLimit } from '../audio/mix.ts';
import type { PcmAudio } from '../audio/types.ts';
import type { ModelPack } from '../packs/index.ts';
import type { ModelSession, Runtime, SessionOptions } from '../runtime/index.ts';
import { continuation, type GuidanceOptions, sample, timeMask } from '../sampler/index.ts';
import { conditionFor, setControl, unconditionalFor } from './condition.ts';
import { type DecoderName, decodeLoop, decodeWindow, resolveDecoder } from './decoder.ts';
import { planLoop } from './loop-plan.ts';
import type { Condition } from './model-denoiser.ts';
import { ModelPipeline, openPipeline } from './model-pipeline.ts';
import { planSampling } from './plan.ts';
import type { AudioChunk, RunOptions } from './types.ts';
import { NeuralVocoder } from './vocoder.ts';

export interface GenerateOptions extends RunOptions {
  /** Class name from the manifest's vocabulary (e.g. "seven"). */
  className?: string;
  /** Tags from the manifest's vocabulary. */
  tags?: readonly string[];
  /** Values for the manifest's controls (bpm, key, bars, …). */
  controls?: Readonly<Record<string, number | string>>;
  /**
   * Output length; default the manifest's default or one window. A loop of a pack with `bpm` and
   * `bars` controls defaults to that many bars at that tempo.
   */
  seconds?: number;
  /** Classifier-free guidance scale; 1 disables guidance. */
  guidance?: number;
  /**
   * Make a seamless loop of exactly round(seconds·rate) samples (one window long at most).
   * Default: the manifest's `defaults.loop` for fresh generations, else false.
   */
  loop?: boolean;
  /** Mel decoding: the pack's neural vocoder (default when it has one) or Griffin-Lim. */
  decoder?: DecoderName;
  /** Variation: start from this audio (mono-mixed, resampled by the caller to the model rate). */
  init?: PcmAudio;
  /** Continue this audio (model rate, mono): its end is the known context of the first window. */
  continueFrom?: PcmAudio;
  /**
   * Regenerate [start, end) seconds of `audio` (model rate, at most one window long) and keep the
   * rest; the new part is spliced into the original with short equal-power crossfades.
   */
  inpaint?: { audio: PcmAudio; start: number; end: number };
  /** How far from `init` to move: 0 = unchanged, 1 = ignore it. */
  strength?: number;
  /**
   * Level: a clip made in one window is scaled as a whole so its peak is −1 dBFS (fitPeak: down,
   * or up by at most 30 dB); longer streams are soft-limited sample by sample (softLimit,
   * transparent below −1 dBFS). Default true; false yields the decoder's raw level.
   */
  limit?: boolean;
}

export class GeneratePipeline extends ModelPipeline {
  /** The pack's neural vocoder (io.vocoder), a second session on the same runtime. */
  private vocoder: NeuralVocoder | undefined;

  private constructor(pack: ModelPack, session: ModelSession) {
    super(pack, session);
  }

  static async load(
    pack: ModelPack,
    runtime: Runtime,
    options: SessionOptions = {},
  ): Promise<GeneratePipeline> {
    const pipeline = await openPipeline(
      pack,
      runtime,
      options,
      'generate',
      (p, s) => new GeneratePipeline(p, s),
    );
    try {
      pipeline.vocoder = await NeuralVocoder.load(pack, runtime, options);
    } catch (err) {
      await pipeline.dispose();
      throw err;
    }
    return pipeline;
  }

  /** The decoder a run with `requested` uses (validated); undefined when the model is not mel. */
  decoderFor(requested?: string): DecoderName | undefined {
    return resolveDecoder(this.pack.manifest, this.vocoder !== undefined, requested);
  }

  /** Builds the per-item condition from user-facing names; errors name the bad value. */
  condition(options: GenerateOptions): Condition {
    return conditionFor(this.pack.manifest, options);
  }

  /** Model and vocoder calls so far and their total wall time. */
  override modelStats(): { calls: number; totalMs: number } {
    const s = super.modelStats();
    const v = this.vocoder?.stats;
    return v ? { calls: s.calls + v.calls, totalMs: s.totalMs + v.totalMs } : s;
  }

  override async dispose(): Promise<void> {
    try {
      await this.vocoder?.dispose();
    } finally {
      await super.dispose();
    }
  }

  private vocoderFor(options: GenerateOptions): NeuralVocoder | undefined {
    return this.decoderFor(options.decoder) === 'vocoder' ? this.vocoder : undefined;
  }

  /** Generates audio, yielding each window's new audio as soon as it is decoded. */
  async *generate(options: GenerateOptions = {}): AsyncIterable<AudioChunk> {
    const m = this.pack.manifest;
    const rep = this.rep;
    const rate = m.sampleRate;
    const W = m.io.windowLength;
    const multiple = m.io.lengthMultiple ?? 1;
    // Inpainting keeps the given audio's own ends; defaults.loop applies to fresh clips only.
    const loop = !options.inpaint && (options.loop ?? (m.defaults.loop === true && !options.continueFrom));
    if (loop && options.continueFrom) throw new RangeError('a loop cannot continue given audio');
    const loopPlan = loop ? planLoop(m, rep, options) : undefined;
    if (options.limit !== undefined && typeof options.limit !== 'boolean')
      throw new TypeError(`limit must be a boolean, got ${typeof options.limit}`);
    const limit = options.limit !== false;
    const seconds = options.seconds ?? m.defaults.seconds ?? rep.samples(W) / rate;
    if (!(seconds > 0 && seconds <= 3600))
      throw new RangeError(`seconds must be in (0, 3600], got ${seconds}`);
    const totalSamples = loopPlan ? loopPlan.samples : Math.round(seconds * rate);
    const totalFrames = loopPlan ? loopPlan.frames : rep.frames(totalSamples);
    const steps = options.steps ?? m.defaults.steps;
    const plan = planSampling(m, steps, options.sampler);
    const seed = options.seed ?? 0;
    const guidance = options.guidance ?? m.defaults.guidance ?? 1;
    if (!(guidance >= 0 && guidance <= 50))
      throw new RangeError(`guidance must lie in [0, 50], got ${guidance}`);
    const vocoder = this.vocoderFor(options);
    const cond = conditionFor(m, loopPlan ? { ...options, controls: loopPlan.controls } : options);
    if (loopPlan?.modelBpm !== undefined) setControl(m, cond, 'bpm', loopPlan.modelBpm);
    const g: GuidanceOptions<Condition> | undefined =
      guidance !== 1 && m.conditioning ? { scale: guidance, uncond: [unconditionalFor(m, cond)] } : undefined;
    if (loopPlan && loopPlan.frames > W) {
      throw new RangeError(
        `a loop can be at most one model window long (${((W * rep.hop) / rate).toFixed(2)} s)`,
      );
    }
    const strength = options.strength ?? m.defaults.strength ?? 0.6;
    let initX: Float32Array | undefined;
    if (options.init) {
      if (options.init.sampleRate !== rate) {
        throw new RangeError(`init must be at the model rate ${rate} Hz, got ${options.init.sampleRate} Hz`);
      }
      initX = rep.encode(options.init.channels[0]!);
    }

    if (options.inpaint) {
      yield* this.inpaintRun(options, plan, cond, g, seed, vocoder);
      return;
    }
    const rows = rep.channels * rep.rows;
    // Windows overlap by a quarter: the overlap is the known context of the next window.
    let prevFrames = W;
    let prev: Float32Array | undefined;
    let context = !loopPlan && totalFrames > W ? Math.floor(W / 4) : 0;
    let givenLength = 0;
    let givenSkip = 0;
    if (options.continueFrom) {
      const given = this.atModelRate(options.continueFrom, 'continueFrom');
      prev = rep.encode(given);
      prevFrames = prev.length / rows;
      context = Math.max(1, Math.min(Math.floor(W / 4), prevFrames - 1));
      givenLength = given.length;
      // The first window's frame 0 sits at the given audio's frame prevFrames − context.
      givenSkip = Math.max(0, givenLength - (prevFrames - context) * rep.hop);
    }
    const windows = options.continueFrom
      ? Math.ceil(totalFrames / (W - context))
      : loopPlan || totalFrames <= W
        ? 1
        : 1 + Math.ceil((totalFrames - W) / (W - context));
    let prevAudioTail: Float32Array | undefined;
    let emitted = 0;
    const t0 = performance.now();
    for (let w = 0; w < windows; w++) {
      options.onEvent?.({ type: 'window', index: w, windows });
      const frames = loopPlan
        ? loopPlan.frames
        : windows === 1 && !prev
          ? Math.max(multiple, Math.ceil(Math.min(totalFrames, W) / multiple) * multiple)
          : W;
      const shape = [1, ...rep.itemShape(frames)];
      const inpaint =
        prev && context > 0
          ? continuation(lastFrames(prev, rows, prevFrames, context), context, shape)
          : undefined;
      const init = initX ? windowOf(initX, rows, initX.length / rows, w * (W - context), frames) : undefined;
      const result = await sample<Condition>({
        denoiser: this.denoiser,
        shape,
        levels: plan.levels,
        sampler: plan.sampler,
        prediction: plan.prediction,
        settings: plan.settings,
        ...(plan.sigmaData !== undefined ? { sigmaData: plan.sigmaData } : {}),
        initNoiseScale: plan.initNoiseScale,
        seed,
        itemOffset: w,
        cond: [cond],
        ...(g ? { guidance: g } : {}),
        ...(inpaint ? { inpaint } : {}),
        ...(init ? { init: { x: init, strength } } : {}),
        // A circular network loops by itself; rolling it would misalign its beat grid with the music.
        ...(loopPlan && !m.io.circular ? { loop: { mode: 'shift' as const } } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        onEvent: (e) => options.onEvent?.({ ...e, window: w }),
      });
      prev = result.x;
      prevFrames = frames;
      let audio = loopPlan
        ? await decodeLoop(rep, vocoder, result.x, frames, loopPlan.samples, seed, rate)
        : await decodeWindow(rep, vocoder, result.x, frames, rep.samples(frames), seed + w);
      // Consecutive windows overlap by `context` frames = rep.samples(context) samples of audio:
      // the previous window's withheld tail and this window's head cover the same time and are
      // crossfaded. Continuing given audio, the head that overlaps it is dropped instead.
      const overlap = context > 0 ? rep.samples(context) : 0;
      const isLast = w === windows - 1;
      const remaining = totalSamples - emitted;
      let body: Float32Array = audio;
      if (w === 0 && givenLength > 0) body = audio.subarray(Math.min(audio.length, givenSkip));
      else if (prevAudioTail) body = crossfadeInto(prevAudioTail, audio);
      const keepTail = !isLast && overlap > 0 ? Math.min(overlap, body.length) : 0;
      let out = body.subarray(0, Math.max(0, Math.min(remaining, body.length - keepTail)));
      prevAudioTail = keepTail > 0 ? body.slice(body.length - keepTail) : undefined;
      if (isLast && out.length < remaining) {
        const padded = new Float32Array(remaining);
        padded.set(out);
        out = padded;
      }
      // A mel model's level follows its training data: FSDD digits peak near −24 dBFS, and Griffin-Lim's
      // phase can put drum hits 8 dB over full scale. A clip made in one window (a loop, a digit) is
      // scaled as a whole so its peak sits at −1 dBFS (at most +30 dB), which keeps transients
      // undistorted and a loop seamless; a longer stream cannot wait for its later peaks, so its
      // samples are soft-limited as they go.
      audio = out.slice();
      if (limit) {
        if (windows === 1 && !options.continueFrom) fitPeak(audio);
        else softLimit(audio);
      }
      const chunk: AudioChunk = {
        sampleRate: rate,
        channels: [audio],
        startFrame: emitted,
        index: w,
        last: isLast,
      };
      emitted += audio.length;
      options.onEvent?.({ type: 'chunk', index: w, frames: audio.length, elapsedMs: performance.now() - t0 });
      yield chunk;
    }
  }

  private atModelRate(audio: PcmAudio, name: string): Float32Array {
    const rate = this.pack.manifest.sampleRate;
    if (audio.sampleRate !== rate) {
      throw new RangeError(`${name} must be at the model rate ${rate} Hz, got ${audio.sampleRate} Hz`);
    }
    if (!audio.channels[0] || audio.channels[0].length === 0) throw new RangeError(`${name} holds no audio`);
    return audio.channels[0];
  }

  /** One window: keep the audio outside [start, end), regenerate inside, splice with crossfades. */
  private async *inpaintRun(
    options: GenerateOptions,
    plan: ReturnType<typeof planSampling>,
    cond: Condition,
    g: GuidanceOptions<Condition> | undefined,
    seed: number,
    vocoder: NeuralVocoder | undefined,
  ): AsyncIterable<AudioChunk> {
    const { audio, start, end } = options.inpaint!;
    const rep = this.rep;
    const m = this.pack.manifest;
    const rate = m.sampleRate;
    const original = this.atModelRate(audio, 'inpaint.audio');
    const W = m.io.windowLength;
    const multiple = m.io.lengthMultiple ?? 1;
    const nFrames = rep.frames(original.length);
    if (nFrames > W) {
      throw new RangeError(
        `inpaint.audio can be at most one model window long (${(rep.samples(W) / rate).toFixed(2)} s)`,
      );
    }
    const s0 = Math.round(start * rate);
    const s1 = Math.round(end * rate);
    if (!(0 <= s0 && s0 < s1 && s1 <= original.length)) {
      throw new RangeError(
        `inpaint range must satisfy 0 ≤ start < end ≤ ${(original.length / rate).toFixed(3)} s`,
      );
    }
    const frames = Math.max(multiple, Math.ceil(nFrames / multiple) * multiple);
    const rows = rep.channels * rep.rows;
    const known = windowOf(rep.encode(original), rows, nFrames, 0, frames);
    const shape = [1, ...rep.itemShape(frames)];
    const f0 = Math.max(0, Math.floor(s0 / rep.hop));
    const f1 = Math.min(frames, Math.ceil(s1 / rep.hop) + 1);
    options.onEvent?.({ type: 'window', index: 0, windows: 1 });
    const t0 = performance.now();
    const result = await sample<Condition>({
      denoiser: this.denoiser,
      shape,
      levels: plan.levels,
      sampler: plan.sampler,
      prediction: plan.prediction,
      settings: plan.settings,
      ...(plan.sigmaData !== undefined ? { sigmaData: plan.sigmaData } : {}),
      initNoiseScale: plan.initNoiseScale,
      seed,
      cond: [cond],
      ...(g ? { guidance: g } : {}),
      inpaint: { known, mask: timeMask(shape, f0, f1) },
      ...(options.signal ? { signal: options.signal } : {}),
      onEvent: (e) => options.onEvent?.({ ...e, window: 0 }),
    });
    const raw = await decodeWindow(rep, vocoder, result.x, frames, rep.samples(frames), seed);
    const regenerated = options.limit === false ? raw : softLimit(raw);
    const out = original.slice();
    const fade = Math.min(Math.round(0.01 * rate), Math.floor((s1 - s0) / 4));
    for (let i = s0; i < s1; i++) {
      // Equal-power ramps at both edges of the regenerated span.
      const a = fade > 0 ? Math.min(1, (i - s0 + 0.5) / fade, (s1 - i - 0.5) / fade) : 1;
      const gIn = Math.sin((Math.PI / 2) * a);
      const gOut = Math.cos((Math.PI / 2) * a);
      out[i] = gOut * original[i]! + gIn * (regenerated[i] ?? 0);
    }
    options.onEvent?.({ type: 'chunk', index: 0, frames: out.length, elapsedMs: performance.now() - t0 });
    yield { sampleRate: rate, channels: [out], startFrame: 0, index: 0, last: true };
  }
}

/** The last n frames of each row, compact: rows × n. */
function lastFrames(x: Float32Array, rows: number, frames: number, n: number): Float32Array {
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * frames + frames - n, (r + 1) * frames), r * n);
  return out;
}

function windowOf(x: Float32Array, rows: number, total: number, start: number, frames: number): Float32Array {
  const out = new Float32Array(rows * frames);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < frames; f++) out[r * frames + f] = x[r * total + Math.min(total - 1, start + f)]!;
  }
  return out;
}

/** Replaces the start of `body` with an equal-power crossfade from `tail`. */
function crossfadeInto(tail: Float32Array, body: Float32Array): Float32Array {
  const n = Math.min(tail.length, body.length);
  const out = body.slice();
  for (let i = 0; i < n; i++) {
    const t = (i + 0.5) / n;
    out[i] = Math.cos((Math.PI / 2) * t) * tail[i]! + Math.sin((Math.PI / 2) * t) * body[i]!;
  }
  return out;
}
