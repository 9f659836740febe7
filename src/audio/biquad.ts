/** Second-order IIR sections: coefficients (normalised, a0 = 1) and a streaming filter. */

/** y[n] = b0·x[n] + b1·x[n−1] + b2·x[n−2] − a1·y[n−1] − a2·y[n−2]. */
export interface BiquadCoefficients {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

/** One biquad section (transposed direct form II). */
export class BiquadFilter {
  private z1 = 0;
  private z2 = 0;
  private readonly c: BiquadCoefficients;
  constructor(c: BiquadCoefficients) {
    this.c = { ...c };
  }

  /** 2nd-order Butterworth high-pass at `cutoff` Hz (bilinear transform, RBJ cookbook). */
  static highPass(sampleRate: number, cutoff: number): BiquadFilter {
    const w = (2 * Math.PI * cutoff) / sampleRate;
    const alpha = Math.sin(w) / (2 * Math.SQRT1_2);
    const cos = Math.cos(w);
    const a0 = 1 + alpha;
    return new BiquadFilter({
      b0: (1 + cos) / 2 / a0,
      b1: -(1 + cos) / a0,
      b2: (1 + cos) / 2 / a0,
      a1: (-2 * cos) / a0,
      a2: (1 - alpha) / a0,
    });
  }

  /**
   * First-order DC blocker y[n] = x[n] − x[n−1] + R·y[n−1] (−3 dB at about `cutoff` Hz): removes a
   * recorder's DC offset while leaving speech and music (≥ 40 Hz) practically untouched.
   */
  static dcBlocker(sampleRate: number, cutoff: number): BiquadFilter {
    const r = Math.exp((-2 * Math.PI * cutoff) / sampleRate);
    return new BiquadFilter({ b0: 1, b1: -1, b2: 0, a1: -r, a2: 0 });
  }

  /** Sets the state to the steady state for a constant input `x`, so a signal starting at a
   *  non-zero level (a DC offset) does not ring as if it stepped up from silence. */
  settle(x: number): void {
    const { b0, b1, b2, a1, a2 } = this.c;
    const y = (x * (b0 + b1 + b2)) / (1 + a1 + a2);
    this.z2 = b2 * x - a2 * y;
    this.z1 = b1 * x - a1 * y + this.z2;
  }

  /** Filters `x` in place; state carries across calls. */
  process(x: Float32Array): Float32Array {
    for (let i = 0; i < x.length; i++) x[i] = this.step(x[i]!);
    return x;
  }

  /** Filters one sample; state carries across calls. */
  step(x: number): number {
    const { b0, b1, b2, a1, a2 } = this.c;
    const y = b0 * x + this.z1;
    this.z1 = b1 * x - a1 * y + this.z2;
    this.z2 = b2 * x - a2 * y;
    return y;
  }
}
