/**
 * Resampler quality measurements shared by the tests and bench/resample.ts. They take any
 * `(x, from, to) => y` converter, so sox can be measured with the same code.
 */
import { getFft } from '../../src/spectrogram/fft.ts';

export type Converter = (
  x: Float32Array,
  fromRate: number,
  toRate: number,
) => Float32Array | Promise<Float32Array>;

/** Deterministic uniform noise in [−0.5, 0.5) (Park–Miller LCG), the same on every machine. */
export function noise(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 48271) % 2147483647;
    x[i] = s / 2147483647 - 0.5;
  }
  return x;
}

export function tone(freq: number, rate: number, frames: number, amp = 0.5): Float32Array {
  const x = new Float32Array(frames);
  const w = (2 * Math.PI * freq) / rate;
  for (let i = 0; i < frames; i++) x[i] = amp * Math.sin(w * i);
  return x;
}

/** Least-squares fit of a·cos + b·sin at `freq` over y[start, end); returns amplitude and residual power. */
export function fitTone(
  y: Float32Array,
  freq: number,
  rate: number,
  start: number,
  end: number,
): { amplitude: number; residualPower: number } {
  const w = (2 * Math.PI * freq) / rate;
  let cc = 0;
  let ss = 0;
  let cs = 0;
  let yc = 0;
  let ys = 0;
  for (let n = start; n < end; n++) {
    const c = Math.cos(w * n);
    const s = Math.sin(w * n);
    cc += c * c;
    ss += s * s;
    cs += c * s;
    yc += y[n]! * c;
    ys += y[n]! * s;
  }
  const det = cc * ss - cs * cs;
  const a = (yc * ss - ys * cs) / det;
  const b = (ys * cc - yc * cs) / det;
  let res = 0;
  for (let n = start; n < end; n++) {
    const e = y[n]! - a * Math.cos(w * n) - b * Math.sin(w * n);
    res += e * e;
  }
  return { amplitude: Math.hypot(a, b), residualPower: res / (end - start) };
}

function db(x: number): number {
  return 10 * Math.log10(Math.max(x, 1e-300));
}

export interface ToneReport {
  /** Peak-to-peak passband gain variation in dB, tones from 20 Hz to bandwidth × lower Nyquist. */
  rippleDb: number;
  /** Worst passband tone: power of everything but the tone (images, aliases, noise), dB re the tone. */
  worstSpuriousDb: number;
  /** Worst stopband tone (above the lower Nyquist, in the input band): output power dB re the input tone. */
  worstStopbandDb: number;
}

/**
 * Tones through the converter. Each tone lasts `seconds`; the first and last 10 % of the output
 * are ignored so edge transients do not count.
 */
export async function measureTones(
  convert: Converter,
  fromRate: number,
  toRate: number,
  opts: { bandwidth?: number; count?: number; seconds?: number } = {},
): Promise<ToneReport> {
  const bandwidth = opts.bandwidth ?? 0.95;
  const count = opts.count ?? 24;
  const seconds = opts.seconds ?? 0.5;
  const lowNyq = Math.min(fromRate, toRate) / 2;
  const frames = Math.round(fromRate * seconds);
  const amp = 0.5;
  let gMin = Number.POSITIVE_INFINITY;
  let gMax = Number.NEGATIVE_INFINITY;
  let worstSpur = Number.NEGATIVE_INFINITY;
  const pbTop = bandwidth * lowNyq;
  for (let k = 0; k < count; k++) {
    // Log-spaced from 20 Hz to the passband edge, last one exactly at the edge.
    const f = 20 * (pbTop / 20) ** (k / (count - 1));
    const y = await convert(tone(f, fromRate, frames, amp), fromRate, toRate);
    const s = Math.floor(y.length * 0.1);
    const e = Math.floor(y.length * 0.9);
    const fit = fitTone(y, f, toRate, s, e);
    const g = 20 * Math.log10(fit.amplitude / amp);
    gMin = Math.min(gMin, g);
    gMax = Math.max(gMax, g);
    worstSpur = Math.max(worstSpur, db(fit.residualPower / ((amp * amp) / 2)));
  }
  let worstStop = Number.NEGATIVE_INFINITY;
  const fromNyq = fromRate / 2;
  if (fromNyq > lowNyq * 1.001) {
    // Downsampling: tones between the new Nyquist and the old one must vanish.
    for (let k = 0; k < count; k++) {
      const f = lowNyq * 1.002 + ((fromNyq * 0.995 - lowNyq * 1.002) * k) / (count - 1);
      const y = await convert(tone(f, fromRate, frames, amp), fromRate, toRate);
      const s = Math.floor(y.length * 0.1);
      const e = Math.floor(y.length * 0.9);
      let p = 0;
      for (let n = s; n < e; n++) p += y[n]! * y[n]!;
      worstStop = Math.max(worstStop, db(p / (e - s) / ((amp * amp) / 2)));
    }
  } else {
    // Upsampling: the spurious power of passband tones is their images above the old Nyquist.
    worstStop = worstSpur;
  }
  return { rippleDb: gMax - gMin, worstSpuriousDb: worstSpur, worstStopbandDb: worstStop };
}

/** Kaiser window of length n. */
function kaiser(n: number, beta: number): Float64Array {
  const i0 = (x: number): number => {
    let sum = 1;
    let term = 1;
    for (let k = 1; k < 300; k++) {
      term *= (x * x) / 4 / (k * k);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return sum;
  };
  const w = new Float64Array(n);
  const d = i0(beta);
  for (let i = 0; i < n; i++) {
    const r = (2 * i) / (n - 1) - 1;
    w[i] = i0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / d;
  }
  return w;
}

export interface SweepReport {
  /** Worst frame: power away from the sweep's own frequency (aliases, images), dB re the sweep. */
  worstAliasDb: number;
  frames: number;
}

/**
 * A linear sweep from 0 to 0.995 × the input Nyquist through the converter, analysed with a
 * Kaiser(β=20) STFT. In each frame everything farther than the sweep's own smear from its
 * instantaneous frequency is spurious; frames where the sweep is in the transition band are skipped.
 */
export async function measureSweep(
  convert: Converter,
  fromRate: number,
  toRate: number,
  opts: { bandwidth?: number; seconds?: number; fftSize?: number } = {},
): Promise<SweepReport> {
  const bandwidth = opts.bandwidth ?? 0.95;
  const seconds = opts.seconds ?? 4;
  const n = opts.fftSize ?? 4096;
  const frames = Math.round(fromRate * seconds);
  const fEnd = (fromRate / 2) * 0.995;
  const amp = 0.5;
  const x = new Float32Array(frames);
  const k = fEnd / seconds; // Hz per second
  for (let i = 0; i < frames; i++) {
    const t = i / fromRate;
    x[i] = amp * Math.sin(Math.PI * k * t * t);
  }
  const y = await convert(x, fromRate, toRate);
  const lowNyq = Math.min(fromRate, toRate) / 2;
  const win = kaiser(n, 20);
  let wSum2 = 0;
  for (let i = 0; i < n; i++) wSum2 += win[i]! * win[i]!;
  const fft = getFft(n);
  const re = new Float64Array(n / 2 + 1);
  const im = new Float64Array(n / 2 + 1);
  const buf = new Float64Array(n);
  const binHz = toRate / n;
  const frameSec = n / toRate;
  // Main-lobe half width of Kaiser β=20 is about sqrt(1+(β/π)²) ≈ 6.5 bins.
  const guardHz = (k * frameSec) / 2 + 8 * binHz;
  const tonePow = (amp * amp) / 2;
  let worst = Number.NEGATIVE_INFINITY;
  let used = 0;
  const hop = n / 2;
  for (let start = 0; start + n <= y.length; start += hop) {
    const tMid = (start + n / 2) / toRate;
    const fMid = k * tMid;
    const fLo = fMid - (k * frameSec) / 2;
    const fHi = fMid + (k * frameSec) / 2;
    if (tMid < 0.05 || fHi > fEnd) continue;
    const inPass = fHi < bandwidth * lowNyq;
    const inStop = fLo > lowNyq;
    if (!inPass && !inStop) continue;
    for (let i = 0; i < n; i++) buf[i] = y[start + i]! * win[i]!;
    fft.forwardReal(buf, re, im);
    let spur = 0;
    for (let b = 1; b < n / 2; b++) {
      const f = b * binHz;
      if (inPass && Math.abs(f - fMid) <= guardHz) continue;
      spur += re[b]! * re[b]! + im[b]! * im[b]!;
    }
    // Parseval with the window: power = 2·Σ|X|² / (n·Σw²).
    const p = (2 * spur) / (n * wSum2);
    worst = Math.max(worst, db(p / tonePow));
    used++;
  }
  return { worstAliasDb: worst, frames: used };
}
