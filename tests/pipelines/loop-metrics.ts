/** Seam measures for loops: how the wrap-around x[L−1] → x[0] compares with the changes inside. */
import { stftMagnitude } from '../../src/index.ts';

export interface SeamReport {
  /** |x[L−1] − x[0]|. */
  step: number;
  /** The largest |x[i] − x[i−1]| among the 32 steps on each side of the seam. */
  localStep: number;
  /** Largest spectral flux of a frame pair whose windows overlap the seam. */
  seamFlux: number;
  /** Largest spectral flux of frame pairs wholly inside one copy of the loop. */
  innerFlux: number;
}

/**
 * Spectral flux on the loop played twice: mean positive change of the dB magnitude between
 * consecutive frames (floor 80 dB below the peak), so a click at the seam, broadband, stands out
 * even under a loud narrow-band tone.
 */
export function seamReport(x: Float32Array, nFft = 1024, hop = 128): SeamReport {
  const L = x.length;
  let localStep = 0;
  for (let i = 1; i <= 32; i++) {
    localStep = Math.max(localStep, Math.abs(x[i]! - x[i - 1]!), Math.abs(x[L - i]! - x[L - i - 1]!));
  }
  const twice = new Float32Array(2 * L);
  twice.set(x);
  twice.set(x, L);
  const m = stftMagnitude(twice, { nFft, hopLength: hop, center: false });
  let peak = 0;
  for (const v of m.data) peak = Math.max(peak, v);
  const floor = peak * 1e-4;
  let seamFlux = 0;
  let innerFlux = 0;
  for (let f = 1; f < m.frames; f++) {
    let flux = 0;
    for (let k = 0; k < m.bins; k++) {
      const now = m.data[f * m.bins + k]!;
      const before = m.data[(f - 1) * m.bins + k]!;
      flux += Math.max(0, Math.log10(now + floor) - Math.log10(before + floor));
    }
    flux = (20 * flux) / m.bins;
    // Frames f−1 and f span samples (f−1)·hop … f·hop + nFft.
    const start = (f - 1) * hop;
    const end = f * hop + nFft;
    if (start < L && L < end) seamFlux = Math.max(seamFlux, flux);
    else if (end <= L) innerFlux = Math.max(innerFlux, flux);
  }
  return { step: Math.abs(x[L - 1]! - x[0]!), localStep, seamFlux, innerFlux };
}

/** The seam looks like the inside of the loop: no larger step, no larger spectral change. */
export function isSeamless(r: SeamReport): boolean {
  return r.step <= 1.5 * r.localStep && r.seamFlux <= r.innerFlux;
}
