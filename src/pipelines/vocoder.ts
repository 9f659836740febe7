/**
 * A mel pack's neural vocoder (manifest io.vocoder) as a second runtime session: the generator's
 * model-domain mel [B, nMels, T] in, the complex STFT [B, 2, nFft/2+1, T] out, with the pack's own
 * STFT settings, so the waveform is its iSTFT. Names and shapes are checked at load.
 */
import { SonodiffError } from '../errors.ts';
import type { ModelPack, VocoderIo } from '../packs/index.ts';
import { float32Tensor, type ModelSession, type Runtime, type SessionOptions } from '../runtime/index.ts';
import type { ComplexSpectrogram, Spectrogram } from '../spectrogram/index.ts';

export class NeuralVocoder {
  readonly io: VocoderIo;
  /** Mel bands in, STFT bins out. */
  readonly nMels: number;
  readonly bins: number;
  /** 'spectrum': complex STFT out (vocode); 'magnitude': STFT magnitude out (magnitude), phase by Griffin-Lim. */
  readonly kind: 'spectrum' | 'magnitude';
  /**
   * Griffin-Lim iterations the decoder runs: on a spectrum vocoder's output from its phase
   * (io.vocoder.refineIterations, default 0), on a magnitude vocoder's from a random phase (default 32).
   */
  readonly refineIterations: number;
  /** io.vocoder.shapeLowBand: the decoder shapes this magnitude's lowest bins as the mel inversion does. */
  readonly shapeLowBand: boolean;
  private readonly session: ModelSession;

  private constructor(session: ModelSession, io: VocoderIo, nMels: number, bins: number) {
    this.session = session;
    this.io = io;
    this.nMels = nMels;
    this.bins = bins;
    this.kind = io.kind ?? 'spectrum';
    this.refineIterations = io.refineIterations ?? (this.kind === 'magnitude' ? 32 : 0);
    this.shapeLowBand = io.shapeLowBand === true;
  }

  /** Loads the pack's vocoder through `runtime`; undefined when the pack has none. */
  static async load(
    pack: ModelPack,
    runtime: Runtime,
    options: SessionOptions = {},
  ): Promise<NeuralVocoder | undefined> {
    const m = pack.manifest;
    const io = m.io.vocoder;
    if (io === undefined || pack.vocoderPath === undefined) return undefined;
    const s = m.spectrogram;
    if (m.representation !== 'mel' || s?.nMels === undefined) {
      throw new SonodiffError('ERR_MODEL', `model ${m.id}: io.vocoder needs a mel representation`);
    }
    // One call per window: busy-waiting threads buy it nothing, and after each call they spin on for
    // tens of ms against the denoiser's next calls (digits calls measured 3.6 → 5.1–7.9 ms median).
    const cpu = { ...options.cpu, spinning: options.cpu?.spinning ?? false };
    const session = await runtime.load(pack.vocoderPath, { ...options, cpu });
    try {
      const bins = (s.nFft >> 1) + 1;
      checkSession(session, io, m.id, [s.nMels], io.kind === 'magnitude' ? [bins] : [2, bins]);
      return new NeuralVocoder(session, io, s.nMels, bins);
    } catch (err) {
      await session.dispose();
      throw err;
    }
  }

  get device(): string {
    return this.session.device;
  }

  get stats(): { calls: number; totalMs: number } {
    return this.session.stats;
  }

  /** Runs the session on one mel and returns its output values, checked to number `channels`·bins·frames. */
  private async run(mel: Float32Array, frames: number, channels: number): Promise<Float32Array> {
    if (mel.length !== this.nMels * frames)
      throw new RangeError(`mel must hold nMels × frames = ${this.nMels * frames} values, got ${mel.length}`);
    const out = await this.session.run({ [this.io.input]: float32Tensor(mel, [1, this.nMels, frames]) }, [
      this.io.output,
    ]);
    const y = out[this.io.output];
    const n = channels * this.bins * frames;
    if (!y || !(y.data instanceof Float32Array) || y.data.length !== n) {
      const shape = [1, ...(channels > 1 ? [channels] : []), this.bins, frames].join('×');
      throw new SonodiffError(
        'ERR_MODEL',
        `vocoder output "${this.io.output}" has ${y?.data.length ?? 0} values, expected ${n} (shape ${shape})`,
      );
    }
    return y.data;
  }

  /** Model-domain mel (nMels × frames, time last) → STFT magnitude, frames × bins (kind 'magnitude'). */
  async magnitude(mel: Float32Array, frames: number): Promise<Spectrogram> {
    if (this.kind !== 'magnitude') throw new RangeError('this vocoder outputs a spectrum: use vocode()');
    const d = await this.run(mel, frames, 1);
    const bins = this.bins;
    const data = new Float32Array(bins * frames);
    for (let k = 0; k < bins; k++) for (let f = 0; f < frames; f++) data[f * bins + k] = d[k * frames + f]!;
    return { frames, bins, data };
  }

  /** Model-domain mel (nMels × frames, time last) → complex STFT, frames × bins (frame-major). */
  async vocode(mel: Float32Array, frames: number): Promise<ComplexSpectrogram> {
    if (this.kind !== 'spectrum') throw new RangeError('this vocoder outputs a magnitude: use magnitude()');
    const bins = this.bins;
    const n = bins * frames;
    const d = await this.run(mel, frames, 2);
    // [2, bins, frames] (time last) → frames × bins, as the spectrogram module lays it out.
    const re = new Float32Array(n);
    const im = new Float32Array(n);
    for (let k = 0; k < bins; k++) {
      for (let f = 0; f < frames; f++) {
        re[f * bins + k] = d[k * frames + f]!;
        im[f * bins + k] = d[n + k * frames + f]!;
      }
    }
    return { frames, bins, re, im };
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}

/** Names must exist; fixed middle dimensions must match (batch and time may be anything). */
function checkSession(
  session: ModelSession,
  io: VocoderIo,
  id: string,
  inMiddle: number[],
  outMiddle: number[],
): void {
  if (!session.inputNames.includes(io.input)) {
    throw new SonodiffError(
      'ERR_MODEL',
      `vocoder of model ${id} has no input "${io.input}" (its inputs: ${session.inputNames.join(', ')})`,
    );
  }
  if (session.inputNames.length !== 1) {
    throw new SonodiffError(
      'ERR_MODEL',
      `vocoder of model ${id} must take one input, it takes ${session.inputNames.join(', ')}`,
    );
  }
  if (!session.outputNames.includes(io.output)) {
    throw new SonodiffError(
      'ERR_MODEL',
      `vocoder of model ${id} has no output "${io.output}" (its outputs: ${session.outputNames.join(', ')})`,
    );
  }
  const fits = (declared: (number | string)[], middle: number[]) =>
    declared.length === 0 ||
    (declared.length === middle.length + 2 &&
      middle.every((want, i) => typeof declared[i + 1] !== 'number' || declared[i + 1] === want));
  const inShape = session.inputs.find((i) => i.name === io.input)?.shape ?? [];
  const outShape = session.outputs.find((o) => o.name === io.output)?.shape ?? [];
  if (!fits(inShape, inMiddle) || !fits(outShape, outMiddle)) {
    throw new SonodiffError(
      'ERR_MODEL',
      `vocoder of model ${id} maps [${inShape.join(', ')}] → [${outShape.join(', ')}] but the manifest gives [batch, ${inMiddle.join(', ')}, frames] → [batch, ${outMiddle.join(', ')}, frames]`,
    );
  }
}
