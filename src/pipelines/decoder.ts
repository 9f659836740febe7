/**
 * Model tensors → audio for the generate pipeline: through the pack's neural vocoder, or the
 * representation's own decoding (Griffin-Lim for mel, iSTFT for complex STFT); one window at a
 * time, or as a seamless loop of an exact number of samples.
 */
import { resample } from '../audio/resample.ts';
import type { ModelManifest } from '../packs/index.ts';
import {
  type ComplexSpectrogram,
  circularGriffinLim,
  circularIstft,
  griffinLim,
  istft,
  type ResolvedStft,
  type Spectrogram,
} from '../spectrogram/index.ts';
import { GRIFFIN_LIM_ITERATIONS, type ModelRepresentation } from './representation.ts';
import type { NeuralVocoder } from './vocoder.ts';

/** How mel is turned into audio. */
export type DecoderName = 'vocoder' | 'griffinlim';
export const DECODER_NAMES: readonly DecoderName[] = ['vocoder', 'griffinlim'];

/**
 * The decoder a run uses: the one asked for, else the vocoder when the pack has one, else
 * Griffin-Lim; undefined for representations that are not mel (nothing to choose).
 */
export function resolveDecoder(
  m: ModelManifest,
  hasVocoder: boolean,
  requested?: string,
): DecoderName | undefined {
  if (requested === undefined) {
    if (m.representation !== 'mel') return undefined;
    return hasVocoder ? 'vocoder' : 'griffinlim';
  }
  if (!DECODER_NAMES.includes(requested as DecoderName)) {
    throw new RangeError(`decoder must be one of ${DECODER_NAMES.join(', ')}, got "${requested}"`);
  }
  if (m.representation !== 'mel') {
    throw new RangeError(`decoder applies to mel models; ${m.id} is ${m.representation}`);
  }
  if (requested === 'vocoder' && !hasVocoder) {
    throw new RangeError(`model ${m.id} has no vocoder (io.vocoder); use decoder griffinlim`);
  }
  return requested as DecoderName;
}

/** Momentum of the hybrid decoder's Griffin-Lim: fast Griffin-Lim, as the mel decoder's own. */
const REFINE_MOMENTUM = 0.99;

/**
 * The hybrid decoder's target magnitude: the mel-inverted (NNLS) magnitude of the mel the vocoder
 * was given. Not the vocoder's own |X|: its output is far from a consistent spectrum (the STFT of
 * its iSTFT differs from it by a spectral convergence of ~0.8; the network is trained on the
 * waveform, and overlap-add cancels much of its |X|), so Griffin-Lim towards |X| made LSD worse
 * (see training/vocoder/README.md, measure_ts.ts).
 */
function refineTarget(rep: ModelRepresentation, mel: Float32Array, frames: number): Spectrogram {
  const s = rep.spectrum?.(mel, frames);
  if (s?.kind !== 'magnitude') throw new RangeError('refining a vocoder needs a mel representation');
  return s.magnitude;
}

/**
 * Decodes one window of `frames` frames to `length` samples. With a vocoder whose
 * `refineIterations` k > 0 (the hybrid decoder), its spectrum is refined by k Griffin-Lim
 * projections started from its phase.
 */
export async function decodeWindow(
  rep: ModelRepresentation,
  vocoder: NeuralVocoder | undefined,
  x: Float32Array,
  frames: number,
  length: number,
  seed: number,
): Promise<Float32Array> {
  if (vocoder === undefined) return rep.decode(x, frames, length, seed);
  const mel = x.subarray(0, vocoder.nMels * frames);
  const o = stftOf(rep);
  const iterations = vocoder.refineIterations;
  if (vocoder.kind === 'magnitude') {
    // The network's magnitude replaces the mel inversion; the phase is Griffin-Lim's, as without a vocoder.
    const magnitude = await vocoder.magnitude(mel, frames);
    if (vocoder.shapeLowBand) rep.shapeMagnitude?.(magnitude);
    return griffinLim(magnitude, { ...o, iterations, momentum: REFINE_MOMENTUM, seed, length }).signal;
  }
  const spec = await vocoder.vocode(mel, frames);
  if (iterations === 0) return istft(spec, { ...o, length });
  return griffinLim(refineTarget(rep, mel, frames), {
    ...o,
    iterations,
    momentum: REFINE_MOMENTUM,
    init: spec,
    length,
  }).signal;
}

/**
 * Decodes `frames` frames that wrap around (a loop) to exactly `period` samples whose end joins
 * their start. Nothing here resamples by the full T·hop → period ratio (up to ±2.4 % for short
 * loops: 0.4 semitone, audible against the key):
 * - Griffin-Lim runs on a circular frame grid of that period, frames re-spaced by period/frames
 *   instead of hop: Griffin & Lim's (1984) time-scale modification, exact length, pitch kept.
 * - The vocoder gets the mel stretched (circularly interpolated) to round(period/hop) frames, so it
 *   renders the new timing with its own phase (refined, if asked, on that uniform frame grid);
 *   only the sub-hop remainder, a ratio of at most hop/(2·period) (≤ 0.6 % for the shortest
 *   loops, 0.23 % for one bar at 97 BPM, 16 kHz), is resampled, circularly.
 * - Waveform models (hop 1) are resampled circularly by their remainder alone.
 */
export async function decodeLoop(
  rep: ModelRepresentation,
  vocoder: NeuralVocoder | undefined,
  x: Float32Array,
  frames: number,
  period: number,
  seed: number,
  sampleRate: number,
): Promise<Float32Array> {
  if (vocoder?.kind === 'magnitude') {
    // Magnitude of the loop's own frames, seen with wrap-around context (tiled 3×, middle kept),
    // then circular Griffin-Lim on the re-spaced grid, as the Griffin-Lim path below.
    const rows = vocoder.nMels;
    const tiled = await vocoder.magnitude(tile(x.subarray(0, rows * frames), rows, frames, 3), 3 * frames);
    const a = frames * tiled.bins;
    const magnitude: Spectrogram = { frames, bins: tiled.bins, data: tiled.data.slice(a, 2 * a) };
    // Generated loops carry more sub-bass than real ones, and a vocoder renders what the mel says
    // (loops through the CLI: 0.10 of the energy under 40 Hz unshaped, 0.008 shaped; real loops 0.013).
    if (vocoder.shapeLowBand) rep.shapeMagnitude?.(magnitude);
    return circularGriffinLim(magnitude, stftOf(rep), {
      period,
      iterations: vocoder.refineIterations,
      momentum: REFINE_MOMENTUM,
      seed,
    }).signal;
  }
  if (vocoder !== undefined) {
    const o = stftOf(rep);
    const rows = vocoder.nMels;
    const n = Math.max(1, Math.round(period / o.hopLength));
    const mel = n === frames ? x : stretchCircular(x, rows, frames, n);
    // The vocoder is not circular: tiled three times it sees the wrap-around as context; the
    // middle copy's frames are the loop's.
    const spec = middleFrames(await vocoder.vocode(tile(mel, rows, n, 3), 3 * n), n);
    const iterations = vocoder.refineIterations;
    // Refinement runs on the loop's own circular grid (uniform: n frames, period n·hop), so its
    // projections make the spectrum consistent with exactly the periodic signal that is kept; it
    // applies after a stretch too, since the vocoder rendered the new timing at the normal hop.
    const loop =
      iterations === 0
        ? circularIstft(spec, o, n * o.hopLength)
        : circularGriffinLim(refineTarget(rep, mel, n), o, {
            period: n * o.hopLength,
            iterations,
            momentum: REFINE_MOMENTUM,
            init: spec,
          }).signal;
    return circularResample(loop, period, sampleRate);
  }
  const s = rep.spectrum?.(x, frames);
  if (s === undefined) return circularResample(x.subarray(0, frames), period, sampleRate);
  const o = stftOf(rep);
  if (s.kind === 'complex' && period === frames * o.hopLength) return circularIstft(s.spec, o, period);
  // Re-spaced frames need new phase: from Griffin-Lim, not the old one (which would resample).
  const magnitude = s.kind === 'complex' ? magnitudeOf(s.spec) : s.magnitude;
  return circularGriffinLim(magnitude, o, {
    period,
    iterations: GRIFFIN_LIM_ITERATIONS,
    momentum: 0.99,
    seed,
  }).signal;
}

function stftOf(rep: ModelRepresentation): ResolvedStft {
  if (rep.stft === undefined) throw new RangeError('this representation has no STFT');
  return rep.stft;
}

function magnitudeOf(spec: ComplexSpectrogram): Spectrogram {
  const data = new Float32Array(spec.re.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.hypot(spec.re[i]!, spec.im[i]!);
  return { frames: spec.frames, bins: spec.bins, data };
}

/** rows × frames (time last) → rows × n, linearly interpolated with wrap-around (frame n ≡ frame 0). */
function stretchCircular(x: Float32Array, rows: number, frames: number, n: number): Float32Array {
  const out = new Float32Array(rows * n);
  for (let j = 0; j < n; j++) {
    const t = (j * frames) / n;
    const i0 = Math.floor(t);
    const i1 = (i0 + 1) % frames;
    const a = t - i0;
    for (let r = 0; r < rows; r++) {
      const row = r * frames;
      out[r * n + j] = (1 - a) * x[row + i0]! + a * x[row + i1]!;
    }
  }
  return out;
}

/** rows × frames (time last) repeated `times` along time: rows × (frames·times). */
function tile(x: Float32Array, rows: number, frames: number, times: number): Float32Array {
  const out = new Float32Array(rows * frames * times);
  for (let r = 0; r < rows; r++) {
    const src = x.subarray(r * frames, (r + 1) * frames);
    for (let k = 0; k < times; k++) out.set(src, (r * times + k) * frames);
  }
  return out;
}

/** Frames frames…2·frames−1 of a spectrum three copies long. */
function middleFrames(spec: ComplexSpectrogram, frames: number): ComplexSpectrogram {
  const a = frames * spec.bins;
  return { frames, bins: spec.bins, re: spec.re.slice(a, 2 * a), im: spec.im.slice(a, 2 * a) };
}

/**
 * A loop resampled to `period` samples with wrap-around: tiled three times, resampled by
 * period/length (output n sits at input n·length/period), and the middle copy kept, so the filter
 * sees the loop's own start after its end and the seam stays clean.
 */
function circularResample(x: Float32Array, period: number, sampleRate: number): Float32Array {
  const n = x.length;
  if (n === period) return x.slice();
  const tiled = new Float32Array(3 * n);
  for (let k = 0; k < 3; k++) tiled.set(x, k * n);
  const y = resample(tiled, sampleRate, (sampleRate * period) / n);
  const out = new Float32Array(period);
  out.set(y.subarray(period, Math.min(y.length, 2 * period)));
  return out;
}
