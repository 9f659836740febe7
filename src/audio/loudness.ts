/**
 * ITU-R BS.1770-4 loudness: K-weighting, 400 ms gating blocks with 75 % overlap, absolute gate at
 * −70 LUFS and relative gate at −10 LU; plus sample/true peak and normalisation to either.
 *
 * The K-weighting biquads are the standard's 48 kHz filters expressed as analog prototypes
 * (shelf and high-pass corner, Q, gain) and re-derived by the bilinear transform for any rate, so
 * 44.1 kHz or 16 kHz input is measured without resampling.
 */
import type { BiquadCoefficients as Biquad } from './biquad.ts';
import { resample } from './resample.ts';
import type { PcmAudio } from './types.ts';

/** Stage 1: the head-related high shelf (+4 dB above ~1.7 kHz). */
function shelfFilter(rate: number): Biquad {
  const f0 = 1681.974450955533;
  const gainDb = 3.999843853973347;
  const q = 0.7071752369554196;
  const k = Math.tan((Math.PI * f0) / rate);
  const vh = 10 ** (gainDb / 20);
  const vb = vh ** 0.4996667741545416;
  const a0 = 1 + k / q + k * k;
  return {
    b0: (vh + (vb * k) / q + k * k) / a0,
    b1: (2 * (k * k - vh)) / a0,
    b2: (vh - (vb * k) / q + k * k) / a0,
    a1: (2 * (k * k - 1)) / a0,
    a2: (1 - k / q + k * k) / a0,
  };
}

/** Stage 2: the RLB high-pass (~38 Hz). */
function highPassFilter(rate: number): Biquad {
  const f0 = 38.13547087602444;
  const q = 0.5003270373238773;
  const k = Math.tan((Math.PI * f0) / rate);
  const a0 = 1 + k / q + k * k;
  return { b0: 1, b1: -2, b2: 1, a1: (2 * (k * k - 1)) / a0, a2: (1 - k / q + k * k) / a0 };
}

/**
 * BS.1770 channel weights by position for the usual WAV/SMPTE orders: 1–3 channels weight 1;
 * 5.1 (L R C LFE Ls Rs) and 7.1 (L R C LFE Lb Rb Ls Rs) drop the LFE and weight surrounds 1.41.
 */
export function defaultChannelWeights(channels: number): number[] {
  if (channels === 6) return [1, 1, 1, 0, 1.41, 1.41];
  if (channels === 8) return [1, 1, 1, 0, 1.41, 1.41, 1.41, 1.41];
  if (channels === 4) return [1, 1, 1.41, 1.41]; // quad: L R Ls Rs
  if (channels === 5) return [1, 1, 1, 1.41, 1.41]; // 5.0: L R C Ls Rs
  return new Array<number>(channels).fill(1);
}

export interface LoudnessOptions {
  /** Per-channel weights G_i; default from `defaultChannelWeights`. */
  channelWeights?: number[];
}

const ABSOLUTE_GATE = -70;
const RELATIVE_GATE = -10;

/**
 * Streaming integrated-loudness meter: push planar chunks of any size, read `integrated()` at
 * any time. Memory grows by one number per channel per 100 ms.
 */
export class LoudnessMeter {
  readonly sampleRate: number;
  readonly channelCount: number;
  private readonly weights: number[];
  private readonly stages: [Biquad, Biquad];
  /** Filter state per channel: x1 x2 y1 y2 for each stage. */
  private readonly state: Float64Array;
  /** Sum of squared K-weighted samples per channel in the current 100 ms segment. */
  private readonly segAcc: Float64Array;
  private segIndex = 0;
  private segPos = 0;
  private segLen: number;
  /** Completed segments: weighted Σ G_i·(Σ z²) per segment, and their lengths. */
  private segEnergy: number[] = [];
  private segFrames: number[] = [];

  constructor(sampleRate: number, channelCount: number, opts: LoudnessOptions = {}) {
    if (!Number.isFinite(sampleRate) || sampleRate < 1000 || sampleRate > 384_000)
      throw new RangeError(`sampleRate must be in [1000, 384000] Hz, got ${sampleRate}`);
    if (!Number.isInteger(channelCount) || channelCount < 1 || channelCount > 64)
      throw new RangeError(`channelCount must be an integer in [1, 64], got ${channelCount}`);
    const weights = opts.channelWeights ?? defaultChannelWeights(channelCount);
    if (weights.length !== channelCount || weights.some((w) => !(w >= 0)))
      throw new RangeError(`opts.channelWeights must be ${channelCount} non-negative numbers`);
    this.sampleRate = sampleRate;
    this.channelCount = channelCount;
    this.weights = weights;
    this.stages = [shelfFilter(sampleRate), highPassFilter(sampleRate)];
    this.state = new Float64Array(channelCount * 8);
    this.segAcc = new Float64Array(channelCount);
    this.segLen = this.segmentLength(0);
  }

  /** Segment j spans [round(j·rate/10), round((j+1)·rate/10)) so blocks stay exact at any rate. */
  private segmentLength(j: number): number {
    return Math.round(((j + 1) * this.sampleRate) / 10) - Math.round((j * this.sampleRate) / 10);
  }

  push(channels: Float32Array[]): void {
    if (!Array.isArray(channels) || channels.length !== this.channelCount)
      throw new RangeError(`channels must be an array of ${this.channelCount} Float32Arrays`);
    const n = channels[0]!.length;
    for (const ch of channels)
      if (!(ch instanceof Float32Array) || ch.length !== n)
        throw new TypeError('channels must be Float32Arrays of equal length');
    const [s1, s2] = this.stages;
    let done = 0;
    while (done < n) {
      const take = Math.min(n - done, this.segLen - this.segPos);
      for (let c = 0; c < this.channelCount; c++) {
        const x = channels[c]!;
        const st = c * 8;
        let x1 = this.state[st]!;
        let x2 = this.state[st + 1]!;
        let y1 = this.state[st + 2]!;
        let y2 = this.state[st + 3]!;
        let u1 = this.state[st + 4]!;
        let u2 = this.state[st + 5]!;
        let v1 = this.state[st + 6]!;
        let v2 = this.state[st + 7]!;
        let acc = 0;
        for (let i = done; i < done + take; i++) {
          const xi = x[i]!;
          const y = s1.b0 * xi + s1.b1 * x1 + s1.b2 * x2 - s1.a1 * y1 - s1.a2 * y2;
          x2 = x1;
          x1 = xi;
          y2 = y1;
          y1 = y;
          const v = s2.b0 * y + s2.b1 * u1 + s2.b2 * u2 - s2.a1 * v1 - s2.a2 * v2;
          u2 = u1;
          u1 = y;
          v2 = v1;
          v1 = v;
          acc += v * v;
        }
        this.state.set([x1, x2, y1, y2, u1, u2, v1, v2], st);
        this.segAcc[c] = this.segAcc[c]! + acc;
      }
      done += take;
      this.segPos += take;
      if (this.segPos === this.segLen) {
        let e = 0;
        for (let c = 0; c < this.channelCount; c++) e += this.weights[c]! * this.segAcc[c]!;
        this.segEnergy.push(e);
        this.segFrames.push(this.segLen);
        this.segAcc.fill(0);
        this.segPos = 0;
        this.segIndex++;
        this.segLen = this.segmentLength(this.segIndex);
      }
    }
  }

  /** Weighted mean-square power Σ G_i·z_i of each complete 400 ms block (step 100 ms). */
  blockPowers(): Float64Array {
    const nBlocks = Math.max(0, this.segEnergy.length - 3);
    const out = new Float64Array(nBlocks);
    for (let j = 0; j < nBlocks; j++) {
      let e = 0;
      let f = 0;
      for (let k = j; k < j + 4; k++) {
        e += this.segEnergy[k]!;
        f += this.segFrames[k]!;
      }
      out[j] = e / f;
    }
    return out;
  }

  /** Integrated loudness in LUFS; −Infinity when no block passes the gates (silence, < 400 ms). */
  integrated(): number {
    const powers = this.blockPowers();
    const lufs = (p: number) => -0.691 + 10 * Math.log10(p);
    let sum = 0;
    let count = 0;
    for (const p of powers)
      if (lufs(p) > ABSOLUTE_GATE) {
        sum += p;
        count++;
      }
    if (count === 0) return Number.NEGATIVE_INFINITY;
    const relGate = lufs(sum / count) + RELATIVE_GATE;
    sum = 0;
    count = 0;
    for (const p of powers) {
      const l = lufs(p);
      if (l > ABSOLUTE_GATE && l > relGate) {
        sum += p;
        count++;
      }
    }
    return count === 0 ? Number.NEGATIVE_INFINITY : lufs(sum / count);
  }
}

function checkAudio(audio: PcmAudio, name = 'audio'): void {
  if (
    audio === null ||
    typeof audio !== 'object' ||
    !Array.isArray(audio.channels) ||
    audio.channels.length === 0
  )
    throw new TypeError(`${name} must be a PcmAudio with at least one channel`);
}

/** BS.1770-4 integrated loudness of `audio` in LUFS (−Infinity for silence or under 400 ms). */
export function integratedLoudness(audio: PcmAudio, opts: LoudnessOptions = {}): number {
  checkAudio(audio);
  const meter = new LoudnessMeter(audio.sampleRate, audio.channels.length, opts);
  meter.push(audio.channels);
  return meter.integrated();
}

/** Largest absolute sample value over all channels (linear). */
export function samplePeak(audio: PcmAudio): number {
  checkAudio(audio);
  let peak = 0;
  for (const ch of audio.channels)
    for (let i = 0; i < ch.length; i++) {
      const a = Math.abs(ch[i]!);
      if (a > peak) peak = a;
    }
  return peak;
}

/**
 * True peak (linear) per BS.1770-4 Annex 2: the sample peak after oversampling to ≥ 192 kHz
 * (4× at 48 kHz, at most 8×). The interpolator is a short linear-phase filter (passband 80 % of
 * Nyquist, 60 dB stopband), comparable to the standard's 48-tap example.
 */
export function truePeak(audio: PcmAudio): number {
  checkAudio(audio);
  // ≥ 192 kHz as the standard asks, capped at 8× so low-rate speech stays cheap.
  const factor = Math.min(8, Math.max(1, Math.ceil(192_000 / audio.sampleRate - 1e-9)));
  if (factor === 1) return samplePeak(audio);
  let peak = 0;
  for (const ch of audio.channels) {
    const up = resample(ch, audio.sampleRate, audio.sampleRate * factor, { bandwidth: 0.8, stopbandDb: 60 });
    for (let i = 0; i < up.length; i++) {
      const a = Math.abs(up[i]!);
      if (a > peak) peak = a;
    }
    // Sample values themselves count too (the filter may ring slightly below them).
    for (let i = 0; i < ch.length; i++) {
      const a = Math.abs(ch[i]!);
      if (a > peak) peak = a;
    }
  }
  return peak;
}

function applyGain(audio: PcmAudio, gain: number): PcmAudio {
  return {
    sampleRate: audio.sampleRate,
    channels: audio.channels.map((ch) => {
      const out = new Float32Array(ch.length);
      for (let i = 0; i < ch.length; i++) out[i] = ch[i]! * gain;
      return out;
    }),
  };
}

export interface NormalizeResult {
  audio: PcmAudio;
  /** Gain applied, in dB (0 for silence). */
  gainDb: number;
}

/**
 * Scales `audio` so its integrated loudness is `targetLufs`. With `peakCeilingDb` the gain is
 * reduced when needed so the (true or sample) peak stays at or below that ceiling in dBFS.
 */
export function normalizeLoudness(
  audio: PcmAudio,
  targetLufs: number,
  opts: LoudnessOptions & { peakCeilingDb?: number; peakMode?: 'sample' | 'true' } = {},
): NormalizeResult & { loudness: number } {
  checkAudio(audio);
  if (!Number.isFinite(targetLufs) || targetLufs > 0 || targetLufs < -70)
    throw new RangeError(`targetLufs must be in [-70, 0], got ${targetLufs}`);
  const loudness = integratedLoudness(audio, opts);
  if (!Number.isFinite(loudness)) return { audio: applyGain(audio, 1), gainDb: 0, loudness };
  let gainDb = targetLufs - loudness;
  if (opts.peakCeilingDb !== undefined) {
    if (!Number.isFinite(opts.peakCeilingDb)) throw new RangeError('opts.peakCeilingDb must be finite');
    const peak = opts.peakMode === 'sample' ? samplePeak(audio) : truePeak(audio);
    if (peak > 0) gainDb = Math.min(gainDb, opts.peakCeilingDb - 20 * Math.log10(peak));
  }
  return { audio: applyGain(audio, 10 ** (gainDb / 20)), gainDb, loudness };
}
