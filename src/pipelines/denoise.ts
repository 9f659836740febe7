/**
 * Conditional diffusion denoising of any-length audio at any rate and channel count. Each
 * channel is resampled to the model's rate, cut into half-overlapping windows, denoised by the
 * sampler starting from the noisy input itself (y + σ_max·n, so the first model call acts as a
 * predictive pass and later steps refine), overlap-added, resampled back and mixed dry/wet.
 * Everything streams: memory is bounded by a few windows whatever the input length.
 */
import { DcBlocker } from '../audio/dc-blocker.ts';
import { joinSamples } from '../audio/join.ts';
import { type ResampleOptions, Resampler } from '../audio/resample.ts';
import type { PcmAudio } from '../audio/types.ts';
import { OverlapAddWindower } from '../audio/windower.ts';
import type { ModelPack } from '../packs/index.ts';
import type { ModelSession, Runtime, SessionOptions } from '../runtime/index.ts';
import { sample } from '../sampler/index.ts';
import { AirBand } from './air-band.ts';
import type { Condition } from './model-denoiser.ts';
import { ModelPipeline, openPipeline } from './model-pipeline.ts';
import { planSampling } from './plan.ts';
import { representationFor } from './representation.ts';
import type { AudioChunk, RunOptions } from './types.ts';

export interface DenoiseOptions extends RunOptions {
  /** Dry/wet: 1 = fully denoised (default), 0 = the input unchanged. */
  strength?: number;
  /**
   * Seconds of audio the model sees at once. Streams default to the model's own window (lowest
   * latency: half a window); whole buffers to DENOISE_FILE_WINDOW_SECONDS.
   */
  windowSeconds?: number;
  /**
   * Input at a higher rate than the model's: pass its band above the model's Nyquist frequency
   * through, gated by how much the model suppressed its own top octave (default true; see
   * air-band.ts). false returns that band removed, as the model alone would.
   */
  highBand?: boolean;
}

/**
 * Window for whole files, where latency does not matter. Longer windows mean more context and
 * fewer seams: on 16 held-out validation mixtures of 8 s (`training.denoise.mixing`, val split)
 * the shipped model's SI-SDR improvement was 5.60 / 5.96 / 6.33 dB with 2 / 4 / 8 s windows
 * (6.42 for each clip whole, in PyTorch).
 */
export const DENOISE_FILE_WINDOW_SECONDS = 8;

/**
 * The DC blocker's corner. Chosen on 16 validation mixtures of 8 s (training speakers; two clips left out whose
 * clean target is an FSDD take with a DC offset pasted into silence, i.e. a 0.2–0.8 s DC pulse that SI-SDR rewards
 * keeping): SI-SDRi 4.10 dB without a blocker, 4.30 / 4.38 / 4.39 / 4.38 / 4.36 at 0.1 / 0.5 / 1 / 2 / 5 Hz.
 */
const DC_CUTOFF_HZ = 1;

/**
 * Resampling to and from the model rate: 'medium' (90 % band, ≥ 95 dB stopband) is far cleaner
 * than any denoiser's output and 2.5–3× faster than 'high'.
 */
export const DENOISE_RESAMPLER: ResampleOptions = { quality: 'medium' };

/**
 * Samples (at the model rate) of one denoise window, a multiple of 8: `windowSeconds` when given,
 * else the model's window.
 */
export function denoiseWindowSamples(manifest: ModelPack['manifest'], windowSeconds?: number): number {
  const rep = representationFor(manifest);
  let frames = manifest.io.windowLength;
  if (windowSeconds !== undefined) {
    if (typeof windowSeconds !== 'number' || !Number.isFinite(windowSeconds) || windowSeconds <= 0) {
      throw new RangeError(`windowSeconds must be a positive number of seconds, got ${windowSeconds}`);
    }
    frames = rep.frames(Math.round(windowSeconds * manifest.sampleRate));
    // Below 16 frames the overlap tapers would be shorter than the model's receptive field.
    if (frames < 16) {
      const min = rep.samples(16) / manifest.sampleRate;
      throw new RangeError(
        `windowSeconds must be at least ${min.toFixed(3)} s for model ${manifest.id}, got ${windowSeconds}`,
      );
    }
  }
  const w = rep.samples(frames);
  return w - (w % 8);
}

/**
 * Model-rate samples between a sample entering denoiseStream and its output being final: windows
 * overlap by half, so the overlap-add windower lags by half a window.
 */
export function denoiseLatencySamples(manifest: ModelPack['manifest']): number {
  return denoiseWindowSamples(manifest) / 2;
}

/** Input for streaming denoise: planar chunks at one sample rate. */
export type ChunkSource = AsyncIterable<Float32Array[]> | Iterable<Float32Array[]>;

export class DenoisePipeline extends ModelPipeline {
  /** Streaming window length in samples at the model rate (the model's own window). */
  readonly windowSamples: number;

  private constructor(pack: ModelPack, session: ModelSession) {
    super(pack, session);
    this.windowSamples = denoiseWindowSamples(pack.manifest);
  }

  static load(pack: ModelPack, runtime: Runtime, options: SessionOptions = {}): Promise<DenoisePipeline> {
    return openPipeline(pack, runtime, options, 'denoise', (p, s) => new DenoisePipeline(p, s));
  }

  /** Model-rate latency of the stream in input samples. */
  latencySeconds(): number {
    return denoiseLatencySamples(this.pack.manifest) / this.pack.manifest.sampleRate;
  }

  /** Denoises a whole buffer (windows of DENOISE_FILE_WINDOW_SECONDS by default); yields chunks as they become final. */
  denoise(audio: PcmAudio, options: DenoiseOptions = {}): AsyncIterable<AudioChunk> {
    const block = 16384;
    const n = audio.channels[0]?.length ?? 0;
    function* chunks(): Iterable<Float32Array[]> {
      for (let s = 0; s < n; s += block)
        yield audio.channels.map((c) => c.subarray(s, Math.min(n, s + block)));
    }
    return this.denoiseStream(chunks(), audio.sampleRate, audio.channels.length, {
      windowSeconds: DENOISE_FILE_WINDOW_SECONDS,
      ...options,
    });
  }

  /** Denoises a stream of planar chunks at `sampleRate`; output sample i aligns with input sample i. */
  async *denoiseStream(
    source: ChunkSource,
    sampleRate: number,
    channelCount: number,
    options: DenoiseOptions = {},
  ): AsyncIterable<AudioChunk> {
    const m = this.pack.manifest;
    const strength = options.strength ?? 1;
    if (!(strength >= 0 && strength <= 1))
      throw new RangeError(`strength must lie in [0, 1], got ${strength}`);
    if (!Number.isInteger(channelCount) || channelCount < 1) {
      throw new RangeError(`channelCount must be a positive integer, got ${channelCount}`);
    }
    const steps = options.steps ?? m.defaults.steps;
    const plan = planSampling(m, steps, options.sampler);
    const seed = options.seed ?? 0;
    const signal = options.signal;
    const rate = m.sampleRate;
    const W =
      options.windowSeconds === undefined
        ? this.windowSamples
        : denoiseWindowSamples(m, options.windowSeconds);
    // Windows overlap by half, crossfaded with raised-cosine tapers (shifted copies sum to one).
    // Measured on a training-speaker sample: half overlap 7.22 dB SI-SDR / ESTOI 0.420, a quarter
    // 7.05 / 0.402, an eighth 6.76 / 0.392 — window edges are where the model is weakest, so the
    // extra model calls (2× instead of 8/7×) are worth it; speed stays above 20× real time.
    // Denoising a short file whole, in one call, was tried: on 24 validation clips of 2-7.5 s it
    // scored 5.43 dB SI-SDRi against 5.47 for these overlapping windows (which average two
    // estimates at every sample), so the windows stay.
    const taper = W / 2;
    const hop = W - taper;
    const keepHighBand = options.highBand !== false && sampleRate > rate;
    const channels = Array.from({ length: channelCount }, () => ({
      down: sampleRate === rate ? undefined : new Resampler(sampleRate, rate, DENOISE_RESAMPLER),
      up: sampleRate === rate ? undefined : new Resampler(rate, sampleRate, DENOISE_RESAMPLER),
      // The model sees unwindowed audio; Hann synthesis × rect analysis sums to a constant at hop W/2.
      ola: new OverlapAddWindower({
        windowLength: W,
        hop,
        analysisWindow: 'rect',
        synthesisWindow: tukey(W, taper),
        // Mirrored audio rather than digital silence before the start and after the end: the model
        // never saw silence in training, and on the validation mixtures above zeros cost 0.5-0.6 dB.
        padding: 'reflect',
      }),
      // A recorder's DC offset is not speech: the model path never sees it (1 Hz first-order high-pass).
      // Its opening (held back to settle on) fits in half a window, so it adds no latency.
      dc: new DcBlocker(sampleRate, DC_CUTOFF_HZ, Math.min(0.5, W / 2 / rate)),
      // The blocked input, for the air band (dry − low without the offset; `dry` keeps it for strength < 1).
      airDry: [] as Float32Array[],
      dry: [] as Float32Array[],
      pending: [] as Float32Array[],
      // The input through the model path's resamplers only (its low band), and the air-band gate.
      lowUp: keepHighBand ? new Resampler(rate, sampleRate, DENOISE_RESAMPLER) : undefined,
      low: [] as Float32Array[],
      air: keepHighBand ? new AirBand(sampleRate, rate) : undefined,
    }));
    let window = 0;
    const processor = (ch: number) => async (frame: Float32Array, frameIndex: number) => {
      if (strength === 0) return frame;
      window++;
      options.onEvent?.({ type: 'window', index: window - 1, windows: undefined });
      return this.denoiseWindow(frame, plan, seed, frameIndex * channelCount + ch, signal, (e) =>
        options.onEvent?.({ ...e, window: window - 1 }),
      );
    };

    let outFrames = 0;
    let index = 0;
    const t0 = performance.now();
    // Emits whatever every channel has ready, mixed with the aligned dry input.
    const emit = (last: boolean): AudioChunk | undefined => {
      const ready = Math.min(...channels.map((c) => c.pending.reduce((a, p) => a + p.length, 0)));
      if (ready === 0 && !last) return undefined;
      const out = channels.map((c) => {
        const wet = takeFrom(c.pending, ready);
        const dry = takeFrom(c.dry, ready);
        if (c.air) c.air.process(wet, takeFrom(c.low, ready), takeFrom(c.airDry, ready));
        if (strength < 1)
          for (let i = 0; i < ready; i++) wet[i] = strength * wet[i]! + (1 - strength) * dry[i]!;
        return wet;
      });
      const chunk: AudioChunk = { sampleRate, channels: out, startFrame: outFrames, index: index++, last };
      outFrames += ready;
      options.onEvent?.({
        type: 'chunk',
        index: chunk.index,
        frames: ready,
        elapsedMs: performance.now() - t0,
      });
      return chunk;
    };

    let inFrames = 0;
    for await (const chunk of source) {
      if (chunk.length !== channelCount) {
        throw new RangeError(`every chunk must have ${channelCount} channels, got ${chunk.length}`);
      }
      inFrames += chunk[0]?.length ?? 0;
      for (let ch = 0; ch < channelCount; ch++) {
        const c = channels[ch]!;
        c.dry.push(chunk[ch]!.slice());
        // Blocked at the input rate, before any resampler, so the blocker's settled start and the
        // resamplers' zero history cannot combine into a step. Its opening is held back until complete.
        const blocked = c.dc.process(chunk[ch]!);
        if (c.air) c.airDry.push(blocked);
        const atRate = c.down ? c.down.process(blocked) : blocked;
        if (c.lowUp) c.low.push(c.lowUp.process(atRate));
        const wet = await c.ola.pushAsync(atRate, processor(ch));
        const back = c.up ? c.up.process(wet) : wet;
        if (back.length > 0) c.pending.push(back);
      }
      const out = emit(false);
      if (out) yield out;
    }
    for (let ch = 0; ch < channelCount; ch++) {
      const c = channels[ch]!;
      const rest = c.dc.flush();
      if (c.air) c.airDry.push(rest);
      const tail = c.down ? joinSamples([c.down.process(rest), c.down.flush()]) : rest;
      if (c.lowUp) c.low.push(c.lowUp.process(tail), c.lowUp.flush());
      let wet = tail.length > 0 ? await c.ola.pushAsync(tail, processor(ch)) : new Float32Array(0);
      wet = joinSamples([wet, await c.ola.flushAsync(processor(ch))]);
      let back = c.up ? c.up.process(wet) : wet;
      if (c.up) back = joinSamples([back, c.up.flush()]);
      c.pending.push(back);
      // Exactly as many output frames as input frames.
      const want = inFrames - outFrames;
      exactLength(c.pending, want);
      if (c.air) exactLength(c.low, want);
    }
    const final = emit(true);
    if (final) yield final;
  }

  private async denoiseWindow(
    frame: Float32Array,
    plan: ReturnType<typeof planSampling>,
    seed: number,
    item: number,
    signal: AbortSignal | undefined,
    onEvent: (e: import('../sampler/index.ts').SamplerEvent) => void,
  ): Promise<Float32Array> {
    const rep = this.rep;
    const multiple = this.pack.manifest.io.lengthMultiple ?? 1;
    const y = rep.encode(frame);
    const frames = y.length / (rep.channels * rep.rows);
    const padded = Math.ceil(frames / multiple) * multiple;
    const yp = padFrames(y, rep.channels * rep.rows, frames, padded);
    const shape = [1, ...rep.itemShape(padded)];
    const result = await sample<Condition>({
      denoiser: this.denoiser,
      shape,
      levels: plan.levels,
      sampler: plan.sampler,
      prediction: plan.prediction,
      settings: plan.settings,
      seed,
      itemOffset: item,
      cond: [{ condition: yp }],
      init: { x: yp, strength: 1 },
      ...(signal ? { signal } : {}),
      onEvent,
    });
    const x = cropFrames(result.x, rep.channels * rep.rows, padded, frames);
    return rep.decode(x, frames, frame.length);
  }
}

/** Flat top with half-cosine ramps of `taper` samples; shifted by length − taper, copies sum to 1. */
function tukey(length: number, taper: number): Float32Array {
  const w = new Float32Array(length).fill(1);
  for (let i = 0; i < taper; i++) {
    const r = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / taper);
    w[i] = r;
    w[length - 1 - i] = r;
  }
  return w;
}

/** Trims or zero-pads a list of arrays to n samples in all. */
function exactLength(list: Float32Array[], n: number): void {
  const have = list.reduce((a, p) => a + p.length, 0);
  if (have > n) list.splice(0, list.length, takeFrom(list, n));
  else if (have < n) list.push(new Float32Array(n - have));
}

/** Removes and returns the first n samples of a list of arrays. */
function takeFrom(list: Float32Array[], n: number): Float32Array {
  const out = new Float32Array(n);
  let filled = 0;
  while (filled < n && list.length > 0) {
    const head = list[0]!;
    const k = Math.min(head.length, n - filled);
    out.set(head.subarray(0, k), filled);
    filled += k;
    if (k === head.length) list.shift();
    else list[0] = head.subarray(k);
  }
  return out;
}

/** [rows, frames] → [rows, padded] repeating the edge frame (zeros would read as silence). */
export function padFrames(x: Float32Array, rows: number, frames: number, padded: number): Float32Array {
  if (padded === frames) return x;
  const out = new Float32Array(rows * padded);
  for (let r = 0; r < rows; r++) {
    out.set(x.subarray(r * frames, (r + 1) * frames), r * padded);
    const edge = x[r * frames + frames - 1]!;
    out.fill(edge, r * padded + frames, (r + 1) * padded);
  }
  return out;
}

export function cropFrames(x: Float32Array, rows: number, padded: number, frames: number): Float32Array {
  if (padded === frames) return x;
  const out = new Float32Array(rows * frames);
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * padded, r * padded + frames), r * frames);
  return out;
}
