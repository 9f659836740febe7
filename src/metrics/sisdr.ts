/**
 * Signal-to-distortion ratios in dB. `siSdr` is the scale-invariant SDR of Le Roux et al. (2019):
 * both signals made zero-mean, the reference scaled to its least-squares fit of the estimate, and
 * the energy of that target compared with what is left over. `sdr` is the plain ratio
 * ‖s‖² / ‖s − ŝ‖² (no scaling, no mean removal, not BSS-Eval's filtered SDR).
 */
import { checkPair } from './check.ts';

/** Scale-invariant SDR in dB; +Infinity when the estimate is an exact scaled copy of the reference. */
export function siSdr(reference: Float32Array, estimate: Float32Array): number {
  checkPair(reference, estimate, 'reference', 'estimate');
  const n = reference.length;
  let mr = 0;
  let me = 0;
  for (let i = 0; i < n; i++) {
    mr += reference[i]!;
    me += estimate[i]!;
  }
  mr /= n;
  me /= n;
  let rr = 0;
  let re = 0;
  for (let i = 0; i < n; i++) {
    const r = reference[i]! - mr;
    rr += r * r;
    re += r * (estimate[i]! - me);
  }
  if (rr === 0) throw new RangeError('reference must not be constant (SI-SDR is undefined)');
  const alpha = re / rr;
  let target = 0;
  let residual = 0;
  for (let i = 0; i < n; i++) {
    const t = alpha * (reference[i]! - mr);
    const e = estimate[i]! - me - t;
    target += t * t;
    residual += e * e;
  }
  return 10 * Math.log10(target / residual);
}

/** Plain SDR (the estimate's SNR) in dB; +Infinity for an exact copy. */
export function sdr(reference: Float32Array, estimate: Float32Array): number {
  checkPair(reference, estimate, 'reference', 'estimate');
  let signal = 0;
  let error = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    const d = r - estimate[i]!;
    signal += r * r;
    error += d * d;
  }
  if (signal === 0) throw new RangeError('reference must not be silent (SDR is undefined)');
  return 10 * Math.log10(signal / error);
}
