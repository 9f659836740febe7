/**
 * Channel mixing, gain, peak normalisation, fades and crossfades on planar PcmAudio. Every
 * function returns new buffers and leaves its input untouched.
 */
import { samplePeak, truePeak } from './loudness.ts';
import type { PcmAudio } from './types.ts';

const MINUS_3DB = Math.SQRT1_2;

function checkAudio(audio: PcmAudio, name = 'audio'): void {
  if (audio === null || typeof audio !== 'object' || !Array.isArray(audio.channels))
    throw new TypeError(`${name} must be a PcmAudio`);
  if (audio.channels.length === 0) throw new RangeError(`${name} must have at least one channel`);
  const n = audio.channels[0]!.length;
  for (const ch of audio.channels)
    if (!(ch instanceof Float32Array) || ch.length !== n)
      throw new TypeError(`${name}.channels must be Float32Arrays of equal length`);
}

function frames(audio: PcmAudio): number {
  return audio.channels[0]!.length;
}

/**
 * The standard mixing matrix (rows = output channels, columns = input channels) from `from` to
 * `to` channels, for the WAV/SMPTE orders mono, stereo, L R C, quad (L R Ls Rs), 5.0, 5.1
 * (L R C LFE Ls Rs) and 7.1 (L R C LFE Lb Rb Ls Rs). Downmixes to stereo follow ITU-R BS.775
 * (centre and surrounds at −3 dB, LFE dropped); stereo to mono is the mean. Upmixes copy the
 * shared front channels and leave the others silent (mono goes to L and R). Returns undefined
 * when no standard matrix exists (other downmixes).
 */
export function standardMixMatrix(from: number, to: number): number[][] | undefined {
  if (!Number.isInteger(from) || from < 1)
    throw new RangeError(`from must be a positive integer, got ${from}`);
  if (!Number.isInteger(to) || to < 1) throw new RangeError(`to must be a positive integer, got ${to}`);
  const zeros = () => Array.from({ length: to }, () => new Array<number>(from).fill(0));
  if (from === to) {
    const m = zeros();
    for (let i = 0; i < to; i++) m[i]![i] = 1;
    return m;
  }
  if (from === 1) {
    const m = zeros();
    m[0]![0] = 1;
    if (to >= 2) m[1]![0] = 1;
    return m;
  }
  if (to > from) {
    const m = zeros();
    for (let i = 0; i < from; i++) m[i]![i] = 1;
    return m;
  }
  // Downmix: first to stereo, then (for mono) average the pair.
  let stereo: number[][] | undefined;
  const s = MINUS_3DB;
  switch (from) {
    case 2:
      stereo = [
        [1, 0],
        [0, 1],
      ];
      break;
    case 3: // L R C
      stereo = [
        [1, 0, s],
        [0, 1, s],
      ];
      break;
    case 4: // L R Ls Rs
      stereo = [
        [1, 0, s, 0],
        [0, 1, 0, s],
      ];
      break;
    case 5: // L R C Ls Rs
      stereo = [
        [1, 0, s, s, 0],
        [0, 1, s, 0, s],
      ];
      break;
    case 6: // L R C LFE Ls Rs
      stereo = [
        [1, 0, s, 0, s, 0],
        [0, 1, s, 0, 0, s],
      ];
      break;
    case 8: // L R C LFE Lb Rb Ls Rs
      stereo = [
        [1, 0, s, 0, s, 0, s, 0],
        [0, 1, s, 0, 0, s, 0, s],
      ];
      break;
    default:
      return undefined;
  }
  if (to === 2) return stereo;
  if (to === 1) return [stereo[0]!.map((v, i) => 0.5 * (v + stereo[1]![i]!))];
  return undefined;
}

/**
 * Remixes `audio` to `channels` channels with `opts.matrix` (rows = outputs) or the standard
 * matrix. `normalize` scales rows whose coefficients sum above 1 so a full-scale input cannot clip.
 */
export function remix(
  audio: PcmAudio,
  channels: number,
  opts: { matrix?: number[][]; normalize?: boolean } = {},
): PcmAudio {
  checkAudio(audio);
  if (!Number.isInteger(channels) || channels < 1 || channels > 64)
    throw new RangeError(`channels must be an integer in [1, 64], got ${channels}`);
  const from = audio.channels.length;
  const matrix = opts.matrix ?? standardMixMatrix(from, channels);
  if (matrix === undefined)
    throw new RangeError(`no standard mix from ${from} to ${channels} channels; pass opts.matrix`);
  if (
    matrix.length !== channels ||
    matrix.some((row) => row.length !== from || row.some((v) => !Number.isFinite(v)))
  )
    throw new RangeError(`opts.matrix must be ${channels} rows of ${from} finite numbers`);
  const n = frames(audio);
  const out = matrix.map((row) => {
    const sum = row.reduce((a, v) => a + Math.abs(v), 0);
    const k = opts.normalize && sum > 1 ? 1 / sum : 1;
    const y = new Float64Array(n);
    row.forEach((coef, i) => {
      if (coef === 0) return;
      const x = audio.channels[i]!;
      const c = coef * k;
      for (let t = 0; t < n; t++) y[t] = y[t]! + c * x[t]!;
    });
    return Float32Array.from(y);
  });
  return { sampleRate: audio.sampleRate, channels: out };
}

/** Mono as the mean of all channels' standard downmix (stereo: (L+R)/2). */
export function toMono(audio: PcmAudio): PcmAudio {
  checkAudio(audio);
  const m = standardMixMatrix(audio.channels.length, 1);
  const matrix = m ?? [new Array<number>(audio.channels.length).fill(1 / audio.channels.length)];
  return remix(audio, 1, { matrix });
}

/** Stereo: mono is copied to both sides; surround formats use the BS.775 downmix. */
export function toStereo(audio: PcmAudio): PcmAudio {
  return remix(audio, 2);
}

/** Multiplies every sample by 10^(db/20). */
export function applyGainDb(audio: PcmAudio, db: number): PcmAudio {
  if (!Number.isFinite(db)) throw new RangeError(`db must be finite, got ${db}`);
  return applyGain(audio, 10 ** (db / 20));
}

/** Multiplies every sample by a linear `gain`. */
export function applyGain(audio: PcmAudio, gain: number): PcmAudio {
  checkAudio(audio);
  if (!Number.isFinite(gain)) throw new RangeError(`gain must be finite, got ${gain}`);
  return {
    sampleRate: audio.sampleRate,
    channels: audio.channels.map((ch) => {
      const y = new Float32Array(ch.length);
      for (let i = 0; i < ch.length; i++) y[i] = ch[i]! * gain;
      return y;
    }),
  };
}

/**
 * Scales `audio` so its peak is `targetDb` dBFS (default 0). `mode: 'true'` uses the BS.1770
 * true peak (oversampled), so the result will not clip after reconstruction either.
 */
export function normalizePeak(
  audio: PcmAudio,
  targetDb = 0,
  opts: { mode?: 'sample' | 'true' } = {},
): { audio: PcmAudio; gainDb: number } {
  checkAudio(audio);
  if (!Number.isFinite(targetDb) || targetDb > 20)
    throw new RangeError(`targetDb must be ≤ 20 dB, got ${targetDb}`);
  const mode = opts.mode ?? 'sample';
  if (mode !== 'sample' && mode !== 'true')
    throw new RangeError(`opts.mode must be 'sample' or 'true', got ${mode}`);
  const peak = mode === 'true' ? truePeak(audio) : samplePeak(audio);
  if (peak === 0) return { audio: applyGain(audio, 1), gainDb: 0 };
  const gainDb = targetDb - 20 * Math.log10(peak);
  return { audio: applyGain(audio, 10 ** (gainDb / 20)), gainDb };
}

/**
 * Scales `x` in place so its sample peak sits at `ceiling` (linear, default 0.89 ≈ −1 dBFS): down
 * when it is louder, up when it is quieter, but never up by more than `maxGain` (default 31.6 =
 * +30 dB, so near-silence is not blown up into noise). Returns the gain applied. For a whole clip
 * (or loop) this keeps the waveform's shape, where a limiter would bend its peaks; one gain for the
 * whole loop also keeps it seamless.
 */
export function fitPeak(x: Float32Array, ceiling = 0.89, maxGain = 31.6): number {
  if (!(x instanceof Float32Array)) throw new TypeError('x must be a Float32Array');
  if (!(ceiling > 0 && ceiling <= 1)) throw new RangeError(`ceiling must be in (0, 1], got ${ceiling}`);
  if (!(maxGain >= 1)) throw new RangeError(`maxGain must be ≥ 1, got ${maxGain}`);
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]!));
  if (!(peak > 0)) return 1;
  const gain = Math.min(maxGain, ceiling / peak);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * gain;
  return gain;
}

const BELOW_ONE = 1 - 2 ** -24;

/**
 * Soft limiter, in place: samples below `threshold` (linear, default 0.89 ≈ −1 dBFS) pass untouched;
 * above it the excess is bent by tanh so |y| approaches but never reaches 1, with no kink at the
 * threshold. Memoryless, so it can run chunk by chunk on a stream and keeps a seamless loop seamless.
 */
export function softLimit(x: Float32Array, threshold = 0.89): Float32Array {
  if (!(x instanceof Float32Array)) throw new TypeError('x must be a Float32Array');
  if (!(threshold > 0 && threshold < 1))
    throw new RangeError(`threshold must be in (0, 1), got ${threshold}`);
  const room = 1 - threshold;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const a = Math.abs(v);
    // tanh rounds to 1 for large excess; the cap is the largest float32 below 1.
    if (a > threshold)
      x[i] = Math.sign(v) * Math.min(BELOW_ONE, threshold + room * Math.tanh((a - threshold) / room));
  }
  return x;
}

export type FadeCurve = 'linear' | 'equal-power' | 'exponential';

/** Dynamic range of the exponential curve: it rises 60 dB over the fade. */
const EXP_K = Math.log(1000);

/** Fade-in gain at position t ∈ [0, 1] (0 → silent, 1 → unity). */
export function fadeGain(curve: FadeCurve, t: number): number {
  const u = Math.min(1, Math.max(0, t));
  switch (curve) {
    case 'linear':
      return u;
    case 'equal-power':
      return Math.sin((Math.PI / 2) * u);
    case 'exponential':
      // Normalised so it starts at exactly 0 and ends at exactly 1.
      return Math.expm1(EXP_K * u) / Math.expm1(EXP_K);
    default:
      throw new RangeError(`curve must be 'linear', 'equal-power' or 'exponential', got ${String(curve)}`);
  }
}

function checkFrames(n: number, max: number, name: string): void {
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new RangeError(`${name} must be an integer in [0, ${max}], got ${n}`);
}

/** Fades in over the first `length` frames: frame i gets gain curve(i/length). */
export function fadeIn(audio: PcmAudio, length: number, curve: FadeCurve = 'linear'): PcmAudio {
  checkAudio(audio);
  checkFrames(length, frames(audio), 'length');
  fadeGain(curve, 0);
  return {
    sampleRate: audio.sampleRate,
    channels: audio.channels.map((ch) => {
      const y = ch.slice();
      for (let i = 0; i < length; i++) y[i] = ch[i]! * fadeGain(curve, i / length);
      return y;
    }),
  };
}

/** Fades out over the last `length` frames, mirroring fadeIn: the final frame gets gain 0. */
export function fadeOut(audio: PcmAudio, length: number, curve: FadeCurve = 'linear'): PcmAudio {
  checkAudio(audio);
  const n = frames(audio);
  checkFrames(length, n, 'length');
  fadeGain(curve, 0);
  return {
    sampleRate: audio.sampleRate,
    channels: audio.channels.map((ch) => {
      const y = ch.slice();
      for (let j = 0; j < length; j++)
        y[n - length + j] = ch[n - length + j]! * fadeGain(curve, (length - 1 - j) / length);
      return y;
    }),
  };
}

/**
 * Gains for a crossfade over `length` frames, sampled at mid-frame points t = (i + ½)/length.
 * 'equal-power' (default): out = cos(πt/2), in = sin(πt/2), so out² + in² = 1 at every frame
 * (constant power for uncorrelated material). 'linear': out + in = 1 (for correlated material).
 */
export function crossfadeGains(
  length: number,
  curve: 'equal-power' | 'linear' = 'equal-power',
): { fadeOut: Float64Array; fadeIn: Float64Array } {
  checkFrames(length, Number.MAX_SAFE_INTEGER, 'length');
  if (curve !== 'equal-power' && curve !== 'linear')
    throw new RangeError(`curve must be 'equal-power' or 'linear', got ${String(curve)}`);
  const fo = new Float64Array(length);
  const fi = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const t = (i + 0.5) / length;
    if (curve === 'linear') {
      fi[i] = t;
      fo[i] = 1 - t;
    } else {
      fi[i] = Math.sin((Math.PI / 2) * t);
      fo[i] = Math.cos((Math.PI / 2) * t);
    }
  }
  return { fadeOut: fo, fadeIn: fi };
}

function checkCompatible(a: PcmAudio, b: PcmAudio): void {
  if (a.sampleRate !== b.sampleRate)
    throw new RangeError(`sample rates differ: ${a.sampleRate} Hz and ${b.sampleRate} Hz`);
  if (a.channels.length !== b.channels.length)
    throw new RangeError(`channel counts differ: ${a.channels.length} and ${b.channels.length}`);
}

/**
 * Joins `a` and `b` with the last `length` frames of `a` overlapping the first `length` frames of
 * `b` under crossfade gains. Result length = len(a) + len(b) − length.
 */
export function crossfade(
  a: PcmAudio,
  b: PcmAudio,
  length: number,
  curve: 'equal-power' | 'linear' = 'equal-power',
): PcmAudio {
  return concatenate([a, b], { crossfade: length, curve });
}

/** Concatenates buffers of equal rate and channel count, crossfading each joint over `crossfade` frames. */
export function concatenate(
  parts: PcmAudio[],
  opts: { crossfade?: number; curve?: 'equal-power' | 'linear' } = {},
): PcmAudio {
  if (!Array.isArray(parts) || parts.length === 0) throw new RangeError('parts must be a non-empty array');
  for (let i = 0; i < parts.length; i++) checkAudio(parts[i]!, `parts[${i}]`);
  for (let i = 1; i < parts.length; i++) checkCompatible(parts[0]!, parts[i]!);
  const xf = opts.crossfade ?? 0;
  for (let i = 0; i < parts.length; i++) {
    const lim = frames(parts[i]!);
    checkFrames(xf, lim, 'opts.crossfade');
  }
  const { fadeOut: go, fadeIn: gi } = crossfadeGains(xf, opts.curve ?? 'equal-power');
  const total = parts.reduce((s, p) => s + frames(p), 0) - xf * (parts.length - 1);
  const channels = parts[0]!.channels.map((_, c) => {
    const y = new Float32Array(total);
    let pos = 0;
    parts.forEach((p, k) => {
      const x = p.channels[c]!;
      const n = x.length;
      // The head of every part after the first overlaps the tail already written.
      const head = k === 0 ? 0 : xf;
      for (let i = 0; i < head; i++) y[pos + i] = y[pos + i]! * go[i]! + x[i]! * gi[i]!;
      y.set(x.subarray(head), pos + head);
      pos += n - xf;
    });
    return y;
  });
  return { sampleRate: parts[0]!.sampleRate, channels };
}
