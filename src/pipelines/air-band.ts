/**
 * Keeps the band above the model's Nyquist frequency ("air") when denoising audio recorded at a
 * higher rate than the model's. The model only sees and returns the band below modelRate/2, so
 * without this a 48 kHz recording would come back band-limited to 8 kHz.
 *
 * The input's high band is `dry − low`, where `low` is the input sent through the same down/up
 * resamplers as the model path (so the two bands add back to the input exactly). It is passed
 * through with a gain that follows how much the model kept of the top octave of its own band:
 * g = √(E[hp(wet)²] / E[hp(low)²]), clamped to [0, 1], with E a 20 ms one-pole energy follower
 * and hp a 2nd-order Butterworth high-pass at modelRate/4. Where the model removes noise (pauses),
 * the air band is gated with it; where it keeps speech, the air band comes back. Streaming: state
 * carries across calls.
 */

/** One biquad section (transposed direct form II). */
class Biquad {
  private z1 = 0;
  private z2 = 0;
  private readonly b0: number;
  private readonly b1: number;
  private readonly b2: number;
  private readonly a1: number;
  private readonly a2: number;
  constructor(b0: number, b1: number, b2: number, a1: number, a2: number) {
    this.b0 = b0;
    this.b1 = b1;
    this.b2 = b2;
    this.a1 = a1;
    this.a2 = a2;
  }

  /** 2nd-order Butterworth high-pass at `cutoff` Hz (bilinear transform, RBJ cookbook). */
  static highPass(sampleRate: number, cutoff: number): Biquad {
    const w = (2 * Math.PI * cutoff) / sampleRate;
    const alpha = Math.sin(w) / (2 * Math.SQRT1_2);
    const cos = Math.cos(w);
    const a0 = 1 + alpha;
    return new Biquad(
      (1 + cos) / 2 / a0,
      -(1 + cos) / a0,
      (1 + cos) / 2 / a0,
      (-2 * cos) / a0,
      (1 - alpha) / a0,
    );
  }

  step(x: number): number {
    const y = this.b0 * x + this.z1;
    this.z1 = this.b1 * x - this.a1 * y + this.z2;
    this.z2 = this.b2 * x - this.a2 * y;
    return y;
  }
}

export class AirBand {
  private readonly hpWet: Biquad;
  private readonly hpLow: Biquad;
  /** One-pole coefficient of the energy followers. */
  private readonly decay: number;
  private eWet = 0;
  private eLow = 0;

  constructor(sampleRate: number, modelRate: number, followerSeconds = 0.02) {
    if (!(sampleRate > modelRate))
      throw new RangeError(`sampleRate (${sampleRate}) must exceed modelRate (${modelRate})`);
    this.hpWet = Biquad.highPass(sampleRate, modelRate / 4);
    this.hpLow = Biquad.highPass(sampleRate, modelRate / 4);
    this.decay = Math.exp(-1 / (followerSeconds * sampleRate));
  }

  /**
   * Adds the gated air band to `wet` in place. `low` is the input through the model path's
   * resamplers, `dry` the input; all three are aligned and of equal length.
   */
  process(wet: Float32Array, low: Float32Array, dry: Float32Array): void {
    const a = this.decay;
    // Guards 0/0 in digital silence (g = 1 there: nothing to gate).
    const floor = 1e-12;
    for (let i = 0; i < wet.length; i++) {
      const hw = this.hpWet.step(wet[i]!);
      const hl = this.hpLow.step(low[i]!);
      this.eWet = a * this.eWet + (1 - a) * hw * hw;
      this.eLow = a * this.eLow + (1 - a) * hl * hl;
      const g = Math.min(1, Math.sqrt((this.eWet + floor) / (this.eLow + floor)));
      wet[i] = wet[i]! + g * (dry[i]! - low[i]!);
    }
  }
}
