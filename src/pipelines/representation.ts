/**
 * The model's view of audio, built from the pack manifest: waveform, log-mel, or compressed
 * complex STFT. Tensors are [channels, bins, frames] (time last, as the networks expect); the
 * spectrogram module's arrays are frames × bins, so encode/decode transpose.
 */
import { SonodiffError } from '../errors.ts';
import type { ModelManifest, SpectrogramParams } from '../packs/index.ts';
import {
  type ComplexSpectrogram,
  griffinLim,
  istft,
  type MelFilterbank,
  melFilterbank,
  melToLinear,
  type ResolvedStft,
  resolveStft,
  type Spectrogram,
  type StftOptions,
  stft,
} from '../spectrogram/index.ts';

export interface ModelRepresentation {
  /** Channels of one item's tensor (2 for complex STFT, 1 for mel, audio channels for waveform). */
  readonly channels: number;
  /** Rows per channel (mel bands, STFT bins; 1 for waveform). */
  readonly rows: number;
  /** Audio samples per model frame (STFT hop; 1 for waveform). */
  readonly hop: number;
  /** The model tensor's shape for one item of `frames` frames: [C, T] for waveforms, [C, R, T] otherwise. */
  itemShape(frames: number): number[];
  /** Frames the model sees for `samples` of audio. */
  frames(samples: number): number;
  /** Samples of audio that `frames` model frames stand for. */
  samples(frames: number): number;
  /** Mono audio → [channels, rows, frames] tensor data. */
  encode(audio: Float32Array): Float32Array;
  /** Tensor data → mono audio of `length` samples. `seed` fixes any random phase init. */
  decode(x: Float32Array, frames: number, length: number, seed?: number): Float32Array;
  /** STFT settings of spectral representations (absent for waveforms). */
  readonly stft?: ResolvedStft;
  /**
   * The linear-frequency spectrum (frames × bins) the tensor stands for: complex where the
   * representation keeps phase, magnitude only for mel. Absent for waveforms.
   */
  spectrum?(x: Float32Array, frames: number): LinearSpectrum;
  /**
   * Applies, in place, the low-frequency treatment of this representation's own inversion to a
   * magnitude made another way (a magnitude vocoder's), so both decoders render the same band.
   */
  shapeMagnitude?(magnitude: Spectrogram): void;
}

export type LinearSpectrum =
  | { kind: 'complex'; spec: ComplexSpectrogram }
  | { kind: 'magnitude'; magnitude: Spectrogram };

/** Mel inversion leaves linear bins below this empty (inaudible; see MelRepresentation.spectrum). */
const SUBSONIC_HZ = 20;
/** …and scales bins from there up to this by (f / LOW_TAPER_HZ)² (amplitude). */
const LOW_TAPER_HZ = 40;

/** Griffin-Lim iterations for mel decoding (fast Griffin-Lim, momentum 0.99). */
export const GRIFFIN_LIM_ITERATIONS = 32;

function stftSpec(p: SpectrogramParams): StftOptions {
  return {
    nFft: p.nFft,
    hopLength: p.hopLength,
    winLength: p.winLength,
    window: p.window,
    center: p.center,
    padMode: 'reflect',
  };
}

function stftOptionsOf(p: SpectrogramParams): ResolvedStft {
  return resolveStft(stftSpec(p));
}

/** frames × bins (frame-major) → bins × frames (time last), and back. */
function transpose(
  src: Float32Array,
  rows: number,
  cols: number,
  out = new Float32Array(src.length),
): Float32Array {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c]!;
  return out;
}

class WaveformRepresentation implements ModelRepresentation {
  readonly channels = 1;
  readonly rows = 1;
  readonly hop = 1;
  itemShape(frames: number): number[] {
    return [this.channels, frames];
  }
  frames(samples: number): number {
    return samples;
  }
  samples(frames: number): number {
    return frames;
  }
  encode(audio: Float32Array): Float32Array {
    return audio.slice();
  }
  decode(x: Float32Array, _frames: number, length: number): Float32Array {
    return x.slice(0, length);
  }
}

/** SGMSE-style compression c = β·|X|^α·e^{i∠X} keeps phase and evens out dynamic range. */
class ComplexStftRepresentation implements ModelRepresentation {
  readonly channels = 2;
  readonly rows: number;
  readonly hop: number;
  private readonly o: ResolvedStft;
  private readonly alpha: number;
  private readonly beta: number;

  get stft(): ResolvedStft {
    return this.o;
  }

  constructor(p: SpectrogramParams) {
    this.o = stftOptionsOf(p);
    this.rows = this.o.bins;
    this.hop = this.o.hopLength;
    this.alpha = p.alpha ?? 0.5;
    this.beta = p.beta ?? 0.15;
  }
  itemShape(frames: number): number[] {
    return [this.channels, this.rows, frames];
  }
  frames(samples: number): number {
    return this.o.center
      ? 1 + Math.floor(samples / this.hop)
      : 1 + Math.floor((samples - this.o.nFft) / this.hop);
  }
  samples(frames: number): number {
    return (frames - 1) * this.hop;
  }
  encode(audio: Float32Array): Float32Array {
    const s = stft(audio, this.o);
    const { frames, bins } = s;
    const re = new Float32Array(s.re.length);
    const im = new Float32Array(s.im.length);
    // sqrt instead of Math.hypot and pow (slow in V8; audio magnitudes cannot overflow):
    // α = 0.5, the usual SGMSE setting, needs one sqrt per bin.
    const { alpha, beta } = this;
    const half = alpha === 0.5;
    for (let i = 0; i < re.length; i++) {
      const a = s.re[i]!;
      const b = s.im[i]!;
      const mag = Math.sqrt(a * a + b * b);
      const g = mag > 0 ? (half ? beta / Math.sqrt(mag) : beta * mag ** (alpha - 1)) : 0;
      re[i] = g * a;
      im[i] = g * b;
    }
    const out = new Float32Array(2 * frames * bins);
    transpose(re, frames, bins, out.subarray(0, frames * bins));
    transpose(im, frames, bins, out.subarray(frames * bins));
    return out;
  }
  decode(x: Float32Array, frames: number, length: number): Float32Array {
    return istft(this.spectrum(x, frames).spec, { ...this.o, length });
  }
  spectrum(x: Float32Array, frames: number): { kind: 'complex'; spec: ComplexSpectrogram } {
    const bins = this.rows;
    const n = frames * bins;
    const re = transpose(x.subarray(0, n), bins, frames);
    const im = transpose(x.subarray(n, 2 * n), bins, frames);
    const { alpha, beta } = this;
    const half = alpha === 0.5;
    const invBeta2 = 1 / (beta * beta);
    for (let i = 0; i < n; i++) {
      const a = re[i]!;
      const b = im[i]!;
      const c = Math.sqrt(a * a + b * b);
      // α = 0.5: (c/β)² / c = c/β².
      const g = c > 0 ? (half ? c * invBeta2 : (c / beta) ** (1 / alpha) / c) : 0;
      re[i] = g * a;
      im[i] = g * b;
    }
    return { kind: 'complex', spec: { frames, bins, re, im } };
  }
}

/**
 * Log-mel: model value = (ln(max(mel, 1e-5)) − shift)·scale (or log10), mel of |X| or |X|².
 * Decoded by mel inversion + Griffin-Lim (or a pack's neural vocoder, see vocoder.ts).
 */
class MelRepresentation implements ModelRepresentation {
  readonly channels = 1;
  readonly rows: number;
  readonly hop: number;
  private readonly o: ResolvedStft;
  private readonly spec: StftOptions;
  private readonly fb: MelFilterbank;
  private readonly shift: number;
  private readonly scale: number;
  private readonly log10: boolean;
  private readonly power: 1 | 2;
  /** Amplitude gain of the lowest linear bins after mel inversion: 0 under SUBSONIC_HZ, then (f/LOW_TAPER_HZ)². */
  private readonly lowGain: Float32Array;

  get stft(): ResolvedStft {
    return this.o;
  }

  constructor(p: SpectrogramParams, sampleRate: number) {
    this.power = p.power ?? 1;
    this.spec = stftSpec(p);
    this.o = resolveStft(this.spec);
    this.hop = this.o.hopLength;
    this.fb = melFilterbank({
      sampleRate,
      nFft: p.nFft,
      nMels: p.nMels!,
      fMin: p.fMin ?? 0,
      fMax: p.fMax ?? sampleRate / 2,
      scale: p.melScale ?? 'slaney',
      norm: p.melNorm === undefined ? 'slaney' : p.melNorm,
    });
    this.rows = this.fb.nMels;
    this.shift = p.shift ?? 0;
    this.scale = p.scale ?? 1;
    this.log10 = p.compression === 'log10';
    const binHz = sampleRate / p.nFft;
    this.lowGain = Float32Array.from({ length: Math.ceil(LOW_TAPER_HZ / binHz) }, (_, b) =>
      b * binHz < SUBSONIC_HZ ? 0 : ((b * binHz) / LOW_TAPER_HZ) ** 2,
    );
  }
  itemShape(frames: number): number[] {
    return [this.channels, this.rows, frames];
  }
  frames(samples: number): number {
    return 1 + Math.floor(samples / this.hop);
  }
  samples(frames: number): number {
    return (frames - 1) * this.hop;
  }
  encode(audio: Float32Array): Float32Array {
    const s = stft(audio, this.o);
    const { frames, bins } = s;
    const mel = new Float32Array(frames * this.rows);
    const { weights, ranges } = this.fb;
    for (let f = 0; f < frames; f++) {
      for (let m = 0; m < this.rows; m++) {
        let acc = 0;
        for (let k = ranges[2 * m]!; k < ranges[2 * m + 1]!; k++) {
          const re = s.re[f * bins + k]!;
          const im = s.im[f * bins + k]!;
          acc += weights[m * bins + k]! * (this.power === 2 ? re * re + im * im : Math.hypot(re, im));
        }
        const l = this.log10 ? Math.log10(Math.max(acc, 1e-5)) : Math.log(Math.max(acc, 1e-5));
        mel[f * this.rows + m] = (l - this.shift) * this.scale;
      }
    }
    return transpose(mel, frames, this.rows);
  }
  /** Mel amplitude (frames × nMels) from model values. */
  toMel(x: Float32Array, frames: number): Spectrogram {
    const data = transpose(x.subarray(0, frames * this.rows), this.rows, frames);
    // Clamp to a plausible range (1e-5 … 1e5 mel magnitude) so a diverged model cannot make Inf.
    const lo = this.log10 ? -5 : Math.log(1e-5);
    const hi = this.log10 ? 5 : Math.log(1e5);
    for (let i = 0; i < data.length; i++) {
      const l = Math.min(hi, Math.max(lo, data[i]! / this.scale + this.shift));
      data[i] = this.log10 ? 10 ** l : Math.exp(l);
    }
    return { frames, bins: this.rows, data };
  }
  spectrum(x: Float32Array, frames: number): { kind: 'magnitude'; magnitude: Spectrogram } {
    const magnitude = melToLinear(this.toMel(x, frames), this.fb, { power: this.power });
    // The lowest mel filter spans 0 to about 75 Hz (16 kHz, 80 mels), so inversion cannot tell where
    // in it the energy was and spreads it down to DC. Composed loops hold 1.3 % of their energy below
    // 40 Hz (median of 14); after mel → inversion → Griffin-Lim it was 17 %, 6.8 % with the bins under
    // 20 Hz left empty, and 0.5 % with the bins up to 40 Hz also tapered by (f/40)² (0.14 % with
    // them empty), at +0.03 dB log-spectral distance to the original loop. Below 20 Hz is inaudible.
    this.shapeMagnitude(magnitude);
    return { kind: 'magnitude', magnitude };
  }
  /** Bins under 20 Hz emptied, 20–40 Hz scaled by (f/40)² (see spectrum()). */
  shapeMagnitude(magnitude: Spectrogram): void {
    const { bins, data } = magnitude;
    const taper = Math.min(bins, this.lowGain.length);
    for (let f = 0; f < magnitude.frames; f++)
      for (let b = 0; b < taper; b++) data[f * bins + b]! *= this.lowGain[b]!;
  }
  decode(x: Float32Array, frames: number, length: number, seed = 0): Float32Array {
    const lin = this.spectrum(x, frames).magnitude;
    return griffinLim(lin, { ...this.spec, iterations: GRIFFIN_LIM_ITERATIONS, momentum: 0.99, seed, length })
      .signal;
  }
}

export function representationFor(m: ModelManifest): ModelRepresentation {
  switch (m.representation) {
    case 'waveform':
      return new WaveformRepresentation();
    case 'complex-stft':
      return new ComplexStftRepresentation(m.spectrogram!);
    case 'mel':
      return new MelRepresentation(m.spectrogram!, m.sampleRate);
    default:
      throw new SonodiffError(
        'ERR_MODEL',
        `representation ${m.representation} is not supported by the built-in pipelines`,
      );
  }
}
