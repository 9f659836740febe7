/**
 * Commits a stream as bar-exact WAV files in a folder: one file per `segmentBars` bars (or the
 * whole stream), named with tempo, meter and bars, carrying acid (tempo/beats), smpl (a loop over
 * the whole file) and cue (one per bar) metadata, so a DAW places and stretches them correctly.
 * Files are written complete under a temporary name and renamed (writeWavFile), so a watcher
 * never picks up half a file.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { WavWriteResult } from '../audio/index.ts';
import { writeWavFile } from '../audio/index.ts';
import { SonodiffError } from '../errors.ts';
import { BarGrid } from './grid.ts';

export interface SegmentWriterOptions {
  outDir: string;
  bpm: number;
  timeSignature: readonly [number, number];
  sampleRate: number;
  channels: number;
  /** Bars per file; null: one file for the whole stream (finite jobs). Default null. */
  segmentBars?: number | null;
  /** Leading part of every file name (sanitised), e.g. "digits-seven". */
  stem: string;
  /** Free text for the INFO comment (model, params, seed). */
  comment?: string;
  /** Run stamp in the names so runs never collide; default the local time, YYYYMMDD-HHMMSS. */
  runId?: string;
  /** Called once each file is on disk. */
  onCommit?: (file: CommittedFile) => void;
}

export interface CommittedFile extends WavWriteResult {
  /** Host bar where the file's first frame played, and its length in bars. */
  bar: number;
  bars: number;
  /** First stream frame in the file. */
  streamFrame: number;
}

function stamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** "120" for 120, "128.5" for 128.5: the tempo as people write it. */
function formatBpm(bpm: number): string {
  return String(Math.round(bpm * 1000) / 1000);
}

function formatBars(bars: number): string {
  return Number.isInteger(bars) ? String(bars) : bars.toFixed(2);
}

export function sanitizeStem(stem: string): string {
  const s = stem
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
  return s || 'sonodiff';
}

/** The file name of a committed segment (tempo, meter, host bar and length in bars). */
export function segmentFileName(o: {
  runId: string;
  stem: string;
  bpm: number;
  timeSignature: readonly [number, number];
  bar: number;
  bars: number;
}): string {
  const [n, d] = o.timeSignature;
  const bar = o.bar < 0 ? `m${String(-o.bar).padStart(4, '0')}` : String(o.bar).padStart(4, '0');
  return `${o.runId}_${sanitizeStem(o.stem)}_${formatBpm(o.bpm)}bpm_${n}-${d}_bar${bar}_${formatBars(o.bars)}bars.wav`;
}

export class SegmentWriter {
  readonly outDir: string;
  readonly grid: BarGrid;
  readonly options: SegmentWriterOptions;
  readonly runId: string;
  readonly committed: CommittedFile[] = [];
  private parts: Float32Array[][] = [];
  /** Stream frame of parts[0][0]. */
  private bufferStart = 0;
  private bufferFrames = 0;
  /** Stream bar where the next file starts, and the host bar of stream bar 0 when it was placed. */
  private fileBar = 0;
  private fileHostBar: number | undefined;
  private hostOffset = 0;
  private writes: Promise<unknown> = Promise.resolve();
  private failure: unknown;
  private splits: number[] = [];

  constructor(options: SegmentWriterOptions) {
    if (typeof options?.outDir !== 'string' || options.outDir === '')
      throw new TypeError('options.outDir must be a folder path');
    const sb = options.segmentBars ?? null;
    if (sb !== null && (!Number.isInteger(sb) || sb < 1 || sb > 1024))
      throw new RangeError(`options.segmentBars must be an integer in 1..1024, got ${sb}`);
    if (!Number.isInteger(options.channels) || options.channels < 1)
      throw new RangeError('options.channels must be a positive integer');
    this.outDir = options.outDir;
    this.options = { ...options, segmentBars: sb };
    // Stream frame 0 is bar 0 of the stream's own grid.
    this.grid = new BarGrid({
      bpm: options.bpm,
      timeSignature: options.timeSignature,
      sampleRate: options.sampleRate,
    });
    this.runId = options.runId ?? stamp();
  }

  /**
   * Appends the chunk at `streamFrame` (in order, contiguous). `hostBar` is the bar where stream
   * frame 0 sits on the host timeline right now (it moves when late audio is shifted).
   */
  push(streamFrame: number, channels: readonly Float32Array[], hostBar: number): void {
    if (streamFrame !== this.bufferStart + this.bufferFrames)
      throw new RangeError(
        `streamFrame must continue the stream at ${this.bufferStart + this.bufferFrames}, got ${streamFrame}`,
      );
    if (channels.length !== this.options.channels)
      throw new RangeError(`channels must hold ${this.options.channels} channel(s)`);
    this.hostOffset = hostBar;
    this.fileHostBar ??= hostBar + this.fileBar;
    this.parts.push(channels.map((c) => c.slice()));
    this.bufferFrames += channels[0]!.length;
    const sb = this.options.segmentBars ?? null;
    for (;;) {
      const split = this.splits.find((b) => b > this.fileBar);
      let end: number | undefined;
      if (sb !== null) end = this.fileBar + sb;
      if (split !== undefined && (end === undefined || split < end)) end = split;
      if (end === undefined || this.grid.frameOfBar(end) > this.bufferStart + this.bufferFrames) break;
      this.emit(end - this.fileBar);
    }
  }

  /** Starts a new file at stream bar `bar` (e.g. where a jam changed parameters). */
  splitAtBar(bar: number): void {
    if (Number.isInteger(bar) && bar > this.fileBar) this.splits.push(bar);
  }

  /**
   * Writes what is left: whole bars only, unless `partial` (a finite job's tail that ends off the
   * bar is kept with its fractional length). Resolves with every committed file.
   */
  async finish(partial = true): Promise<CommittedFile[]> {
    const end = this.bufferStart + this.bufferFrames;
    const whole = this.grid.barAt(end) - this.fileBar;
    if (this.bufferFrames > 0) {
      if (partial && this.grid.frameOfBar(this.fileBar + whole) !== end) {
        this.emitFrames(this.bufferFrames, this.bufferFrames / this.grid.framesPerBar);
      } else if (whole > 0) this.emit(whole);
    }
    await this.writes;
    if (this.failure) throw this.failure;
    return [...this.committed];
  }

  private emit(bars: number): void {
    const frames = this.grid.frameOfBar(this.fileBar + bars) - this.grid.frameOfBar(this.fileBar);
    this.emitFrames(frames, bars);
  }

  private emitFrames(frames: number, bars: number): void {
    const channels = Array.from({ length: this.options.channels }, () => new Float32Array(frames));
    let filled = 0;
    while (filled < frames) {
      const p = this.parts[0]!;
      const take = Math.min(p[0]!.length, frames - filled);
      for (let c = 0; c < channels.length; c++) channels[c]!.set(p[c]!.subarray(0, take), filled);
      filled += take;
      if (take === p[0]!.length) this.parts.shift();
      else this.parts[0] = p.map((ch) => ch.subarray(take));
    }
    const streamFrame = this.bufferStart;
    const hostBar = this.fileHostBar ?? this.hostOffset + this.fileBar;
    const firstBar = this.fileBar;
    this.bufferStart += frames;
    this.bufferFrames -= frames;
    this.fileBar += Number.isInteger(bars) ? bars : Math.ceil(bars);
    this.fileHostBar = this.bufferFrames > 0 ? this.hostOffset + this.fileBar : undefined;
    const o = this.options;
    const [num, den] = o.timeSignature;
    const cues: Array<{ frame: number; label: string }> = [];
    for (let b = 0; b < Math.ceil(bars); b++) {
      const f = this.grid.frameOfBar(firstBar + b) - this.grid.frameOfBar(firstBar);
      if (f < frames) cues.push({ frame: f, label: `bar ${hostBar + b + 1}` });
    }
    const name = segmentFileName({
      runId: this.runId,
      stem: o.stem,
      bpm: o.bpm,
      timeSignature: o.timeSignature,
      bar: hostBar,
      bars,
    });
    const file = path.join(this.outDir, name);
    const audio = { sampleRate: o.sampleRate, channels };
    this.writes = this.writes.then(async () => {
      if (this.failure) return;
      try {
        if (!existsSync(this.outDir)) await mkdir(this.outDir, { recursive: true });
        const r = await writeWavFile(file, audio, {
          encoding: 'pcm24',
          metadata: {
            title: name.replace(/\.wav$/, ''),
            software: 'sonodiff bridge',
            comment: `${o.comment ?? ''}${o.comment ? '; ' : ''}stream bars ${firstBar}-${firstBar + Math.ceil(bars) - 1}, host bar ${hostBar}`,
            acid: {
              tempo: o.bpm,
              beats: Math.max(0, Math.round(bars * num)),
              meter: [num, den],
              oneShot: !Number.isInteger(bars),
            },
            loops: Number.isInteger(bars) && frames > 0 ? [{ start: 0, end: frames }] : [],
            cuePoints: cues,
          },
        });
        const done: CommittedFile = { ...r, bar: hostBar, bars, streamFrame };
        this.committed.push(done);
        o.onCommit?.(done);
      } catch (err) {
        this.failure =
          err instanceof SonodiffError
            ? err
            : new SonodiffError('ERR_OUTPUT', `cannot commit segment: ${(err as Error).message}`, {
                path: file,
                cause: err,
              });
      }
    });
  }

  /** Resolves when every file handed out so far is written. */
  async settled(): Promise<CommittedFile[]> {
    await this.writes;
    if (this.failure) throw this.failure;
    return [...this.committed];
  }
}
