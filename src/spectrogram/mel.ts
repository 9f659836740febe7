/**
 * Mel scales and triangular mel filterbanks, built like librosa.filters.mel: filter edges equally
 * spaced on the mel scale between fMin and fMax, triangles evaluated at the FFT bin frequencies
 * k·sr/nFft, optionally area-normalised ('slaney': each triangle has unit area in Hz).
 */
import { resolveStft, type Spectrogram, type StftOptions, stftMagnitude } from './stft.ts';

export type MelScale = 'slaney' | 'htk';
export type MelNorm = 'slaney' | null;

// Slaney's Auditory Toolbox scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above
// (27 mels per factor 6.4), so 1000 Hz = 15 mel.
const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOGSTEP = Math.log(6.4) / 27;

export function hzToMel(hz: number, scale: MelScale = 'slaney'): number {
  if (scale === 'htk') return 2595 * Math.log10(1 + hz / 700);
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOGSTEP : hz / F_SP;
}

export function melToHz(mel: number, scale: MelScale = 'slaney'): number {
  if (scale === 'htk') return 700 * (10 ** (mel / 2595) - 1);
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOGSTEP * (mel - MIN_LOG_MEL)) : F_SP * mel;
}

export interface MelOptions {
  sampleRate: number;
  nFft: number;
  /** Default 128 (librosa's default). */
  nMels?: number;
  /** Default 0 Hz. */
  fMin?: number;
  /** Default sampleRate / 2. */
  fMax?: number;
  /** Default 'slaney' (librosa's htk=False). torchaudio defaults to 'htk'. */
  scale?: MelScale;
  /** Default 'slaney' (librosa). null leaves triangles with peak 1 (torchaudio's default). */
  norm?: MelNorm;
}

export interface MelFilterbank {
  readonly nMels: number;
  /** FFT bins per frame, nFft/2 + 1. */
  readonly bins: number;
  readonly sampleRate: number;
  readonly nFft: number;
  /** nMels × bins, filter-major: weights[m · bins + k]. */
  readonly weights: Float32Array;
  /** The nonzero span of filter m is bins ranges[2m] ≤ k < ranges[2m+1] (empty when equal). */
  readonly ranges: Uint32Array;
  /** The nMels + 2 band edges in Hz (filter m rises from edge m, peaks at m+1, falls to m+2). */
  readonly edgesHz: Float64Array;
}

/** A mel filterbank matching librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk, norm). */
export function melFilterbank(options: MelOptions): MelFilterbank {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const { sampleRate, nFft } = options;
  if (!(Number.isFinite(sampleRate) && sampleRate > 0))
    throw new RangeError(`sampleRate must be a positive number, got ${sampleRate}`);
  if (!Number.isInteger(nFft) || nFft < 2) throw new RangeError(`nFft must be an integer ≥ 2, got ${nFft}`);
  const nMels = options.nMels ?? 128;
  if (!Number.isInteger(nMels) || nMels < 1)
    throw new RangeError(`nMels must be a positive integer, got ${nMels}`);
  const fMin = options.fMin ?? 0;
  const fMax = options.fMax ?? sampleRate / 2;
  if (!(fMin >= 0)) throw new RangeError(`fMin must be ≥ 0, got ${fMin}`);
  if (!(fMax > fMin)) throw new RangeError(`fMax (${fMax}) must be greater than fMin (${fMin})`);
  const scale = options.scale ?? 'slaney';
  if (scale !== 'slaney' && scale !== 'htk')
    throw new RangeError(`scale must be 'slaney' or 'htk', got ${String(scale)}`);
  const norm = options.norm === undefined ? 'slaney' : options.norm;
  if (norm !== 'slaney' && norm !== null) throw new RangeError(`norm must be 'slaney' or null, got ${norm}`);

  const bins = (nFft >> 1) + 1;
  const melLo = hzToMel(fMin, scale);
  const melHi = hzToMel(fMax, scale);
  const edges = new Float64Array(nMels + 2);
  for (let i = 0; i < nMels + 2; i++) edges[i] = melToHz(melLo + ((melHi - melLo) * i) / (nMels + 1), scale);
  const weights = new Float32Array(nMels * bins);
  const ranges = new Uint32Array(2 * nMels);
  for (let m = 0; m < nMels; m++) {
    const lo = edges[m]!;
    const mid = edges[m + 1]!;
    const hi = edges[m + 2]!;
    const enorm = norm === 'slaney' ? 2 / (hi - lo) : 1;
    let first = -1;
    let last = -1;
    for (let k = 0; k < bins; k++) {
      const f = (k * sampleRate) / nFft;
      const w = Math.max(0, Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
      if (w > 0) {
        weights[m * bins + k] = w * enorm;
        if (first < 0) first = k;
        last = k;
      }
    }
    ranges[2 * m] = Math.max(first, 0);
    ranges[2 * m + 1] = first < 0 ? 0 : last + 1;
  }
  return { nMels, bins, sampleRate, nFft, weights, ranges, edgesHz: edges };
}

/** Projects a linear-frequency spectrogram (frames × bins) onto the filterbank: frames × nMels. */
export function applyMel(spec: Spectrogram, fb: MelFilterbank): Spectrogram {
  if (spec === null || typeof spec !== 'object' || !(spec.data instanceof Float32Array))
    throw new TypeError('spec must be a Spectrogram');
  if (spec.bins !== fb.bins)
    throw new RangeError(`spec has ${spec.bins} bins but the filterbank expects ${fb.bins}`);
  const { frames, bins } = spec;
  const { nMels, weights, ranges } = fb;
  const out = new Float32Array(frames * nMels);
  for (let f = 0; f < frames; f++) {
    const row = f * bins;
    for (let m = 0; m < nMels; m++) {
      const w = m * bins;
      let s = 0;
      for (let k = ranges[2 * m]!; k < ranges[2 * m + 1]!; k++) s += weights[w + k]! * spec.data[row + k]!;
      out[f * nMels + m] = s;
    }
  }
  return { frames, bins: nMels, data: out };
}

export interface MelSpectrogramOptions extends StftOptions, Omit<MelOptions, 'nFft'> {
  /** Exponent of the magnitude before the filterbank: 2 = power (default), 1 = amplitude. */
  power?: number;
}

/** Mel spectrogram of a mono signal, frames × nMels (like librosa.feature.melspectrogram). */
export function melSpectrogram(signal: ArrayLike<number>, options: MelSpectrogramOptions): Spectrogram {
  const o = resolveStft(options);
  const fb = melFilterbank({ ...options, nFft: o.nFft });
  return applyMel(stftMagnitude(signal, o, options.power ?? 2), fb);
}
