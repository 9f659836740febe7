/**
 * Log-spectral distance in dB: for each STFT frame the RMS over frequency bins of the difference of
 * the two power spectra in dB, then the mean over frames. Defaults (fftSize 2048, hop 512, Hann)
 * follow the bandwidth-extension literature, where LSD is most quoted.
 */
import { stftMagnitude } from '../spectrogram/stft.ts';
import { checkFinite, checkPair, checkPositiveInt } from './check.ts';

export interface LsdOptions {
  /** FFT and window length. Default 2048. */
  fftSize?: number;
  /** Hop between frames. Default fftSize / 4. */
  hop?: number;
  /** Added to every power value before taking dB so silent bins stay finite. Default 1e-10 (−100 dB). */
  eps?: number;
}

export function logSpectralDistance(
  reference: Float32Array,
  estimate: Float32Array,
  options: LsdOptions = {},
): number {
  checkPair(reference, estimate, 'reference', 'estimate');
  const fftSize = checkPositiveInt(options.fftSize ?? 2048, 'options.fftSize');
  if (fftSize < 2) throw new RangeError(`options.fftSize must be at least 2, got ${fftSize}`);
  const hop = checkPositiveInt(options.hop ?? Math.max(1, fftSize >> 2), 'options.hop');
  const eps = checkFinite(options.eps ?? 1e-10, 'options.eps');
  if (eps <= 0) throw new RangeError(`options.eps must be positive, got ${eps}`);
  // Centred frames with reflect padding and a periodic Hann window, as torch.stft defaults.
  const stftOptions = { nFft: fftSize, hopLength: hop, center: true, padMode: 'reflect' } as const;
  const a = stftMagnitude(reference, stftOptions, 2);
  const b = stftMagnitude(estimate, stftOptions, 2);
  let total = 0;
  for (let f = 0; f < a.frames; f++) {
    const o = f * a.bins;
    let s = 0;
    for (let k = 0; k < a.bins; k++) {
      const d = 10 * Math.log10((a.data[o + k]! + eps) / (b.data[o + k]! + eps));
      s += d * d;
    }
    total += Math.sqrt(s / a.bins);
  }
  return total / a.frames;
}
