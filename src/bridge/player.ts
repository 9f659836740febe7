/**
 * StreamPlayer: plays streamed chunks on a Web Audio context, bar-aligned and gapless. A segment
 * (one job's output) starts on a bar of the grid; each chunk lands at that bar's frame plus its
 * frame offset in the stream, sample-exactly. Chunks go through a BlockTimeline, so what reaches
 * the engine are aligned blocks scheduled back to back. Audio that arrives too late for its place
 * moves, with the rest of its segment, by whole bars to the next bar that can still be reached:
 * it keeps its phase in the bar instead of playing out of time.
 */
import type { BarGrid } from './grid.ts';
import { BlockTimeline } from './timeline.ts';

/** The part of a (Offline)AudioContext the player uses. */
export type PlayerContext = Pick<
  BaseAudioContext,
  'sampleRate' | 'currentTime' | 'createBuffer' | 'createBufferSource' | 'destination'
>;

export interface StreamPlayerOptions {
  context: PlayerContext;
  /** Bar grid on the context's frame timeline (its sampleRate must be the context's). */
  grid: BarGrid;
  channels: number;
  /** Frames per scheduled block, a multiple of 128 (default 1024). */
  blockFrames?: number;
  /** A segment (or late audio) starts no sooner than this after now. Default 0.25 s. */
  leadSeconds?: number;
  /** Blocks are handed to the engine at least this long before they play. Default 0.06 s. */
  guardSeconds?: number;
  /** Current playback position in frames; default the context's currentTime. */
  clock?: () => number;
  /** Where blocks are connected; default the context's destination. */
  destination?: AudioNode;
  /** Schedules by itself every this many ms (default 20); null: the caller calls pump(). */
  tickMs?: number | null;
  /** Keep every placement and block for inspection (tests, diagnostics). Default false. */
  history?: boolean;
  /**
   * Start time passed to start() for a block's first frame. Engines differ in how they map it back:
   * node-web-audio-api divides frames by the rate (so frame / rate, the default, is bit-exact);
   * Chromium multiplies the time by the rate and rounds up, so browsers pass `exactTime`.
   */
  timeOf?: (frame: number, rate: number) => number;
}

/** Where a chunk was put. */
export interface Placement {
  segment: number;
  /** Frame of the chunk in its stream. */
  streamFrame: number;
  frames: number;
  /** Frame on the context timeline. */
  frame: number;
  /** The bar of the grid where the segment's stream frame 0 now sits. */
  segmentBar: number;
}

export interface ScheduledBlock {
  startFrame: number;
  frames: number;
  /** Context time passed to start(). */
  when: number;
  partial: boolean;
  /** Context frame when it was scheduled (how far ahead it was: startFrame − scheduledAt). */
  scheduledAt: number;
}

export interface LateEvent {
  segment: number;
  streamFrame: number;
  /** Where the chunk should have gone, and the earliest frame still possible. */
  wantedFrame: number;
  earliestFrame: number;
  fromBar: number;
  toBar: number;
}

export interface PlayerStats {
  blocks: number;
  partialBlocks: number;
  placements: number;
  late: number;
  /** End of the audio handed to the engine (context frames). */
  scheduledFrame: number;
  /** Smallest lead (start − now, frames) a block was scheduled with; Infinity before any. */
  minLeadFrames: number;
}

export class PlayerSegment {
  readonly id: number;
  /** Bar where stream frame 0 sits; undefined until the first chunk (or an explicit bar). */
  bar: number | undefined;
  /**
   * Free-running (not on the bar grid): stream frame 0 plays at `origin`, as soon as possible
   * after the first chunk arrives; late audio moves to the earliest reachable frame.
   */
  readonly free: boolean;
  origin: number | undefined;
  /** Stream frames received so far. */
  frames = 0;
  private readonly player: StreamPlayer;

  constructor(id: number, player: StreamPlayer, bar: number | undefined, free = false) {
    this.id = id;
    this.player = player;
    this.bar = bar;
    this.free = free;
  }

  /** Places a chunk that starts at `streamFrame` (chunks arrive in order). */
  push(streamFrame: number, channels: readonly Float32Array[]): Placement {
    return this.player.place(this, streamFrame, channels);
  }
}

export class StreamPlayer {
  readonly context: PlayerContext;
  readonly grid: BarGrid;
  readonly channels: number;
  readonly sampleRate: number;
  readonly leadFrames: number;
  readonly guardFrames: number;
  readonly placements: Placement[] = [];
  readonly blocks: ScheduledBlock[] = [];
  readonly lateEvents: LateEvent[] = [];
  /** Called for every late chunk (the bridge logs it). */
  onLate: ((e: LateEvent) => void) | undefined;
  private readonly timeline: BlockTimeline;
  private readonly clock: () => number;
  private readonly destination: AudioNode;
  private readonly history: boolean;
  private readonly timeOf: (frame: number, rate: number) => number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private segments = 0;
  private readonly live = new Set<AudioBufferSourceNode>();
  private statsValue: PlayerStats = {
    blocks: 0,
    partialBlocks: 0,
    placements: 0,
    late: 0,
    scheduledFrame: 0,
    minLeadFrames: Number.POSITIVE_INFINITY,
  };
  private closed = false;

  constructor(options: StreamPlayerOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    const { context, grid } = options;
    if (!context || typeof context.createBufferSource !== 'function')
      throw new TypeError('options.context must be a Web Audio (Offline)AudioContext');
    if (grid.sampleRate !== context.sampleRate)
      throw new RangeError(
        `options.grid.sampleRate (${grid.sampleRate}) must equal the context's (${context.sampleRate})`,
      );
    const lead = options.leadSeconds ?? 0.25;
    const guard = options.guardSeconds ?? 0.06;
    if (!Number.isFinite(lead) || lead < 0) throw new RangeError('options.leadSeconds must be ≥ 0');
    if (!Number.isFinite(guard) || guard < 0 || guard > Math.max(lead, 0.06))
      throw new RangeError('options.guardSeconds must be in [0, max(leadSeconds, 0.06)]');
    this.context = context;
    this.grid = grid;
    this.channels = options.channels;
    this.sampleRate = context.sampleRate;
    this.timeline = new BlockTimeline({
      channels: options.channels,
      blockFrames: options.blockFrames ?? 1024,
    });
    this.leadFrames = Math.round(lead * this.sampleRate);
    this.guardFrames = Math.round(guard * this.sampleRate);
    this.clock = options.clock ?? (() => Math.round(context.currentTime * this.sampleRate));
    this.destination = options.destination ?? context.destination;
    this.history = options.history ?? false;
    this.timeOf = options.timeOf ?? ((frame, rate) => frame / rate);
    const tick = options.tickMs === undefined ? 20 : options.tickMs;
    if (tick !== null) {
      if (!Number.isFinite(tick) || tick <= 0) throw new RangeError('options.tickMs must be > 0 or null');
      this.timer = setInterval(() => this.pump(), tick);
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Playback position now (context frames). */
  get now(): number {
    return this.clock();
  }

  get blockFrames(): number {
    return this.timeline.blockFrames;
  }

  /** End of the audio written so far (context frames). */
  get writtenFrame(): number {
    return this.timeline.writtenFrame;
  }

  /** Frames of audio between now and the end of what was written. */
  get bufferedFrames(): number {
    return Math.max(0, this.timeline.writtenFrame - this.now);
  }

  get stats(): PlayerStats {
    return { ...this.statsValue };
  }

  /**
   * A new segment. Without `bar` it starts on the first bar that is at least the lead ahead of the
   * moment its first chunk arrives and after everything already written.
   */
  startSegment(bar?: number): PlayerSegment {
    if (bar !== undefined && !Number.isSafeInteger(bar)) throw new RangeError(`bar must be an integer`);
    return new PlayerSegment(++this.segments, this, bar);
  }

  /** A segment that starts as soon as its first chunk can be played, off the bar grid (previews). */
  startFreeSegment(): PlayerSegment {
    return new PlayerSegment(++this.segments, this, undefined, true);
  }

  /** @internal Used by PlayerSegment.push. */
  place(segment: PlayerSegment, streamFrame: number, channels: readonly Float32Array[]): Placement {
    if (this.closed) throw new Error('the player is closed');
    if (!Number.isSafeInteger(streamFrame) || streamFrame < 0)
      throw new RangeError(`streamFrame must be a non-negative integer, got ${streamFrame}`);
    if (!Array.isArray(channels) || channels.length !== this.channels)
      throw new RangeError(`channels must hold ${this.channels} Float32Array(s)`);
    const earliest = this.timeline.committedFrame;
    if (segment.free) {
      const limit = Math.max(earliest, this.now + this.guardFrames);
      if (segment.origin === undefined || segment.origin + streamFrame < limit) {
        const late = segment.origin !== undefined;
        const to = Math.max(earliest, this.now + this.leadFrames, this.timeline.writtenFrame) - streamFrame;
        if (late) {
          const e: LateEvent = {
            segment: segment.id,
            streamFrame,
            wantedFrame: segment.origin! + streamFrame,
            earliestFrame: limit,
            fromBar: this.grid.barAt(segment.origin! + streamFrame),
            toBar: this.grid.barAt(to + streamFrame),
          };
          this.statsValue.late++;
          if (this.history) this.lateEvents.push(e);
          this.onLate?.(e);
        }
        segment.origin = to;
      }
      return this.write(segment, streamFrame, segment.origin + streamFrame, channels);
    }
    if (segment.bar === undefined) {
      const from = Math.max(this.now + this.leadFrames, this.timeline.writtenFrame) - streamFrame;
      segment.bar = this.grid.barAtOrAfter(Math.max(from, this.grid.originFrame));
    }
    let frame = this.grid.frameOfBar(segment.bar) + streamFrame;
    const limit = Math.max(earliest, this.now + this.guardFrames);
    if (frame < limit) {
      // Too late for its place: the rest of the segment moves by whole bars, keeping its phase.
      const target = Math.max(earliest, this.now + this.leadFrames);
      const toBar = Math.max(segment.bar + 1, this.grid.barAtOrAfter(target - streamFrame));
      const e: LateEvent = {
        segment: segment.id,
        streamFrame,
        wantedFrame: frame,
        earliestFrame: limit,
        fromBar: segment.bar,
        toBar,
      };
      segment.bar = toBar;
      frame = this.grid.frameOfBar(toBar) + streamFrame;
      this.statsValue.late++;
      if (this.history) this.lateEvents.push(e);
      this.onLate?.(e);
    }
    return this.write(segment, streamFrame, frame, channels);
  }

  private write(
    segment: PlayerSegment,
    streamFrame: number,
    frame: number,
    channels: readonly Float32Array[],
  ): Placement {
    const n = channels[0]!.length;
    this.timeline.write(frame, channels);
    segment.frames = Math.max(segment.frames, streamFrame + n);
    const segmentBar = segment.bar ?? this.grid.barAt(frame - streamFrame);
    const p: Placement = { segment: segment.id, streamFrame, frames: n, frame, segmentBar };
    this.statsValue.placements++;
    if (this.history) this.placements.push(p);
    this.pump();
    return p;
  }

  /** Hands every block that is due (or complete) to the engine; returns how many. */
  pump(): number {
    if (this.closed) return 0;
    const now = this.now;
    return this.schedule(this.timeline.take(now + this.guardFrames), now);
  }

  /** Hands everything written to the engine (the stream ended). */
  flush(): number {
    if (this.closed) return 0;
    return this.schedule(this.timeline.drain(), this.now);
  }

  private schedule(blocks: ReturnType<BlockTimeline['take']>, now: number): number {
    const ctx = this.context;
    for (const b of blocks) {
      const frames = b.channels[0]!.length;
      const buffer = ctx.createBuffer(this.channels, frames, this.sampleRate);
      for (let c = 0; c < this.channels; c++)
        buffer.copyToChannel(b.channels[c] as Float32Array<ArrayBuffer>, c);
      const src = ctx.createBufferSource();
      src.buffer = buffer;
      src.connect(this.destination);
      // Blocks start on the render quantum; see timeOf for the time itself.
      const when = this.timeOf(b.startFrame, this.sampleRate);
      src.start(when);
      this.live.add(src);
      src.onended = () => {
        this.live.delete(src);
        src.disconnect();
      };
      const s = this.statsValue;
      s.blocks++;
      if (b.partial) s.partialBlocks++;
      s.scheduledFrame = b.startFrame + frames;
      s.minLeadFrames = Math.min(s.minLeadFrames, b.startFrame - now);
      if (this.history)
        this.blocks.push({ startFrame: b.startFrame, frames, when, partial: b.partial, scheduledAt: now });
    }
    return blocks.length;
  }

  /** Resolves once playback has passed `frame` (default: everything scheduled). */
  async waitUntil(frame = this.statsValue.scheduledFrame, pollMs = 25): Promise<void> {
    while (!this.closed && this.now < frame) await new Promise((r) => setTimeout(r, pollMs));
  }

  /** Stops the timer and silences everything scheduled. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const s of this.live) {
      try {
        s.stop();
      } catch {
        // Not started or already ended.
      }
    }
    this.live.clear();
  }
}
