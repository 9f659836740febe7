/**
 * STFT of one period of a periodic signal (a seamless loop), its inverse, and Griffin-Lim, on a
 * frame grid that may be non-uniform: frame f sits at sample round(f·period/frames) and wraps
 * around the period, so there are no edges — the loop's end overlaps its start exactly as in the
 * endlessly repeated signal. With period = frames·hop this is the ordinary STFT of the repeated
 * loop (frame f of one period, same conventions as stft.ts). With another period, Griffin-Lim on
 * the grid is Griffin & Lim's (1984) time-scale modification: the same magnitudes re-spaced, so
 * the loop gets exactly `period` samples and keeps its pitch (no resampling).
 */
import { getFft } from './fft.ts';
import {
  checkGriffinLim,
  type GriffinLimGrid,
  type GriffinLimResult,
  iterateGriffinLim,
} from './griffinlim.ts';
import {
  type ComplexSpectrogram,
  type ResolvedStft,
  resolveStft,
  type Spectrogram,
  type StftOptions,
} from './stft.ts';

export interface CircularGriffinLimOptions {
  /** Samples in one period of the output loop. */
  period: number;
  /** Default 32. */
  iterations?: number;
  /** Default 0.99 (fast Griffin-Lim); 0 = plain. */
  momentum?: number;
  /**
   * Initial phase: uniform random from `seed` (default), zero, or the phase of a complex spectrum
   * of the magnitude's frames and bins (to refine a spectrum such as a neural vocoder's; its
   * magnitude is not used). A given phase belongs on the grid it was made for, the uniform one
   * (period = frames·hop): on a re-spaced grid it makes Griffin-Lim settle on a resampled —
   * pitch-shifted — signal; start those from random phase.
   */
  init?: 'random' | 'zeros' | ComplexSpectrogram;
  /** Seed of the initial-phase generator. Default 0. */
  seed?: number;
  onIteration?: (iteration: number, spectralConvergence: number) => void;
}

/** Frame positions (samples) of `frames` frames spread evenly over `period`: round(f·period/frames). */
export function circularFramePositions(frames: number, period: number): Int32Array {
  checkGrid(frames, period);
  const out = new Int32Array(frames);
  for (let f = 0; f < frames; f++) out[f] = Math.round((f * period) / frames);
  return out;
}

function checkGrid(frames: number, period: number): void {
  if (!Number.isInteger(frames) || frames < 1)
    throw new RangeError(`frames must be a positive integer, got ${frames}`);
  if (!Number.isInteger(period) || period < 1)
    throw new RangeError(`period must be a positive integer, got ${period}`);
}

/** The grid, window and squared-window envelope of one (frames, period) layout, reused across iterations. */
class CircularFrames implements GriffinLimGrid {
  readonly frames: number;
  readonly period: number;
  private readonly o: ResolvedStft;
  /** First sample (mod period) of each frame's nFft-long buffer. */
  private readonly starts: Int32Array;
  private readonly env: Float64Array;
  private readonly w0: number;
  private readonly w1: number;
  private readonly buf: Float64Array;

  constructor(o: ResolvedStft, frames: number, period: number) {
    checkGrid(frames, period);
    this.o = o;
    this.frames = frames;
    this.period = period;
    // A centred frame's buffer starts nFft/2 before its position, as in stft.ts.
    const lead = o.center ? o.nFft >> 1 : 0;
    const pos = circularFramePositions(frames, period);
    this.starts = new Int32Array(frames);
    for (let f = 0; f < frames; f++) this.starts[f] = mod(pos[f]! - lead, period);
    this.w0 = (o.nFft - o.winLength) >> 1;
    this.w1 = this.w0 + o.winLength;
    this.buf = new Float64Array(o.nFft);
    this.env = new Float64Array(period);
    for (let f = 0; f < frames; f++) {
      let j = mod(this.starts[f]! + this.w0, period);
      for (let i = this.w0; i < this.w1; i++) {
        this.env[j] += o.window[i]! * o.window[i]!;
        if (++j === period) j = 0;
      }
    }
    for (let n = 0; n < period; n++) {
      if (!(this.env[n]! > 1e-11))
        throw new RangeError(
          `${frames} frames over ${period} samples leave gaps where the squared window sums to 0`,
        );
    }
  }

  /** Runs `visit(frame, re, im)` on each frame's spectrum (Float64 scratch, reused). */
  analyse(x: ArrayLike<number>, visit: (f: number, re: Float64Array, im: Float64Array) => void): void {
    const { o, buf, w0, w1, period } = this;
    const fft = getFft(o.nFft);
    const re = new Float64Array(o.bins);
    const im = new Float64Array(o.bins);
    const scale = o.normalized ? 1 / Math.sqrt(o.nFft) : 1;
    for (let f = 0; f < this.frames; f++) {
      let j = mod(this.starts[f]! + w0, period);
      for (let i = w0; i < w1; i++) {
        buf[i] = x[j]! * o.window[i]!;
        if (++j === period) j = 0;
      }
      fft.forwardReal(buf, re, im);
      if (scale !== 1) {
        for (let k = 0; k < o.bins; k++) {
          re[k] = re[k]! * scale;
          im[k] = im[k]! * scale;
        }
      }
      visit(f, re, im);
    }
  }

  /** Weighted overlap-add around the period, divided by the circular Σw². */
  synthesise(spec: ComplexSpectrogram): Float32Array {
    const { o, w0, w1, period } = this;
    const bins = o.bins;
    const fft = getFft(o.nFft);
    const fr = new Float64Array(bins);
    const fi = new Float64Array(bins);
    const frame = new Float64Array(o.nFft);
    const acc = new Float64Array(period);
    const scale = o.normalized ? Math.sqrt(o.nFft) : 1;
    for (let f = 0; f < this.frames; f++) {
      const base = f * bins;
      for (let k = 0; k < bins; k++) {
        fr[k] = spec.re[base + k]! * scale;
        fi[k] = spec.im[base + k]! * scale;
      }
      fft.inverseReal(fr, fi, frame);
      let j = mod(this.starts[f]! + w0, period);
      for (let i = w0; i < w1; i++) {
        acc[j] += frame[i]! * o.window[i]!;
        if (++j === period) j = 0;
      }
    }
    const out = new Float32Array(period);
    for (let n = 0; n < period; n++) out[n] = acc[n]! / this.env[n]!;
    return out;
  }
}

function mod(a: number, n: number): number {
  const r = a % n;
  return r < 0 ? r + n : r;
}

function checkSpec(spec: ComplexSpectrogram, o: ResolvedStft): void {
  if (spec === null || typeof spec !== 'object' || !(spec.re instanceof Float32Array))
    throw new TypeError('spec must be a ComplexSpectrogram');
  if (spec.bins !== o.bins)
    throw new RangeError(`spec has ${spec.bins} bins, but nFft ${o.nFft} needs ${o.bins}`);
  if (spec.re.length !== spec.frames * spec.bins || spec.im.length !== spec.frames * spec.bins)
    throw new RangeError(`spec arrays must hold frames × bins = ${spec.frames * spec.bins} values`);
}

/** STFT of one period of a loop (`signal.length` samples) in `frames` frames spread evenly over it. */
export function circularStft(
  signal: ArrayLike<number>,
  stft: StftOptions | ResolvedStft,
  frames: number,
): ComplexSpectrogram {
  const o = 'bins' in stft ? stft : resolveStft(stft);
  const grid = new CircularFrames(o, frames, signal.length);
  const re = new Float32Array(frames * o.bins);
  const im = new Float32Array(frames * o.bins);
  grid.analyse(signal, (f, r, i) => {
    re.set(r, f * o.bins);
    im.set(i, f * o.bins);
  });
  return { frames, bins: o.bins, re, im };
}

/** One period (`period` samples) of the loop whose circular STFT on the even grid is `spec`. */
export function circularIstft(
  spec: ComplexSpectrogram,
  stft: StftOptions | ResolvedStft,
  period: number,
): Float32Array {
  const o = 'bins' in stft ? stft : resolveStft(stft);
  checkSpec(spec, o);
  return new CircularFrames(o, spec.frames, period).synthesise(spec);
}

/**
 * A loop of exactly `period` samples whose circular STFT magnitude on the even grid matches
 * `magnitude` (frames × bins, amplitude). Same update and momentum as griffinLim.
 */
export function circularGriffinLim(
  magnitude: Spectrogram,
  stft: StftOptions | ResolvedStft,
  options: CircularGriffinLimOptions,
): GriffinLimResult {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const o = 'bins' in stft ? stft : resolveStft(stft);
  const settings = checkGriffinLim(magnitude, o, options);
  const grid = new CircularFrames(o, magnitude.frames, options.period);
  const { signal, spectralConvergence } = iterateGriffinLim(magnitude, settings, grid, options.onIteration);
  return { signal, spectralConvergence };
}
