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
import { BiquadFilter } from '../audio/biquad.ts';

export class AirBand {
  private readonly hpWet: BiquadFilter;
  private readonly hpLow: BiquadFilter;
  /** One-pole coefficient of the energy followers. */
  private readonly decay: number;
  private eWet = 0;
  private eLow = 0;

  constructor(sampleRate: number, modelRate: number, followerSeconds = 0.02) {
    if (!(sampleRate > modelRate))
      throw new RangeError(`sampleRate (${sampleRate}) must exceed modelRate (${modelRate})`);
    this.hpWet = BiquadFilter.highPass(sampleRate, modelRate / 4);
    this.hpLow = BiquadFilter.highPass(sampleRate, modelRate / 4);
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
