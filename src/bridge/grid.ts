/**
 * The bar grid: where bars fall on a sample-frame timeline for a tempo and time signature. Every
 * position is computed from an integer bar count in one expression (never by adding bar lengths),
 * so an hour of bars lands on the same frames as the first minute would predict: no drift.
 * Pure (no Node or DOM imports) so the web studio can share it.
 */

export interface BarGridOptions {
  /** Quarter notes per minute, (0, 1000]. */
  bpm: number;
  /** [beats per bar, beat unit], default [4, 4]. */
  timeSignature?: readonly [number, number];
  /** Frames per second of the timeline, an integer. */
  sampleRate: number;
  /** Frame of bar 0 on the timeline (an integer ≥ 0), default 0. */
  originFrame?: number;
}

const UNITS = [1, 2, 4, 8, 16, 32];

/** Parses "4/4", "7/8" → [4, 4], [7, 8]; RangeError naming `name` otherwise. */
export function parseTimeSignature(text: string, name = 'timeSignature'): [number, number] {
  const m = /^\s*(\d{1,2})\s*\/\s*(\d{1,2})\s*$/.exec(String(text));
  if (!m) throw new RangeError(`${name} must look like 4/4, got "${text}"`);
  const ts: [number, number] = [Number(m[1]), Number(m[2])];
  checkTimeSignature(ts, name);
  return ts;
}

function checkTimeSignature(ts: readonly [number, number], name: string): void {
  if (!Array.isArray(ts) || ts.length !== 2) throw new TypeError(`${name} must be [beats, unit]`);
  const [beats, unit] = ts;
  if (!Number.isInteger(beats) || beats < 1 || beats > 64)
    throw new RangeError(`${name}[0] (beats) must be an integer in 1..64, got ${beats}`);
  if (!UNITS.includes(unit)) throw new RangeError(`${name}[1] (unit) must be one of ${UNITS.join(', ')}`);
}

export class BarGrid {
  readonly bpm: number;
  readonly timeSignature: readonly [number, number];
  readonly sampleRate: number;
  readonly originFrame: number;
  /** Exact (usually fractional) frames per bar; for display and estimates only. */
  readonly framesPerBar: number;
  /** Quarter notes per bar (4 in 4/4, 3 in 6/8). */
  readonly quartersPerBar: number;
  // frameOfBar(k) = origin + round(k × num / den): num and den are exact for any sane input.
  private readonly num: number;
  private readonly den: number;

  constructor(options: BarGridOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    const { bpm, sampleRate } = options;
    if (typeof bpm !== 'number' || !Number.isFinite(bpm) || bpm <= 0 || bpm > 1000)
      throw new RangeError(`options.bpm must be in (0, 1000], got ${bpm}`);
    if (!Number.isInteger(sampleRate) || sampleRate < 1000 || sampleRate > 384000)
      throw new RangeError(`options.sampleRate must be an integer in 1000..384000, got ${sampleRate}`);
    const ts = options.timeSignature ?? [4, 4];
    checkTimeSignature(ts, 'options.timeSignature');
    const origin = options.originFrame ?? 0;
    if (!Number.isSafeInteger(origin) || origin < 0)
      throw new RangeError(`options.originFrame must be a non-negative integer, got ${origin}`);
    this.bpm = bpm;
    this.timeSignature = [ts[0], ts[1]];
    this.sampleRate = sampleRate;
    this.originFrame = origin;
    this.quartersPerBar = (ts[0] * 4) / ts[1];
    // frames per bar = beats × 4/unit quarters × 60/bpm s × rate = beats × 240 × rate / (unit × bpm)
    this.num = ts[0] * 240 * sampleRate;
    this.den = ts[1] * bpm;
    this.framesPerBar = this.num / this.den;
  }

  /** The same tempo and meter on another timeline origin. */
  withOrigin(originFrame: number): BarGrid {
    return new BarGrid({
      bpm: this.bpm,
      timeSignature: this.timeSignature,
      sampleRate: this.sampleRate,
      originFrame,
    });
  }

  /** First frame of bar `bar` (an integer, may be negative as long as the frame is not). */
  frameOfBar(bar: number): number {
    if (!Number.isSafeInteger(bar)) throw new RangeError(`bar must be an integer, got ${bar}`);
    // One multiplication and one division of exact integers: the result is the correctly rounded
    // quotient, the same for bar 10 as for bar 100000.
    return this.originFrame + Math.round((bar * this.num) / this.den);
  }

  /** Frames of bars [from, from + count): exact integers that tile the timeline without gaps. */
  barFrames(from: number, count = 1): number {
    return this.frameOfBar(from + count) - this.frameOfBar(from);
  }

  /** The first bar whose start is at or after `frame`. */
  barAtOrAfter(frame: number): number {
    if (!Number.isFinite(frame)) throw new RangeError(`frame must be a finite number, got ${frame}`);
    let bar = Math.ceil(((frame - this.originFrame) * this.den) / this.num);
    // The estimate can be one off where rounding puts a bar start on the other side of `frame`.
    while (this.frameOfBar(bar) < frame) bar++;
    while (this.frameOfBar(bar - 1) >= frame) bar--;
    return bar;
  }

  /** The bar containing `frame` (the last bar starting at or before it). */
  barAt(frame: number): number {
    const b = this.barAtOrAfter(frame);
    return this.frameOfBar(b) === frame ? b : b - 1;
  }

  /** Quarter-note position of bar `bar` (the `anchor` of a job whose frame 0 starts that bar). */
  quarterOfBar(bar: number): number {
    return bar * this.quartersPerBar;
  }
}
