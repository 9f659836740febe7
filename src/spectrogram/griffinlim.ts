/**
 * Phase reconstruction from a magnitude spectrogram: Griffin-Lim with the momentum of
 * Perraudin, Balazs & Søndergaard, "A fast Griffin-Lim algorithm" (2013). With momentum α the
 * phase update is angle(c_n − α/(1+α)·c_{n−1}), c_n the STFT of the current estimate — the same
 * parameterisation as librosa and torchaudio; α = 0 is the original Griffin-Lim.
 */
import {
  type ComplexSpectrogram,
  forEachFrame,
  istft,
  istftLength,
  type ResolvedStft,
  resolveStft,
  type Spectrogram,
  type StftOptions,
} from './stft.ts';

/** Griffin-Lim's own settings, next to the STFT's (given as options or already resolved). */
export interface GriffinLimSettings {
  /** Default 32. */
  iterations?: number;
  /** Default 0.99; 0 gives plain Griffin-Lim. Values above 1 may diverge. */
  momentum?: number;
  /**
   * Initial phase: uniform random from `seed` (default), zero, or the phase of a complex spectrum
   * with the magnitude's frames and bins (e.g. a neural vocoder's output, to refine it: its
   * magnitude is not used, `magnitude` stays the target; bins where it is 0 start at phase 0).
   */
  init?: 'random' | 'zeros' | ComplexSpectrogram;
  /** Seed of the initial-phase generator. Default 0. */
  seed?: number;
  /** Output length in samples (as torch.istft's `length`). */
  length?: number;
  /** Called after each iteration with its spectral convergence. */
  onIteration?: (iteration: number, spectralConvergence: number) => void;
}

export interface GriffinLimOptions extends StftOptions, GriffinLimSettings {}

export interface GriffinLimResult {
  signal: Float32Array;
  /**
   * ‖ |STFT(x_i)| − S ‖_F / ‖S‖_F for the signal after i phase updates, i = 0..iterations
   * (index 0 is the initial phase). The last entry describes `signal`.
   */
  spectralConvergence: Float64Array;
}

/** mulberry32: a small seeded generator, enough for initial phases. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Throws unless `init` is 'random', 'zeros' or a complex spectrum of frames × bins. */
export function checkInit(init: unknown, frames: number, bins: number): void {
  if (init === 'random' || init === 'zeros') return;
  if (init === null || typeof init !== 'object')
    throw new RangeError(`init must be 'random', 'zeros' or a ComplexSpectrogram`);
  const s = init as ComplexSpectrogram;
  if (!(s.re instanceof Float32Array) || !(s.im instanceof Float32Array))
    throw new TypeError('init must be a ComplexSpectrogram (Float32Array re, im)');
  if (
    s.frames !== frames ||
    s.bins !== bins ||
    s.re.length !== frames * bins ||
    s.im.length !== frames * bins
  )
    throw new RangeError(
      `init spectrum must be ${frames} frames × ${bins} bins like the magnitude, got ${s.frames} × ${s.bins}`,
    );
}

/** Fills the unit phasors (cos, sin) of the initial phase. */
export function initialPhase(
  init: 'random' | 'zeros' | ComplexSpectrogram,
  seed: number,
  cosA: Float32Array,
  sinA: Float32Array,
): void {
  const n = cosA.length;
  if (init === 'random') {
    const rnd = mulberry32(seed);
    for (let i = 0; i < n; i++) {
      const a = 2 * Math.PI * rnd();
      cosA[i] = Math.cos(a);
      sinA[i] = Math.sin(a);
    }
  } else if (init === 'zeros') {
    cosA.fill(1);
    sinA.fill(0);
  } else {
    const { re, im } = init;
    for (let i = 0; i < n; i++) {
      const r = re[i]!;
      const m = im[i]!;
      const norm = Math.sqrt(r * r + m * m);
      if (norm > 0 && Number.isFinite(norm)) {
        cosA[i] = r / norm;
        sinA[i] = m / norm;
      } else {
        cosA[i] = 1;
        sinA[i] = 0;
      }
    }
  }
}

/**
 * One frame layout Griffin-Lim iterates on: resynthesis of a spectrum, and analysis of a signal
 * frame by frame (the ordinary STFT here, the circular one in circular.ts).
 */
export interface GriffinLimGrid {
  synthesise(spec: ComplexSpectrogram): Float32Array;
  analyse(signal: Float32Array, visit: (frame: number, re: Float64Array, im: Float64Array) => void): void;
}

/** Validates the magnitude against the STFT and Griffin-Lim's own settings; returns them resolved. */
export function checkGriffinLim(
  magnitude: Spectrogram,
  o: ResolvedStft,
  settings: GriffinLimSettings,
): Required<Pick<GriffinLimSettings, 'iterations' | 'momentum' | 'init' | 'seed'>> {
  if (magnitude === null || typeof magnitude !== 'object' || !(magnitude.data instanceof Float32Array))
    throw new TypeError('magnitude must be a Spectrogram');
  const { frames, bins } = magnitude;
  if (bins !== o.bins) throw new RangeError(`magnitude has ${bins} bins, but nFft ${o.nFft} needs ${o.bins}`);
  if (magnitude.data.length !== frames * bins || frames < 1)
    throw new RangeError(`magnitude must hold frames × bins = ${frames * bins} values, frames ≥ 1`);
  const iterations = settings.iterations ?? 32;
  if (!Number.isInteger(iterations) || iterations < 0)
    throw new RangeError(`iterations must be a non-negative integer, got ${iterations}`);
  const momentum = settings.momentum ?? 0.99;
  if (!(Number.isFinite(momentum) && momentum >= 0))
    throw new RangeError(`momentum must be a number ≥ 0, got ${momentum}`);
  const init = settings.init ?? 'random';
  checkInit(init, frames, bins);
  const seed = settings.seed ?? 0;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  return { iterations, momentum, init, seed };
}

/**
 * The iteration itself on any grid. Returns the last signal, the convergence history and the
 * last magnitude·phase spectrum (so a caller can resynthesise it at another length).
 */
export function iterateGriffinLim(
  magnitude: Spectrogram,
  settings: ReturnType<typeof checkGriffinLim>,
  grid: GriffinLimGrid,
  onIteration?: (iteration: number, spectralConvergence: number) => void,
): GriffinLimResult & { spec: ComplexSpectrogram } {
  const { frames, bins } = magnitude;
  const { iterations, momentum, init, seed } = settings;
  const mag = magnitude.data;
  const n = frames * bins;
  // Unit phasors of the current phase estimate.
  const cosA = new Float32Array(n);
  const sinA = new Float32Array(n);
  initialPhase(init, seed, cosA, sinA);
  const prevRe = new Float32Array(n);
  const prevIm = new Float32Array(n);
  const spec: ComplexSpectrogram = { frames, bins, re: new Float32Array(n), im: new Float32Array(n) };
  let magNorm = 0;
  for (let i = 0; i < n; i++) magNorm += mag[i]! * mag[i]!;
  magNorm = Math.sqrt(magNorm);

  const sc = new Float64Array(iterations + 1);
  const gamma = momentum / (1 + momentum);
  let signal: Float32Array = new Float32Array(0);
  for (let it = 0; it <= iterations; it++) {
    for (let i = 0; i < n; i++) {
      spec.re[i] = mag[i]! * cosA[i]!;
      spec.im[i] = mag[i]! * sinA[i]!;
    }
    signal = grid.synthesise(spec);
    let err = 0;
    const last = it === iterations;
    grid.analyse(signal, (f, re, im) => {
      const base = f * bins;
      for (let k = 0; k < bins; k++) {
        const i = base + k;
        const cr = re[k]!;
        const ci = im[k]!;
        const d = Math.sqrt(cr * cr + ci * ci) - mag[i]!;
        err += d * d;
        if (last) continue;
        const ur = cr - gamma * prevRe[i]!;
        const ui = ci - gamma * prevIm[i]!;
        prevRe[i] = cr;
        prevIm[i] = ci;
        const norm = Math.sqrt(ur * ur + ui * ui);
        if (norm > 1e-16) {
          cosA[i] = ur / norm;
          sinA[i] = ui / norm;
        } else {
          cosA[i] = 1;
          sinA[i] = 0;
        }
      }
    });
    sc[it] = magNorm > 0 ? Math.sqrt(err) / magNorm : 0;
    onIteration?.(it, sc[it]!);
  }
  return { signal, spectralConvergence: sc, spec };
}

/** Estimates a signal whose STFT magnitude matches `magnitude` (frames × bins, amplitude). */
export function griffinLim(
  magnitude: Spectrogram,
  options: GriffinLimOptions | (ResolvedStft & GriffinLimSettings),
): GriffinLimResult {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const o = 'bins' in options ? options : resolveStft(options);
  const settings = checkGriffinLim(magnitude, o, options);
  if (options.length !== undefined && !(Number.isInteger(options.length) && options.length >= 0))
    throw new RangeError(`length must be a non-negative integer, got ${options.length}`);
  // The istft output must be long enough that its STFT has exactly `frames` frames again.
  const innerLength = istftLength(magnitude.frames, o);
  const grid: GriffinLimGrid = {
    synthesise: (spec) => istft(spec, { ...o, length: innerLength }),
    analyse: (signal, visit) => {
      forEachFrame(signal, o, visit);
    },
  };
  const { signal, spectralConvergence, spec } = iterateGriffinLim(
    magnitude,
    settings,
    grid,
    options.onIteration,
  );
  // spec still holds the last magnitude·phase: resynthesise at the requested length, which may
  // reach into the final half-frame that the inner length leaves out.
  if (options.length !== undefined && options.length !== signal.length)
    return { signal: istft(spec, { ...o, length: options.length }), spectralConvergence };
  return { signal, spectralConvergence };
}
