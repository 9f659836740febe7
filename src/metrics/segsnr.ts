/**
 * Segmental SNR: the mean over frames of each frame's SNR in dB, clamped to [−10, 35] dB so that
 * silent frames (SNR → −∞) and perfect frames (→ +∞) do not dominate (Hansen & Pellom 1998).
 * Defaults: 512-sample rectangular frames with hop 256 (32 ms / 16 ms at 16 kHz; the usual
 * 15–30 ms range). Only whole frames count; a signal shorter than one frame is one frame.
 */
import { checkFinite, checkPair, checkPositiveInt } from './check.ts';

export interface SegmentalSnrOptions {
  /** Frame length in samples. Default 512. */
  frameLength?: number;
  /** Hop between frame starts in samples. Default frameLength / 2. */
  hop?: number;
  /** Lower clamp in dB. Default −10. */
  minDb?: number;
  /** Upper clamp in dB. Default 35. */
  maxDb?: number;
}

/**
 * Floor inside the log, placed as in Loizou's widely used `comp_snr` so numbers compare: a perfect
 * frame scores maxDb and a silent reference frame scores minDb (even when the estimate is silent too).
 */
const FLOOR = 2.220446049250313e-16;

export function segmentalSnr(
  reference: Float32Array,
  estimate: Float32Array,
  options: SegmentalSnrOptions = {},
): number {
  checkPair(reference, estimate, 'reference', 'estimate');
  const frameLength = checkPositiveInt(options.frameLength ?? 512, 'options.frameLength');
  const hop = checkPositiveInt(options.hop ?? Math.max(1, frameLength >> 1), 'options.hop');
  const minDb = checkFinite(options.minDb ?? -10, 'options.minDb');
  const maxDb = checkFinite(options.maxDb ?? 35, 'options.maxDb');
  if (minDb > maxDb)
    throw new RangeError(`options.minDb (${minDb}) must not exceed options.maxDb (${maxDb})`);
  const n = reference.length;
  const len = Math.min(frameLength, n);
  const frames = 1 + Math.floor((n - len) / hop);
  let total = 0;
  for (let f = 0; f < frames; f++) {
    const start = f * hop;
    let signal = 0;
    let error = 0;
    for (let i = start; i < start + len; i++) {
      const r = reference[i]!;
      const d = r - estimate[i]!;
      signal += r * r;
      error += d * d;
    }
    const snr = 10 * Math.log10(signal / (error + FLOOR) + FLOOR);
    total += Math.min(maxDb, Math.max(minDb, snr));
  }
  return total / frames;
}
