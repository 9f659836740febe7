/**
 * Magnitude from complex spectra, and the compressions models are trained on, each with its inverse:
 * - natural log with a floor: log(max(x, eps));
 * - decibels like librosa.power_to_db / amplitude_to_db (ref, amin, top_db);
 * - HiFi-GAN's dynamic-range compression log(max(x, clip)·C).
 * Every function takes and returns a flat Float32Array (use it on `Spectrogram.data`);
 * inputs are never modified.
 */
import type { ComplexSpectrogram, Spectrogram } from './stft.ts';

function checkData(name: string, x: Float32Array): void {
  if (!(x instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array`);
}

function checkPositive(name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`${name} must be a positive number, got ${v}`);
}

/** |X|^power of a complex spectrogram: power 1 = amplitude, 2 = power. */
export function magnitude(spec: ComplexSpectrogram, power = 1): Spectrogram {
  if (spec === null || typeof spec !== 'object' || !(spec.re instanceof Float32Array))
    throw new TypeError('spec must be a ComplexSpectrogram');
  checkPositive('power', power);
  const n = spec.re.length;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const p = spec.re[i]! * spec.re[i]! + spec.im[i]! * spec.im[i]!;
    data[i] = power === 2 ? p : power === 1 ? Math.sqrt(p) : p ** (power / 2);
  }
  return { frames: spec.frames, bins: spec.bins, data };
}

/** log(max(x, eps)). Default eps 1e-5. */
export function logCompress(x: Float32Array, eps = 1e-5): Float32Array {
  checkData('x', x);
  checkPositive('eps', eps);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.log(Math.max(x[i]!, eps));
  return out;
}

/** exp(y): the inverse of logCompress for values above eps. */
export function logDecompress(y: Float32Array): Float32Array {
  checkData('y', y);
  const out = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = Math.exp(y[i]!);
  return out;
}

/** HiFi-GAN's dynamic_range_compression: log(max(x, clipVal) · C). Defaults C = 1, clipVal = 1e-5. */
export function dynamicRangeCompression(x: Float32Array, C = 1, clipVal = 1e-5): Float32Array {
  checkData('x', x);
  checkPositive('C', C);
  checkPositive('clipVal', clipVal);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.log(Math.max(x[i]!, clipVal) * C);
  return out;
}

/** exp(y) / C: the inverse of dynamicRangeCompression above the clip value. */
export function dynamicRangeDecompression(y: Float32Array, C = 1): Float32Array {
  checkData('y', y);
  checkPositive('C', C);
  const out = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = Math.exp(y[i]!) / C;
  return out;
}

export interface DbOptions {
  /** Reference value (0 dB), or 'max' for the input's maximum. Default 1. */
  ref?: number | 'max';
  /** Floor applied to the input and ref before the log. Default 1e-10 (power) / 1e-5 (amplitude). */
  amin?: number;
  /** Clip everything more than topDb below the peak; null disables. Default 80. */
  topDb?: number | null;
}

function toDb(x: Float32Array, factor: number, defaultAmin: number, options: DbOptions): Float32Array {
  checkData('x', x);
  const amin = options.amin ?? defaultAmin;
  checkPositive('amin', amin);
  const topDb = options.topDb === undefined ? 80 : options.topDb;
  if (topDb !== null && !(topDb >= 0)) throw new RangeError(`topDb must be ≥ 0 or null, got ${topDb}`);
  let ref: number;
  if (options.ref === 'max') {
    ref = 0;
    for (let i = 0; i < x.length; i++) if (x[i]! > ref) ref = x[i]!;
  } else {
    ref = options.ref ?? 1;
    checkPositive('ref', ref);
  }
  const offset = factor * Math.log10(Math.max(amin, ref));
  const out = new Float32Array(x.length);
  let peak = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) {
    const v = factor * Math.log10(Math.max(amin, x[i]!)) - offset;
    out[i] = v;
    if (v > peak) peak = v;
  }
  if (topDb !== null) {
    const floor = peak - topDb;
    for (let i = 0; i < out.length; i++) if (out[i]! < floor) out[i] = floor;
  }
  return out;
}

/** 10·log10(max(amin, S)) − 10·log10(max(amin, ref)), clipped at peak − topDb (librosa.power_to_db). */
export function powerToDb(power: Float32Array, options: DbOptions = {}): Float32Array {
  return toDb(power, 10, 1e-10, options);
}

/** 20·log10 version for amplitudes (librosa.amplitude_to_db: amin 1e-5). */
export function amplitudeToDb(amplitude: Float32Array, options: DbOptions = {}): Float32Array {
  return toDb(amplitude, 20, 1e-5, options);
}

/** ref · 10^(dB/10): the inverse of powerToDb (above its floors). */
export function dbToPower(db: Float32Array, ref = 1): Float32Array {
  checkData('db', db);
  checkPositive('ref', ref);
  const out = new Float32Array(db.length);
  for (let i = 0; i < db.length; i++) out[i] = ref * 10 ** (db[i]! / 10);
  return out;
}

/** ref · 10^(dB/20): the inverse of amplitudeToDb (above its floors). */
export function dbToAmplitude(db: Float32Array, ref = 1): Float32Array {
  checkData('db', db);
  checkPositive('ref', ref);
  const out = new Float32Array(db.length);
  for (let i = 0; i < db.length; i++) out[i] = ref * 10 ** (db[i]! / 20);
  return out;
}
