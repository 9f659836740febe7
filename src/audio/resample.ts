/**
 * Sample-rate conversion by a polyphase Kaiser-windowed sinc.
 *
 * Output sample n sits exactly at input time n·from/to (zero group delay), the input is taken as
 * zero outside its extent, and the output length is round(len·to/from). The rate ratio is reduced
 * to L/M; when the L phase filters fit in memory they are tabulated exactly, otherwise (odd or
 * fractional rates) a densely oversampled prototype is linearly interpolated. The dot products run
 * in a WebAssembly SIMD kernel (resample-wasm.ts; plain JS with identical results as fallback).
 */
import { type PolyphaseJob, PolyphaseKernel, polyphaseJs } from './resample-wasm.ts';
import { MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, type PcmAudio } from './types.ts';

export type ResampleQuality = 'high' | 'medium' | 'fast';

export interface ResampleOptions {
  /** Preset for stopband attenuation and passband width. Default 'high'. */
  quality?: ResampleQuality;
  /**
   * Passband edge as a fraction of the lower of the two Nyquist frequencies (0.5–0.99). The stopband
   * starts at that Nyquist, so nothing above it aliases. Default per quality: 0.95 / 0.9 / 0.8.
   */
  bandwidth?: number;
  /** Stopband attenuation in dB (40–180). Default per quality: 125 / 95 / 65. */
  stopbandDb?: number;
}

const PRESETS: Record<ResampleQuality, { bandwidth: number; stopbandDb: number }> = {
  high: { bandwidth: 0.95, stopbandDb: 125 },
  medium: { bandwidth: 0.9, stopbandDb: 95 },
  fast: { bandwidth: 0.8, stopbandDb: 65 },
};

/** Tabulate every phase exactly while the table stays below this many coefficients (16 MiB). */
const MAX_EXACT_TABLE = 2_000_000;
/** Oversampling of the interpolated prototype; linear interpolation error ≈ −120 dB at 1024. */
const MIN_INTERP_PHASES = 1024;

function besselI0(x: number): number {
  // Power series; converges fast for the β ≤ 20 used here.
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Integer ratio L/M = toRate/fromRate, reduced. Fractional rates are taken to 1/1000 Hz. */
function rateRatio(fromRate: number, toRate: number): { up: number; down: number } {
  let a = toRate;
  let b = fromRate;
  if (!Number.isInteger(a) || !Number.isInteger(b)) {
    a = Math.round(a * 1000);
    b = Math.round(b * 1000);
  }
  const g = gcd(a, b);
  return { up: a / g, down: b / g };
}

function validateRate(rate: number, name: string): void {
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < MIN_SAMPLE_RATE || rate > MAX_SAMPLE_RATE)
    throw new RangeError(
      `${name} must be a sample rate in [${MIN_SAMPLE_RATE}, ${MAX_SAMPLE_RATE}] Hz, got ${rate}`,
    );
}

function resolveOptions(opts: ResampleOptions | undefined): { bandwidth: number; stopbandDb: number } {
  const quality = opts?.quality ?? 'high';
  const preset = PRESETS[quality];
  if (preset === undefined)
    throw new RangeError(`opts.quality must be 'high', 'medium' or 'fast', got ${quality}`);
  const bandwidth = opts?.bandwidth ?? preset.bandwidth;
  const stopbandDb = opts?.stopbandDb ?? preset.stopbandDb;
  if (!(bandwidth >= 0.5 && bandwidth <= 0.99))
    throw new RangeError(`opts.bandwidth must be in [0.5, 0.99], got ${bandwidth}`);
  if (!(stopbandDb >= 40 && stopbandDb <= 180))
    throw new RangeError(`opts.stopbandDb must be in [40, 180], got ${stopbandDb}`);
  return { bandwidth, stopbandDb };
}

/** The polyphase filter for one rate pair and design; immutable and shared between resamplers. */
interface FilterBank {
  readonly up: number;
  readonly down: number;
  /** Input offset of the first tap relative to floor(t): negative. */
  readonly firstOffset: number;
  readonly taps: number;
  /** Number of tabulated phases: `up` when exact, else the interpolation grid size. */
  readonly phases: number;
  readonly exact: boolean;
  /** Row length: taps rounded up to a multiple of 8, zero padded (the SIMD kernel's unroll). */
  readonly stride: number;
  /** (phases + 1) × stride coefficients, row p = phase p/phases; the extra row is phase 1. */
  readonly table: Float64Array;
  /** Built on first use; null where WebAssembly SIMD is unavailable. */
  kernel: PolyphaseKernel | null | undefined;
}

const bankCache = new Map<string, FilterBank>();

function designBank(fromRate: number, toRate: number, bandwidth: number, stopbandDb: number): FilterBank {
  const key = `${fromRate}:${toRate}:${bandwidth}:${stopbandDb}`;
  const cached = bankCache.get(key);
  if (cached !== undefined) return cached;

  const { up, down } = rateRatio(fromRate, toRate);
  const lowRate = Math.min(fromRate, toRate);
  // Kaiser design in units of the lower rate: transition from bandwidth·Nyquist to Nyquist.
  const transition = (1 - bandwidth) / 2; // cycles per low-rate sample
  const order = (stopbandDb - 7.95) / (2.285 * 2 * Math.PI * transition);
  const beta =
    stopbandDb > 50
      ? 0.1102 * (stopbandDb - 8.7)
      : 0.5842 * (stopbandDb - 21) ** 0.4 + 0.07886 * (stopbandDb - 21);
  const halfWidth = (order / 2) * (fromRate / lowRate); // in input samples
  // Cutoff midway through the transition band, as a fraction of the input rate (sinc argument scale).
  const scale = ((1 + bandwidth) / 2) * (lowRate / fromRate);
  const i0Beta = besselI0(beta);
  const h = (t: number): number => {
    const a = Math.abs(t);
    if (a >= halfWidth) return 0;
    const r = a / halfWidth;
    const w = besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta;
    const x = Math.PI * scale * t;
    return scale * w * (x === 0 ? 1 : Math.sin(x) / x);
  };

  const firstOffset = -Math.ceil(halfWidth);
  const taps = Math.ceil(halfWidth) + 1 - firstOffset + 1;
  const exact = up * taps <= MAX_EXACT_TABLE;
  const phases = exact ? up : Math.max(MIN_INTERP_PHASES, Math.floor(MAX_EXACT_TABLE / taps) - 1);
  const stride = Math.ceil(taps / 8) * 8;
  const table = new Float64Array((phases + 1) * stride);
  for (let p = 0; p <= phases; p++) {
    const frac = p / phases;
    const row = p * stride;
    // y(t) = Σ_k x[k]·h(t − k); with t = i + frac and k = i + firstOffset + m.
    for (let m = 0; m < taps; m++) table[row + m] = h(frac - (firstOffset + m));
  }
  const bank: FilterBank = { up, down, firstOffset, taps, phases, exact, stride, table, kernel: undefined };
  if (bankCache.size > 32) bankCache.clear();
  bankCache.set(key, bank);
  return bank;
}

/** Exact round(a·b/c) for non-negative integers, half up, without overflowing doubles. */
function mulDivRound(a: number, b: number, c: number): number {
  const p = a * b;
  if (p <= Number.MAX_SAFE_INTEGER) return Math.floor((2 * p + c) / (2 * c));
  const bc = BigInt(c);
  return Number((2n * BigInt(a) * BigInt(b) + bc) / (2n * bc));
}

/** Outputs per kernel call: bounds the WebAssembly scratch memory. */
const BATCH = 16384;

/**
 * Streaming resampler for one channel. Feed chunks of any size with `process`, then call `flush`
 * once; the concatenated outputs equal `resample()` of the whole signal, sample for sample. Memory
 * stays bounded by the filter length plus the largest chunk.
 */
export class Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  private readonly bank: FilterBank;
  private buf: Float32Array;
  /** Absolute input index of buf[0] (negative at the start: the implicit leading zeros). */
  private bufStart: number;
  private bufLen: number;
  private inCount = 0;
  private outCount = 0;
  /** Input position of the next output: floor part and phase numerator (over `up`). */
  private posInt = 0;
  private posPhase = 0;
  private flushed = false;

  constructor(fromRate: number, toRate: number, opts?: ResampleOptions) {
    validateRate(fromRate, 'fromRate');
    validateRate(toRate, 'toRate');
    const { bandwidth, stopbandDb } = resolveOptions(opts);
    this.fromRate = fromRate;
    this.toRate = toRate;
    this.bank = designBank(fromRate, toRate, bandwidth, stopbandDb);
    const lead = -this.bank.firstOffset;
    this.buf = new Float32Array(Math.max(4096, 4 * this.bank.taps));
    this.bufStart = -lead;
    this.bufLen = lead; // leading zeros already in place
  }

  /** Filter taps per output sample (cost per output). */
  get taps(): number {
    return this.bank.taps;
  }

  /** Number of output samples produced so far. */
  get outputLength(): number {
    return this.outCount;
  }

  /** Feeds input samples; returns every output sample that is now fully determined. */
  process(chunk: Float32Array): Float32Array {
    if (!(chunk instanceof Float32Array)) throw new TypeError('chunk must be a Float32Array');
    if (this.flushed) throw new RangeError('process() called after flush(); create a new Resampler');
    if (this.fromRate === this.toRate) return chunk.slice(); // identity, as resample() does
    this.append(chunk, chunk.length);
    this.inCount += chunk.length;
    // Outputs beyond round(inCount·L/M) may not exist in the final signal, so stop there too.
    const limit = mulDivRound(this.inCount, this.bank.up, this.bank.down);
    return this.produce(limit, this.inCount);
  }

  /** Ends the stream: returns the remaining outputs (the input is zero beyond its end). */
  flush(): Float32Array {
    if (this.flushed) return new Float32Array(0);
    this.flushed = true;
    if (this.fromRate === this.toRate) return new Float32Array(0);
    const total = mulDivRound(this.inCount, this.bank.up, this.bank.down);
    // Pad with zeros far enough for the last output's filter support.
    if (total > this.outCount) {
      const lastInt = Math.floor(((total - 1) * this.bank.down) / this.bank.up) + 1;
      const needEnd = lastInt + this.bank.firstOffset + this.bank.taps;
      const pad = Math.max(0, needEnd - (this.bufStart + this.bufLen));
      this.append(null, pad);
    }
    const out = this.produce(total, Number.POSITIVE_INFINITY);
    this.buf = new Float32Array(0);
    this.bufLen = 0;
    return out;
  }

  /** Appends `n` samples (zeros when `src` is null), compacting or growing the buffer as needed. */
  private append(src: Float32Array | null, n: number): void {
    const keepFrom = Math.max(0, this.posInt + this.bank.firstOffset - this.bufStart);
    if (this.bufLen + n > this.buf.length) {
      const live = this.bufLen - keepFrom;
      if (live + n <= this.buf.length && keepFrom > 0) {
        this.buf.copyWithin(0, keepFrom, this.bufLen);
      } else {
        const grown = new Float32Array(Math.max(2 * this.buf.length, live + n));
        grown.set(this.buf.subarray(keepFrom, this.bufLen));
        this.buf = grown;
      }
      this.bufStart += keepFrom;
      this.bufLen = live;
    }
    if (src === null) this.buf.fill(0, this.bufLen, this.bufLen + n);
    else this.buf.set(src, this.bufLen);
    this.bufLen += n;
  }

  /** Computes outputs while n < limit and the filter support ends before `available` input. */
  private produce(limit: number, available: number): Float32Array {
    const bank = this.bank;
    const { up, down, taps, firstOffset, phases, exact, stride, table } = bank;
    const end = Math.min(available, this.bufStart + this.bufLen);
    const stepInt = Math.floor(down / up);
    const stepPhase = down % up;
    // Count the outputs first (cheap integer steps); the kernel then computes them in batches.
    const maxOut = Math.max(0, limit - this.outCount);
    let count = 0;
    let posInt = this.posInt;
    let posPhase = this.posPhase;
    while (count < maxOut && posInt + firstOffset + taps <= end) {
      count++;
      posInt += stepInt;
      posPhase += stepPhase;
      if (posPhase >= up) {
        posPhase -= up;
        posInt++;
      }
    }
    const out = new Float32Array(count);
    if (count > 0) {
      if (bank.kernel === undefined) bank.kernel = PolyphaseKernel.create(table, stride);
      const input = this.buf.subarray(0, this.bufLen);
      let pi = this.posInt;
      let pp = this.posPhase;
      for (let done = 0; done < count; ) {
        const k = Math.min(BATCH, count - done);
        // Input position of the batch's last output, then of the next batch's first.
        const t = pp + (k - 1) * stepPhase;
        const lastInt = pi + (k - 1) * stepInt + Math.floor(t / up);
        const job: PolyphaseJob = {
          input,
          inStart: pi + firstOffset - this.bufStart,
          inLength: lastInt - pi + stride,
          count: k,
          phase: pp,
          up,
          stepInt,
          stepPhase,
          phaseScale: exact ? 0 : phases / up,
          out,
          outStart: done,
        };
        if (bank.kernel !== null) bank.kernel.run(job);
        else polyphaseJs(job, table, stride);
        const t2 = pp + k * stepPhase;
        pi += k * stepInt + Math.floor(t2 / up);
        pp = t2 % up;
        done += k;
      }
    }
    this.posInt = posInt;
    this.posPhase = posPhase;
    this.outCount += count;
    return out;
  }
}

/**
 * Resamples one channel from `fromRate` to `toRate` (Hz). Output length is round(len·to/from),
 * aligned with the input (no delay). Same rates return a copy.
 */
export function resample(
  x: Float32Array,
  fromRate: number,
  toRate: number,
  opts?: ResampleOptions,
): Float32Array {
  if (!(x instanceof Float32Array)) throw new TypeError('x must be a Float32Array');
  validateRate(fromRate, 'fromRate');
  validateRate(toRate, 'toRate');
  resolveOptions(opts);
  if (fromRate === toRate) return x.slice();
  const r = new Resampler(fromRate, toRate, opts);
  const head = r.process(x);
  const tail = r.flush();
  if (tail.length === 0) return head;
  const out = new Float32Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

/** Resamples every channel of `audio` to `toRate`. */
export function resampleAudio(audio: PcmAudio, toRate: number, opts?: ResampleOptions): PcmAudio {
  if (audio === null || typeof audio !== 'object' || !Array.isArray(audio.channels))
    throw new TypeError('audio must be a PcmAudio');
  return {
    sampleRate: toRate,
    channels: audio.channels.map((ch) => resample(ch, audio.sampleRate, toRate, opts)),
  };
}
