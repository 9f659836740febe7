/**
 * Short-time Fourier transform and its inverse, following torch.stft / torch.istft semantics:
 * one-sided spectra, a window of `winLength` samples zero-padded centred to `nFft`, optional
 * centring of frames on hop multiples by padding nFft/2 on each side, and an inverse by
 * weighted overlap-add divided by the overlap-added squared window (exact for any hop where
 * that sum is nonzero).
 *
 * Layout: frame-major. `re[f · bins + k]` is the real part of bin k (0..nFft/2) of frame f;
 * frame f covers input samples f·hop − nFft/2 … (centred) or f·hop … (not centred).
 */

import { reflectIndex } from '../audio/reflect.ts';
import { getFft } from './fft.ts';
import { checkCola, makeWindow, type WindowSpec } from './windows.ts';

export type PadMode = 'reflect' | 'constant';

export interface StftOptions {
  nFft: number;
  /** Samples between frames; default floor(winLength / 4), as torch and librosa. */
  hopLength?: number;
  /** Window length ≤ nFft; default nFft. The window is zero-padded centred to nFft. */
  winLength?: number;
  /** Default periodic Hann. Explicit samples must have winLength entries. */
  window?: WindowSpec;
  /** Pad nFft/2 on each side so frame f is centred on sample f·hop. Default true. */
  center?: boolean;
  /** Padding used when `center`: 'reflect' (torch's default) or 'constant' zeros (librosa ≥ 0.10's). */
  padMode?: PadMode;
  /** Scale the spectrum by 1/√nFft (torch's `normalized=True`). Default false. */
  normalized?: boolean;
}

/** A complex one-sided STFT, frames × bins, frame-major. */
export interface ComplexSpectrogram {
  readonly frames: number;
  readonly bins: number;
  readonly re: Float32Array;
  readonly im: Float32Array;
}

/** A real-valued time–frequency array (magnitude, power, mel, dB…), frames × bins, frame-major. */
export interface Spectrogram {
  readonly frames: number;
  readonly bins: number;
  readonly data: Float32Array;
}

/** Options with every default filled and the nFft-long padded window built. */
export interface ResolvedStft {
  nFft: number;
  hopLength: number;
  winLength: number;
  center: boolean;
  padMode: PadMode;
  normalized: boolean;
  bins: number;
  /** The analysis window, zero-padded centred to nFft samples. */
  window: Float64Array;
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${v}`);
}

/** Fills defaults, validates, and builds the padded window. Exposed so callers can cache it. */
export function resolveStft(options: StftOptions): ResolvedStft {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const { nFft } = options;
  checkInt('nFft', nFft, 1);
  const winLength = options.winLength ?? nFft;
  checkInt('winLength', winLength, 1);
  if (winLength > nFft) throw new RangeError(`winLength (${winLength}) must be ≤ nFft (${nFft})`);
  const hopLength = options.hopLength ?? Math.max(1, Math.floor(winLength / 4));
  checkInt('hopLength', hopLength, 1);
  const padMode = options.padMode ?? 'reflect';
  if (padMode !== 'reflect' && padMode !== 'constant')
    throw new RangeError(`padMode must be 'reflect' or 'constant', got ${String(padMode)}`);
  const w = makeWindow(options.window ?? 'hann', winLength);
  const window = new Float64Array(nFft);
  window.set(w, (nFft - winLength) >> 1);
  return {
    nFft,
    hopLength,
    winLength,
    center: options.center ?? true,
    padMode,
    normalized: options.normalized ?? false,
    bins: (nFft >> 1) + 1,
    window,
  };
}

/** Number of frames the STFT of `length` samples has. */
export function stftFrameCount(length: number, o: ResolvedStft): number {
  const padded = o.center ? length + 2 * (o.nFft >> 1) : length;
  if (padded < o.nFft) return 0;
  return 1 + Math.floor((padded - o.nFft) / o.hopLength);
}

/** The signal padded (if centred) into one Float64Array, so frames are plain slices. */
function padSignal(x: ArrayLike<number>, o: ResolvedStft): Float64Array {
  const n = x.length;
  if (!o.center) return Float64Array.from(x);
  const pad = o.nFft >> 1;
  const out = new Float64Array(n + 2 * pad);
  for (let i = 0; i < n; i++) out[pad + i] = x[i]!;
  if (o.padMode === 'reflect') {
    for (let i = 0; i < pad; i++) {
      out[i] = x[reflectIndex(i - pad, n)]!;
      out[pad + n + i] = x[reflectIndex(n + i, n)]!;
    }
  }
  return out;
}

function checkSignal(signal: ArrayLike<number>): void {
  if (signal === null || typeof signal !== 'object' || typeof signal.length !== 'number')
    throw new TypeError('signal must be a Float32Array or Float64Array');
  if (signal.length === 0) throw new RangeError('signal must have at least one sample');
}

/**
 * Runs `visit(frameIndex, re, im)` for each frame's spectrum (bins 0..nFft/2, Float64 scratch
 * reused between calls). The shared core of stft(), stftMagnitude() and Griffin-Lim.
 */
export function forEachFrame(
  signal: ArrayLike<number>,
  o: ResolvedStft,
  visit: (frame: number, re: Float64Array, im: Float64Array) => void,
): number {
  checkSignal(signal);
  const frames = stftFrameCount(signal.length, o);
  if (frames < 1)
    throw new RangeError(`signal has ${signal.length} samples, fewer than nFft (${o.nFft}) with center off`);
  const padded = padSignal(signal, o);
  const { nFft, hopLength, window } = o;
  const fft = getFft(nFft);
  const buf = new Float64Array(nFft);
  const re = new Float64Array(o.bins);
  const im = new Float64Array(o.bins);
  const scale = o.normalized ? 1 / Math.sqrt(nFft) : 1;
  // Only the window's nonzero span needs copying: the rest of buf stays zero.
  const w0 = (nFft - o.winLength) >> 1;
  const w1 = w0 + o.winLength;
  for (let f = 0; f < frames; f++) {
    const off = f * hopLength;
    for (let i = w0; i < w1; i++) buf[i] = padded[off + i]! * window[i]!;
    fft.forwardReal(buf, re, im);
    if (scale !== 1) {
      for (let k = 0; k < o.bins; k++) {
        re[k] = re[k]! * scale;
        im[k] = im[k]! * scale;
      }
    }
    visit(f, re, im);
  }
  return frames;
}

/** Complex STFT of a mono signal. */
export function stft(signal: ArrayLike<number>, options: StftOptions | ResolvedStft): ComplexSpectrogram {
  const o = 'bins' in options ? options : resolveStft(options);
  checkSignal(signal);
  const frames = stftFrameCount(signal.length, o);
  const bins = o.bins;
  const outRe = new Float32Array(Math.max(0, frames) * bins);
  const outIm = new Float32Array(Math.max(0, frames) * bins);
  forEachFrame(signal, o, (f, re, im) => {
    const base = f * bins;
    for (let k = 0; k < bins; k++) {
      outRe[base + k] = re[k]!;
      outIm[base + k] = im[k]!;
    }
  });
  return { frames, bins, re: outRe, im: outIm };
}

/**
 * |STFT|^power without storing the complex spectrum: power 1 = amplitude, 2 = power.
 */
export function stftMagnitude(
  signal: ArrayLike<number>,
  options: StftOptions | ResolvedStft,
  power = 1,
): Spectrogram {
  if (!(power > 0)) throw new RangeError(`power must be > 0, got ${power}`);
  const o = 'bins' in options ? options : resolveStft(options);
  checkSignal(signal);
  const frames = stftFrameCount(signal.length, o);
  const bins = o.bins;
  const data = new Float32Array(Math.max(0, frames) * bins);
  forEachFrame(signal, o, (f, re, im) => {
    const base = f * bins;
    for (let k = 0; k < bins; k++) {
      const p = re[k]! * re[k]! + im[k]! * im[k]!;
      data[base + k] = power === 2 ? p : power === 1 ? Math.sqrt(p) : p ** (power / 2);
    }
  });
  return { frames, bins, data };
}

/** Output length istft produces for `frames` frames when no `length` is given (as torch.istft). */
export function istftLength(frames: number, o: ResolvedStft): number {
  const full = o.nFft + o.hopLength * (frames - 1);
  return o.center ? full - 2 * (o.nFft >> 1) : full;
}

/**
 * Inverse STFT by weighted overlap-add: each frame is inverse-transformed, multiplied by the
 * window, summed, and divided by Σ w²(n − f·hop). Exact (to float precision) for any hop where
 * that sum is nonzero; samples where it vanishes (only possible at the very edges with
 * center off) are set to 0. `length` trims or zero-pads the output, like torch.istft.
 */
export function istft(
  spec: ComplexSpectrogram,
  options: (StftOptions | ResolvedStft) & { length?: number },
): Float32Array {
  const o = 'bins' in options ? options : resolveStft(options);
  if (spec === null || typeof spec !== 'object' || !(spec.re instanceof Float32Array))
    throw new TypeError('spec must be a ComplexSpectrogram');
  const { frames, bins } = spec;
  if (bins !== o.bins) throw new RangeError(`spec has ${bins} bins, but nFft ${o.nFft} needs ${o.bins}`);
  if (spec.re.length !== frames * bins || spec.im.length !== frames * bins)
    throw new RangeError(`spec arrays must hold frames × bins = ${frames * bins} values`);
  if (frames < 1) throw new RangeError('spec must have at least one frame');
  const nola = checkCola(o.window, Math.min(o.hopLength, o.nFft), { power: 2 });
  if (o.hopLength > o.nFft || !(nola.minimum > 1e-11))
    throw new RangeError(
      `hopLength ${o.hopLength} leaves gaps where the squared window sums to 0: inversion is impossible`,
    );
  const { nFft, hopLength, window } = o;
  const full = nFft + hopLength * (frames - 1);
  const acc = new Float64Array(full);
  const env = new Float64Array(full);
  const fft = getFft(nFft);
  const frame = new Float64Array(nFft);
  const fr = new Float64Array(bins);
  const fi = new Float64Array(bins);
  const scale = o.normalized ? Math.sqrt(nFft) : 1;
  const w0 = (nFft - o.winLength) >> 1;
  const w1 = w0 + o.winLength;
  for (let f = 0; f < frames; f++) {
    const base = f * bins;
    for (let k = 0; k < bins; k++) {
      fr[k] = spec.re[base + k]! * scale;
      fi[k] = spec.im[base + k]! * scale;
    }
    fft.inverseReal(fr, fi, frame);
    const off = f * hopLength;
    for (let i = w0; i < w1; i++) {
      const w = window[i]!;
      acc[off + i] += frame[i]! * w;
      env[off + i] += w * w;
    }
  }
  const start = o.center ? nFft >> 1 : 0;
  const outLen = options.length ?? istftLength(frames, o);
  if (!Number.isInteger(outLen) || outLen < 0)
    throw new RangeError(`length must be a non-negative integer, got ${outLen}`);
  const out = new Float32Array(outLen);
  const end = Math.min(outLen, full - start);
  for (let i = 0; i < end; i++) {
    const e = env[start + i]!;
    out[i] = e > 1e-11 ? acc[start + i]! / e : 0;
  }
  return out;
}
