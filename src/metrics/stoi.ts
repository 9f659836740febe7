/**
 * STOI (Taal et al. 2011) and extended STOI (Jensen & Taal 2016), numerically matching pystoi
 * (mpariente/pystoi): resample to 10 kHz, drop frames of the clean signal more than 40 dB below its
 * loudest frame (from both signals, rebuilt by overlap-add), 512-point STFT of 256-sample Hann frames
 * with hop 128, 15 one-third-octave bands from 150 Hz, 30-frame segments. The only departure is the
 * resampler (see `stoi`), worth ~1e-5 on the golden cases in ../shared/golden/stoi.
 */
import { resample } from '../audio/resample.ts';
import { MAX_SAMPLE_RATE, MIN_SAMPLE_RATE } from '../audio/types.ts';
import { getFft } from '../spectrogram/fft.ts';
import { checkPair } from './check.ts';

const STOI_RATE = 10000;
const FRAME = 256;
const HOP = 128;
const NFFT = 512;
const NUM_BANDS = 15;
const MIN_FREQ = 150;
const SEGMENT = 30;
const BETA_DB = -15;
const DYN_RANGE_DB = 40;
/** numpy's float64 machine epsilon, which pystoi uses as its guard everywhere. */
const EPS = 2.220446049250313e-16;

export interface StoiOptions {
  /** Compute extended STOI (ESTOI) instead of the classic measure. Default false. */
  extended?: boolean;
}

/**
 * Short-time objective intelligibility of `degraded` against `clean`, both at `sampleRate`.
 * Returns a value in about [0, 1] (ESTOI may dip slightly below 0). When fewer than 30 frames survive
 * silence removal the measure is undefined; like pystoi this returns 1e-5.
 */
export function stoi(
  clean: Float32Array,
  degraded: Float32Array,
  sampleRate: number,
  options: StoiOptions = {},
): number {
  checkPair(clean, degraded, 'clean', 'degraded');
  if (!Number.isInteger(sampleRate) || sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE)
    throw new RangeError(
      `sampleRate must be an integer in ${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE} Hz, got ${sampleRate}`,
    );

  // pystoi resamples with Octave's 60 dB Kaiser filter; the project's resampler is cleaner, which
  // moves the golden cases by at most ~1e-5 (bands stop at 4.3 kHz, below either filter's roll-off).
  const x10 = sampleRate === STOI_RATE ? clean : resample(clean, sampleRate, STOI_RATE);
  const y10 = sampleRate === STOI_RATE ? degraded : resample(degraded, sampleRate, STOI_RATE);
  const [x, y] = removeSilentFrames(Float64Array.from(x10), Float64Array.from(y10));

  const xBands = thirdOctaveEnvelopes(x);
  const yBands = thirdOctaveEnvelopes(y);
  const frames = xBands.length / NUM_BANDS;
  if (frames < SEGMENT) return 1e-5;
  return options.extended === true
    ? extendedCorrelation(xBands, yBands, frames)
    : clippedCorrelation(xBands, yBands, frames);
}

/** Extended STOI (ESTOI): `stoi(clean, degraded, sampleRate, { extended: true })`. */
export function estoi(clean: Float32Array, degraded: Float32Array, sampleRate: number): number {
  return stoi(clean, degraded, sampleRate, { extended: true });
}

/** MATLAB's `hanning(n)`: a Hann window without its zero end points. */
function matlabHann(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 1)) / (n + 1));
  return w;
}

const hann = matlabHann(FRAME);

/** Frame starts 0, hop, … strictly below len − FRAME (pystoi drops a frame that would end at the last sample). */
function frameCount(len: number): number {
  return len > FRAME ? Math.ceil((len - FRAME) / HOP) : 0;
}

/**
 * Keeps the windowed frames whose clean energy is within 40 dB of the loudest clean frame and
 * rebuilds both signals from them by overlap-add, as pystoi does.
 */
function removeSilentFrames(x: Float64Array, y: Float64Array): [Float64Array, Float64Array] {
  const count = frameCount(x.length);
  const energies = new Float64Array(count);
  let maxEnergy = Number.NEGATIVE_INFINITY;
  for (let f = 0; f < count; f++) {
    const start = f * HOP;
    let s = 0;
    for (let i = 0; i < FRAME; i++) {
      const v = hann[i]! * x[start + i]!;
      s += v * v;
    }
    energies[f] = 20 * Math.log10(Math.sqrt(s) + EPS);
    if (energies[f]! > maxEnergy) maxEnergy = energies[f]!;
  }
  const kept: number[] = [];
  for (let f = 0; f < count; f++) if (maxEnergy - DYN_RANGE_DB - energies[f]! < 0) kept.push(f);
  if (kept.length === 0) return [new Float64Array(0), new Float64Array(0)];
  const outLen = (kept.length - 1) * HOP + FRAME;
  const xs = new Float64Array(outLen);
  const ys = new Float64Array(outLen);
  for (let j = 0; j < kept.length; j++) {
    const src = kept[j]! * HOP;
    const dst = j * HOP;
    for (let i = 0; i < FRAME; i++) {
      xs[dst + i] = xs[dst + i]! + hann[i]! * x[src + i]!;
      ys[dst + i] = ys[dst + i]! + hann[i]! * y[src + i]!;
    }
  }
  return [xs, ys];
}

/** Band edges as FFT bin ranges [lo, hi), snapped to the nearest bin like pystoi's `thirdoct`. */
function thirdOctaveBins(): Array<[number, number]> {
  const bins = NFFT / 2 + 1;
  const nearest = (freq: number): number => {
    let best = 0;
    let bestErr = Number.POSITIVE_INFINITY;
    for (let k = 0; k < bins; k++) {
      const d = (k * STOI_RATE) / NFFT - freq;
      // Strict "<" keeps the first of two equally near bins, as numpy's argmin does.
      if (d * d < bestErr) {
        bestErr = d * d;
        best = k;
      }
    }
    return best;
  };
  const edges: Array<[number, number]> = [];
  for (let b = 0; b < NUM_BANDS; b++) {
    const lo = MIN_FREQ * 2 ** ((2 * b - 1) / 6);
    const hi = MIN_FREQ * 2 ** ((2 * b + 1) / 6);
    edges.push([nearest(lo), nearest(hi)]);
  }
  return edges;
}

const bandBins = thirdOctaveBins();

/** One-third-octave band amplitudes, frame-major: out[frame * 15 + band]. */
function thirdOctaveEnvelopes(x: Float64Array): Float64Array {
  const count = frameCount(x.length);
  const out = new Float64Array(count * NUM_BANDS);
  const fft = getFft(NFFT);
  const frame = new Float64Array(FRAME);
  const re = new Float64Array(NFFT / 2 + 1);
  const im = new Float64Array(NFFT / 2 + 1);
  for (let f = 0; f < count; f++) {
    const start = f * HOP;
    for (let i = 0; i < FRAME; i++) frame[i] = hann[i]! * x[start + i]!;
    fft.forwardReal(frame, re, im);
    for (let b = 0; b < NUM_BANDS; b++) {
      const [lo, hi] = bandBins[b]!;
      let s = 0;
      for (let k = lo; k < hi; k++) s += re[k]! * re[k]! + im[k]! * im[k]!;
      out[f * NUM_BANDS + b] = Math.sqrt(s);
    }
  }
  return out;
}

/** Classic STOI: per band and segment, normalise and clip the degraded envelope, then correlate. */
function clippedCorrelation(xb: Float64Array, yb: Float64Array, frames: number): number {
  const clip = 1 + 10 ** (-BETA_DB / 20);
  const xs = new Float64Array(SEGMENT);
  const ys = new Float64Array(SEGMENT);
  let total = 0;
  const segments = frames - SEGMENT + 1;
  for (let m = 0; m < segments; m++) {
    for (let b = 0; b < NUM_BANDS; b++) {
      let nx = 0;
      let ny = 0;
      for (let t = 0; t < SEGMENT; t++) {
        const xv = xb[(m + t) * NUM_BANDS + b]!;
        const yv = yb[(m + t) * NUM_BANDS + b]!;
        xs[t] = xv;
        ys[t] = yv;
        nx += xv * xv;
        ny += yv * yv;
      }
      const scale = Math.sqrt(nx) / (Math.sqrt(ny) + EPS);
      for (let t = 0; t < SEGMENT; t++) ys[t] = Math.min(ys[t]! * scale, xs[t]! * clip);
      total += centredCosine(xs, ys);
    }
  }
  return total / (segments * NUM_BANDS);
}

/** Cosine of the two mean-removed vectors, each norm guarded by EPS like pystoi. */
function centredCosine(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    saa += da * da;
    sbb += db * db;
    sab += da * db;
  }
  return sab / ((Math.sqrt(saa) + EPS) * (Math.sqrt(sbb) + EPS));
}

/**
 * ESTOI: each 15×30 segment is normalised to zero mean and unit norm along time (per band), then
 * along frequency (per frame); the score is the mean over segments of Σ x̂·ŷ / 30.
 */
function extendedCorrelation(xb: Float64Array, yb: Float64Array, frames: number): number {
  const size = NUM_BANDS * SEGMENT;
  const xs = new Float64Array(size);
  const ys = new Float64Array(size);
  const segments = frames - SEGMENT + 1;
  let total = 0;
  for (let m = 0; m < segments; m++) {
    // Segment layout: s[band * SEGMENT + t].
    for (let b = 0; b < NUM_BANDS; b++) {
      for (let t = 0; t < SEGMENT; t++) {
        xs[b * SEGMENT + t] = xb[(m + t) * NUM_BANDS + b]!;
        ys[b * SEGMENT + t] = yb[(m + t) * NUM_BANDS + b]!;
      }
    }
    rowColNormalize(xs);
    rowColNormalize(ys);
    let s = 0;
    for (let i = 0; i < size; i++) s += xs[i]! * ys[i]!;
    total += s / SEGMENT;
  }
  return total / segments;
}

/**
 * In-place row then column mean/norm normalisation of a 15×30 segment. pystoi adds EPS-scaled
 * Gaussian noise to avoid dividing by zero; a deterministic EPS guard on the norm does the same job
 * and changes results only at the 1e-16 level.
 */
function rowColNormalize(s: Float64Array): void {
  for (let b = 0; b < NUM_BANDS; b++) {
    const o = b * SEGMENT;
    let mean = 0;
    for (let t = 0; t < SEGMENT; t++) mean += s[o + t]!;
    mean /= SEGMENT;
    let ss = 0;
    for (let t = 0; t < SEGMENT; t++) {
      const v = s[o + t]! - mean;
      s[o + t] = v;
      ss += v * v;
    }
    const inv = 1 / (Math.sqrt(ss) + EPS);
    for (let t = 0; t < SEGMENT; t++) s[o + t] = s[o + t]! * inv;
  }
  for (let t = 0; t < SEGMENT; t++) {
    let mean = 0;
    for (let b = 0; b < NUM_BANDS; b++) mean += s[b * SEGMENT + t]!;
    mean /= NUM_BANDS;
    let ss = 0;
    for (let b = 0; b < NUM_BANDS; b++) {
      const v = s[b * SEGMENT + t]! - mean;
      s[b * SEGMENT + t] = v;
      ss += v * v;
    }
    const inv = 1 / (Math.sqrt(ss) + EPS);
    for (let b = 0; b < NUM_BANDS; b++) s[b * SEGMENT + t] = s[b * SEGMENT + t]! * inv;
  }
}
