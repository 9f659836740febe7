/**
 * Assembles placed audio into fixed, render-quantum-aligned blocks. Web Audio engines start a
 * buffer that begins between two samples (or between render quanta) with interpolation; blocks
 * that start on multiples of 128 frames play bit-exact. So chunks are placed sample-exactly here,
 * in JS, and only whole aligned blocks go to the audio engine: consecutive blocks abut, so the
 * output has neither gaps nor overlaps, whatever the chunk sizes and bar positions.
 * Pure (no Node or DOM imports) so the web studio can share it.
 */

/** The Web Audio render quantum. */
export const RENDER_QUANTUM = 128;

/** The double next to `x` (> 0) towards +∞ (dir 1) or 0 (dir −1). */
function nextDouble(x: number, dir: 1 | -1): number {
  const f = new Float64Array([x]);
  const bits = new BigInt64Array(f.buffer);
  bits[0]! += BigInt(dir);
  return f[0]!;
}

/**
 * The context time of `frame`: the largest double whose product with `rate` is not above `frame`
 * (exactly `frame` whenever such a double exists). Engines turn a start time back into frames by
 * multiplying; frame / rate can land one ulp high, which an engine that rounds up (Chromium) reads
 * as "starts one frame later". One ulp low is read as the frame itself.
 */
export function exactTime(frame: number, rate: number): number {
  if (!Number.isSafeInteger(frame) || frame < 0)
    throw new RangeError(`frame must be a non-negative integer, got ${frame}`);
  if (!(rate > 0)) throw new RangeError(`rate must be positive, got ${rate}`);
  let t = frame / rate;
  if (frame === 0) return 0;
  while (t * rate > frame) t = nextDouble(t, -1);
  for (let i = 0; i < 4; i++) {
    const up = nextDouble(t, 1);
    if (up * rate > frame) break;
    t = up;
  }
  return t;
}

export interface TimelineBlock {
  /** Block number; the block covers frames [index × blockFrames, (index + 1) × blockFrames). */
  index: number;
  startFrame: number;
  channels: Float32Array[];
  /** Sent before all of its audio could arrive (its deadline came); later audio for it is late. */
  partial: boolean;
}

export interface BlockTimelineOptions {
  channels: number;
  /** Frames per block, a positive multiple of 128. Default 1024. */
  blockFrames?: number;
}

export class BlockTimeline {
  readonly channels: number;
  readonly blockFrames: number;
  private readonly pending = new Map<number, Float32Array[]>();
  /** First block not yet taken. */
  private next = 0;
  /** End of the furthest audio written. */
  private head = 0;

  constructor(options: BlockTimelineOptions) {
    const { channels } = options;
    if (!Number.isInteger(channels) || channels < 1 || channels > 32)
      throw new RangeError(`options.channels must be an integer in 1..32, got ${channels}`);
    const b = options.blockFrames ?? 1024;
    if (!Number.isInteger(b) || b < RENDER_QUANTUM || b % RENDER_QUANTUM !== 0)
      throw new RangeError(`options.blockFrames must be a positive multiple of ${RENDER_QUANTUM}, got ${b}`);
    this.channels = channels;
    this.blockFrames = b;
  }

  /** Frames before this are already handed out: audio can no longer be written there. */
  get committedFrame(): number {
    return this.next * this.blockFrames;
  }

  /** End of the furthest audio written so far. */
  get writtenFrame(): number {
    return this.head;
  }

  /** Copies `data` (planar) to frames [frame, frame + length). RangeError if any of it is committed. */
  write(frame: number, data: readonly Float32Array[]): void {
    if (!Number.isSafeInteger(frame) || frame < 0)
      throw new RangeError(`frame must be a non-negative integer, got ${frame}`);
    if (!Array.isArray(data) || data.length !== this.channels)
      throw new RangeError(`data must hold ${this.channels} channel(s)`);
    const n = data[0]!.length;
    if (n === 0) return;
    if (frame < this.committedFrame)
      throw new RangeError(`frame ${frame} is before the committed frame ${this.committedFrame}`);
    // Nothing pending before this write: skip straight to it instead of emitting silence blocks.
    if (this.pending.size === 0 && this.head <= frame) this.next = Math.floor(frame / this.blockFrames);
    const B = this.blockFrames;
    let off = 0;
    while (off < n) {
      const f = frame + off;
      const index = Math.floor(f / B);
      const at = f - index * B;
      const len = Math.min(B - at, n - off);
      let block = this.pending.get(index);
      if (!block) {
        block = Array.from({ length: this.channels }, () => new Float32Array(B));
        this.pending.set(index, block);
      }
      for (let c = 0; c < this.channels; c++) block[c]!.set(data[c]!.subarray(off, off + len), at);
      off += len;
    }
    this.head = Math.max(this.head, frame + n);
  }

  /**
   * Blocks ready to play, in order: every block that audio has been written past, and every block
   * with audio in it that starts before `deadline` (it must be handed out now to play in time, so
   * it goes out partial). Blocks without any audio are skipped: silence needs no buffer.
   */
  take(deadline: number): TimelineBlock[] {
    const out: TimelineBlock[] = [];
    const B = this.blockFrames;
    for (;;) {
      const start = this.next * B;
      const block = this.pending.get(this.next);
      const complete = start + B <= this.head;
      if (!block) {
        if (start + B <= this.head) {
          this.next++;
          continue;
        }
        break;
      }
      if (!complete && start >= deadline) break;
      this.pending.delete(this.next);
      out.push({ index: this.next, startFrame: start, channels: block, partial: !complete });
      this.next++;
    }
    return out;
  }

  /** Hands out everything written (the stream has ended). */
  drain(): TimelineBlock[] {
    return this.take(Number.POSITIVE_INFINITY);
  }
}
