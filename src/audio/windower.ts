/**
 * Overlap-add windower for processing long signals in chunks with bounded memory.
 *
 * Input arrives in chunks of any size; every `hop` samples a frame of `windowLength` samples is cut,
 * multiplied by the analysis window, handed to the processor, multiplied by the synthesis window
 * and overlap-added. The sum of analysis × synthesis windows over all shifts is divided out, so
 * with an identity processor the output equals the input. The stream starts with
 * windowLength − hop virtual zeros so that the first samples are covered like any other; output
 * sample i is input sample i, emitted `latency` samples after it was pushed. Memory: two frames.
 */

import { reflectIndex } from './reflect.ts';

export type WindowSpec = 'hann' | 'sqrt-hann' | 'rect' | Float32Array | Float64Array;

/** Processes one windowed frame: modify it in place (return nothing) or return a new frame. */
export type FrameProcessor = (frame: Float32Array, frameIndex: number) => Float32Array | undefined;
export type AsyncFrameProcessor = (
  frame: Float32Array,
  frameIndex: number,
) => Float32Array | undefined | Promise<Float32Array | undefined>;

export interface WindowerOptions {
  windowLength: number;
  hop: number;
  /** Applied before the processor. Default 'sqrt-hann'. */
  analysisWindow?: WindowSpec;
  /** Applied after the processor. Default 'sqrt-hann' (so their product is a Hann window). */
  synthesisWindow?: WindowSpec;
  /**
   * What the processor sees before the first and after the last sample: 'zeros' (default), or
   * 'reflect' — the signal mirrored at its ends (x[−k] = x[k]), for processors (models) that
   * would misread digital silence. Padded samples are never emitted either way.
   */
  padding?: 'zeros' | 'reflect';
}

/** Periodic windows (the ones whose shifts sum to a constant). */
export function makeWindow(spec: WindowSpec, length: number, name = 'window'): Float64Array {
  if (spec instanceof Float32Array || spec instanceof Float64Array) {
    if (spec.length !== length)
      throw new RangeError(`${name} must have length ${length}, got ${spec.length}`);
    return Float64Array.from(spec);
  }
  const w = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const hann = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / length);
    if (spec === 'hann') w[i] = hann;
    else if (spec === 'sqrt-hann') w[i] = Math.sqrt(hann);
    else if (spec === 'rect') w[i] = 1;
    else
      throw new RangeError(
        `${name} must be 'hann', 'sqrt-hann', 'rect' or a Float32Array, got ${String(spec)}`,
      );
  }
  return w;
}

/** Largest relative deviation of the shifted window-product sum from its mean (0 for exact COLA). */
export function colaDeviation(analysis: Float64Array, synthesis: Float64Array, hop: number): number {
  const sums = phaseSums(analysis, synthesis, hop);
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  let mean = 0;
  for (const s of sums) {
    min = Math.min(min, s);
    max = Math.max(max, s);
    mean += s / sums.length;
  }
  return mean === 0 ? Number.POSITIVE_INFINITY : (max - min) / mean;
}

function phaseSums(analysis: Float64Array, synthesis: Float64Array, hop: number): Float64Array {
  const sums = new Float64Array(hop);
  for (let i = 0; i < analysis.length; i++) sums[i % hop] = sums[i % hop]! + analysis[i]! * synthesis[i]!;
  return sums;
}

export class OverlapAddWindower {
  readonly windowLength: number;
  readonly hop: number;
  /** Samples by which output lags input: windowLength − hop. */
  readonly latency: number;
  private readonly analysis: Float64Array;
  private readonly synthesis: Float64Array;
  private readonly reflect: boolean;
  /** 1 / Σ analysis·synthesis for each output phase (mod hop). */
  private readonly norm: Float64Array;
  /** The last windowLength input samples (frame under construction), linear buffer. */
  private readonly input: Float32Array;
  private inputFill: number;
  /** Overlap-add accumulator, aligned with the current frame start. */
  private readonly acc: Float64Array;
  private frameIndex = 0;
  /** Absolute position of the current frame start (negative during the virtual lead-in). */
  private frameStart: number;
  private pushed = 0;
  private emitted = 0;
  private finished = false;
  private busy = false;

  constructor(opts: WindowerOptions) {
    const { windowLength, hop } = opts;
    if (!Number.isInteger(windowLength) || windowLength < 1 || windowLength > 1 << 24)
      throw new RangeError(`windowLength must be an integer in [1, 2^24], got ${windowLength}`);
    if (!Number.isInteger(hop) || hop < 1 || hop > windowLength)
      throw new RangeError(`hop must be an integer in [1, windowLength], got ${hop}`);
    this.windowLength = windowLength;
    this.hop = hop;
    this.latency = windowLength - hop;
    this.analysis = makeWindow(opts.analysisWindow ?? 'sqrt-hann', windowLength, 'analysisWindow');
    this.synthesis = makeWindow(opts.synthesisWindow ?? 'sqrt-hann', windowLength, 'synthesisWindow');
    const padding = opts.padding ?? 'zeros';
    if (padding !== 'zeros' && padding !== 'reflect')
      throw new RangeError(`padding must be 'zeros' or 'reflect', got ${String(padding)}`);
    this.reflect = padding === 'reflect';
    const dev = colaDeviation(this.analysis, this.synthesis, hop);
    // Small deviations are divided out exactly; large ones mean the windows do not fit the hop.
    if (!(dev <= 0.01))
      throw new RangeError(
        `analysisWindow × synthesisWindow is not COLA at hop ${hop} (deviation ${(dev * 100).toFixed(2)} %)`,
      );
    this.norm = phaseSums(this.analysis, this.synthesis, hop).map((s) => 1 / s);
    this.input = new Float32Array(windowLength);
    this.inputFill = this.latency; // virtual leading zeros
    this.acc = new Float64Array(windowLength);
    this.frameStart = -this.latency;
  }

  /** Feeds samples through a synchronous processor; returns the output samples now complete. */
  push(chunk: Float32Array, processor: FrameProcessor): Float32Array {
    this.checkPush(chunk);
    const out = new Collector();
    this.busy = true;
    try {
      let pos = 0;
      while (pos < chunk.length) {
        pos += this.fill(chunk, pos);
        if (this.inputFill === this.windowLength) {
          const r = processor(this.cutFrame(), this.frameIndex);
          if (r !== undefined && typeof (r as unknown as PromiseLike<unknown>).then === 'function')
            throw new TypeError('processor returned a Promise; use pushAsync/flushAsync');
          out.add(this.addFrame(r ?? this.lastFrame));
        }
      }
    } finally {
      this.busy = false;
    }
    return out.result();
  }

  /** Ends the stream with a synchronous processor: returns the rest of the output. */
  flush(processor: FrameProcessor): Float32Array {
    const out = new Collector();
    this.busy = true;
    try {
      while (this.needsMoreFrames()) {
        this.padZeros();
        const r = processor(this.cutFrame(), this.frameIndex);
        if (r !== undefined && typeof (r as unknown as PromiseLike<unknown>).then === 'function')
          throw new TypeError('processor returned a Promise; use pushAsync/flushAsync');
        out.add(this.addFrame(r ?? this.lastFrame));
      }
    } finally {
      this.busy = false;
    }
    this.finished = true;
    return out.result();
  }

  /** As push, for processors that return Promises (e.g. model inference). */
  async pushAsync(chunk: Float32Array, processor: AsyncFrameProcessor): Promise<Float32Array> {
    this.checkPush(chunk);
    const out = new Collector();
    this.busy = true;
    try {
      let pos = 0;
      while (pos < chunk.length) {
        pos += this.fill(chunk, pos);
        if (this.inputFill === this.windowLength) {
          const r = await processor(this.cutFrame(), this.frameIndex);
          out.add(this.addFrame(r ?? this.lastFrame));
        }
      }
    } finally {
      this.busy = false;
    }
    return out.result();
  }

  /** As flush, for processors that return Promises. */
  async flushAsync(processor: AsyncFrameProcessor): Promise<Float32Array> {
    const out = new Collector();
    this.busy = true;
    try {
      while (this.needsMoreFrames()) {
        this.padZeros();
        const r = await processor(this.cutFrame(), this.frameIndex);
        out.add(this.addFrame(r ?? this.lastFrame));
      }
    } finally {
      this.busy = false;
    }
    this.finished = true;
    return out.result();
  }

  private checkPush(chunk: Float32Array): void {
    if (!(chunk instanceof Float32Array)) throw new TypeError('chunk must be a Float32Array');
    if (this.finished) throw new RangeError('push after flush; create a new OverlapAddWindower');
    if (this.busy) throw new RangeError('push while a previous push is still running');
  }

  /** Copies as much of chunk[pos..] as fits into the frame buffer; returns the count. */
  private fill(chunk: Float32Array, pos: number): number {
    const n = Math.min(chunk.length - pos, this.windowLength - this.inputFill);
    this.input.set(chunk.subarray(pos, pos + n), this.inputFill);
    this.inputFill += n;
    this.pushed += n;
    return n;
  }

  private needsMoreFrames(): boolean {
    // Zero-padded frames continue until every pushed sample has been emitted.
    return this.emitted < this.pushed;
  }

  private padZeros(): void {
    this.input.fill(0, this.inputFill);
    this.inputFill = this.windowLength;
  }

  private lastFrame: Float32Array = new Float32Array(0);

  private cutFrame(): Float32Array {
    const f = new Float32Array(this.windowLength);
    if (this.reflect) this.reflectPadding();
    for (let i = 0; i < this.windowLength; i++) f[i] = this.input[i]! * this.analysis[i]!;
    this.lastFrame = f;
    return f;
  }

  /**
   * Replaces the frame's virtual samples (the lead-in before sample 0, the padding after the last
   * pushed sample) with the real ones mirrored about the ends, folding again where the signal is
   * shorter than the padding. Real samples are untouched, so output alignment is unchanged.
   */
  private reflectPadding(): void {
    const n = this.windowLength;
    const lo = Math.max(0, -this.frameStart);
    const hi = Math.min(n, this.pushed - this.frameStart);
    if (lo === 0 && hi === n) return;
    const len = hi - lo;
    if (len <= 0) return; // nothing real in this frame: zeros stay
    const buf = this.input;
    for (let i = 0; i < lo; i++) buf[i] = buf[lo + reflectIndex(i - lo, len)]!;
    for (let i = hi; i < n; i++) buf[i] = buf[lo + reflectIndex(i - lo, len)]!;
  }

  /** Overlap-adds a processed frame; returns the `hop` samples it completed (minus lead-in and padding). */
  private addFrame(frame: Float32Array): Float32Array {
    const n = this.windowLength;
    const h = this.hop;
    if (!(frame instanceof Float32Array) || frame.length !== n)
      throw new TypeError(`processor must return a Float32Array of length ${n} (or nothing)`);
    const acc = this.acc;
    for (let i = 0; i < n; i++) acc[i] = acc[i]! + frame[i]! * this.synthesis[i]!;
    // Samples [frameStart, frameStart + hop) receive nothing more: normalise and emit them.
    const start = this.frameStart;
    const from = Math.max(0, -start);
    const to = Math.min(h, this.pushed - start);
    const out = new Float32Array(Math.max(0, to - from));
    for (let i = from; i < to; i++) {
      // Frames cover offset i at window positions i, i + hop, …: the phase sum for i.
      out[i - from] = acc[i]! * this.norm[i]!;
    }
    this.emitted += out.length;
    // Shift the accumulator and the input frame by one hop.
    acc.copyWithin(0, h);
    acc.fill(0, n - h);
    this.input.copyWithin(0, h);
    this.inputFill = n - h;
    this.frameStart += h;
    this.frameIndex++;
    return out;
  }
}

/** Gathers output pieces and joins them once. */
class Collector {
  private parts: Float32Array[] = [];
  private total = 0;
  add(p: Float32Array): void {
    if (p.length === 0) return;
    this.parts.push(p);
    this.total += p.length;
  }
  result(): Float32Array {
    if (this.parts.length === 1) return this.parts[0]!;
    const out = new Float32Array(this.total);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}
