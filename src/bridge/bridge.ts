/**
 * The DAW bridge: connects to a sonodiff server, starts a generate (N bars) or jam (endless) job
 * with the host's tempo, plays the stream bar-aligned and gapless on an audio output (a real or
 * virtual device, or none), commits bar-exact WAV segments to a folder, and rides out dropped
 * connections through the client's resume. Realtime jobs get credit only as playback approaches
 * the end of the buffered audio, so the server never runs more than `lookaheadSeconds` ahead.
 */
import type { SinkId } from '../audio/index.ts';
import { webAudio } from '../audio/web-audio.ts';
import {
  type ClientJob,
  type ClientState,
  type GenerateParams,
  type Pacing,
  type ReconnectOptions,
  SonodiffClient,
} from '../client/index.ts';
import { SonodiffError } from '../errors.ts';
import { type CommittedFile, SegmentWriter } from './commit.ts';
import { BarGrid } from './grid.ts';
import {
  type LateEvent,
  type PlayerContext,
  type PlayerSegment,
  type PlayerStats,
  StreamPlayer,
} from './player.ts';

export interface BridgeOptions {
  /** ws://host:port/ws (or the server's http:// URL). */
  url: string;
  token?: string;
  model: string;
  params?: GenerateParams;
  /** Host tempo, default 120. */
  bpm?: number;
  /** Default [4, 4]. */
  timeSignature?: readonly [number, number];
  /** A clip of this many bars (a generate job); omitted: an endless jam until stop(). */
  bars?: number;
  /** Jam: bars per committed file (default 8). A generate job is committed as one file. */
  segmentBars?: number;
  /** Folder for committed WAV segments; none: nothing is written. */
  outDir?: string;
  /** Audio output: a device id, '' (default device) or { type: 'none' } (headless). */
  sinkId?: SinkId;
  /** Context rate; default the device's. The server resamples to it. */
  sampleRate?: number;
  /** Generate jobs only (a jam is always realtime). Default 'realtime'. */
  pacing?: Pacing;
  /** Realtime: audio kept buffered ahead of playback, in seconds (default 2). */
  lookaheadSeconds?: number;
  /** A segment (or late audio) starts at least this far ahead of now (default 0.25 s). */
  leadSeconds?: number;
  blockFrames?: number;
  reconnect?: boolean | ReconnectOptions;
  clientName?: string;
  /** Use this context instead of opening one (not closed by the bridge). */
  context?: PlayerContext;
  /** Playback position in frames; default the context's clock. */
  clock?: () => number;
  /** Use this client instead of opening one (connected if idle; not closed by the bridge). */
  client?: SonodiffClient;
  /** Wait until the scheduled audio has played before run() resolves (default: when the bridge owns the context). */
  waitForPlayback?: boolean;
  /** Keep every placement and block in the player (tests, diagnostics). */
  history?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: BridgeEvent) => void;
}

export type BridgeEvent =
  | { type: 'connected'; session: string; server: string }
  | { type: 'accepted'; job: number; sampleRate: number; channels: number; framesPerBar: number | null }
  | { type: 'segment'; bar: number; frame: number; firstAudioMs: number }
  | { type: 'late'; late: LateEvent }
  | { type: 'updated'; bar: number; effectiveFrame: number; params: GenerateParams }
  | { type: 'commit'; file: CommittedFile }
  | { type: 'state'; state: ClientState }
  | { type: 'reconnected'; attempts: number };

export interface BridgeSummary {
  job: number;
  status: 'done' | 'cancelled';
  /** Stream frames received and played. */
  frames: number;
  chunks: number;
  sampleRate: number;
  channels: number;
  /** Host bar where the stream started (after any late moves: where it ended up). */
  bar: number | null;
  /** Milliseconds from job start to the first audio chunk. */
  firstAudioMs: number | null;
  reconnects: number;
  files: CommittedFile[];
  player: PlayerStats;
}

function checkOptions(o: BridgeOptions): void {
  if (o === null || typeof o !== 'object') throw new TypeError('options must be an object');
  if (typeof o.url !== 'string' || o.url === '') throw new TypeError('options.url must be a ws:// URL');
  if (typeof o.model !== 'string' || o.model === '') throw new TypeError('options.model must be a model id');
  if (o.bars !== undefined && (!Number.isInteger(o.bars) || o.bars < 1 || o.bars > 1024))
    throw new RangeError(`options.bars must be an integer in 1..1024, got ${o.bars}`);
  const la = o.lookaheadSeconds ?? 2;
  if (!Number.isFinite(la) || la <= 0 || la > 60)
    throw new RangeError(`options.lookaheadSeconds must be in (0, 60], got ${la}`);
  if (o.pacing !== undefined && o.pacing !== 'asap' && o.pacing !== 'realtime')
    throw new RangeError(`options.pacing must be 'asap' or 'realtime', got ${String(o.pacing)}`);
  if (o.bars === undefined && o.pacing === 'asap')
    throw new RangeError('options.pacing: a jam is always realtime');
}

async function openContext(
  sinkId: SinkId | undefined,
  sampleRate: number | undefined,
): Promise<AudioContext> {
  const { AudioContext } = await webAudio();
  const base: Record<string, unknown> = { latencyHint: 'playback' };
  if (sinkId !== undefined) base['sinkId'] = sinkId;
  try {
    return new AudioContext({ ...base, ...(sampleRate ? { sampleRate } : {}) } as AudioContextOptions);
  } catch (err) {
    const sink = typeof sinkId === 'string' && sinkId !== '' ? ` '${sinkId}'` : '';
    throw new SonodiffError(
      'ERR_DEVICE',
      `cannot open audio output${sink}: ${(err as Error).message} (see 'sonodiff devices'; --sink none when headless)`,
      { cause: err },
    );
  }
}

export class Bridge {
  readonly options: BridgeOptions;
  client: SonodiffClient | undefined;
  context: PlayerContext | undefined;
  player: StreamPlayer | undefined;
  writer: SegmentWriter | undefined;
  job: ClientJob | undefined;
  segment: PlayerSegment | undefined;
  private ownsClient = false;
  private ownsContext = false;
  private reconnects = 0;
  private creditLimit = 0;
  private creditTimer: ReturnType<typeof setInterval> | undefined;
  private unsubscribe: Array<() => void> = [];
  private running: Promise<BridgeSummary> | undefined;

  constructor(options: BridgeOptions) {
    checkOptions(options);
    this.options = options;
  }

  private emit(e: BridgeEvent): void {
    this.options.onEvent?.(e);
  }

  /** Runs the job to its end (generate) or until stop() / the signal (jam). */
  run(): Promise<BridgeSummary> {
    this.running ??= this.execute();
    return this.running;
  }

  /** Jam: new parameters from the next bar on. */
  update(params: GenerateParams): void {
    if (!this.job) throw new Error('update() before the job started');
    this.job.update(params);
  }

  /** Ends the job; run() then resolves with what was played and committed. */
  stop(): void {
    this.job?.cancel();
  }

  private async execute(): Promise<BridgeSummary> {
    const o = this.options;
    try {
      return await this.stream();
    } finally {
      clearInterval(this.creditTimer);
      for (const u of this.unsubscribe) u();
      this.player?.close();
      if (this.ownsContext) await (this.context as AudioContext).close().catch(() => undefined);
      if (this.ownsClient) await this.client?.close().catch(() => undefined);
      o.signal?.removeEventListener('abort', this.onAbort);
    }
  }

  private readonly onAbort = (): void => this.stop();

  private async stream(): Promise<BridgeSummary> {
    const o = this.options;
    if (o.signal?.aborted) throw new SonodiffError('ERR_ABORTED', 'bridge aborted before it started');
    const bpm = o.bpm ?? 120;
    const ts = o.timeSignature ?? [4, 4];
    // Validates tempo and meter before anything opens.
    new BarGrid({ bpm, timeSignature: ts, sampleRate: o.sampleRate ?? 48000 });

    this.ownsClient = o.client === undefined;
    const client =
      o.client ??
      new SonodiffClient({
        url: o.url,
        ...(o.token !== undefined ? { token: o.token } : {}),
        clientName: o.clientName ?? 'sonodiff-bridge',
        reconnect: o.reconnect ?? { retries: 20, maxDelayMs: 2000 },
      });
    this.client = client;
    this.unsubscribe.push(
      client.on('state', (state) => this.emit({ type: 'state', state })),
      client.on('reconnected', ({ attempts }) => {
        this.reconnects++;
        this.emit({ type: 'reconnected', attempts });
      }),
    );
    if (client.state === 'idle') {
      const w = await client.connect();
      this.emit({ type: 'connected', session: w.session, server: `${w.server.name} ${w.server.version}` });
    }

    this.ownsContext = o.context === undefined;
    const context = o.context ?? (await openContext(o.sinkId, o.sampleRate));
    this.context = context;
    const sampleRate = context.sampleRate;
    const grid = new BarGrid({ bpm, timeSignature: ts, sampleRate });
    const pacing: Pacing = o.bars === undefined ? 'realtime' : (o.pacing ?? 'realtime');
    const initialCredit = 2;
    this.creditLimit = initialCredit;
    const kind = o.bars === undefined ? 'jam' : 'generate';
    const params: GenerateParams = { ...(o.params ?? {}), ...(o.bars !== undefined ? { bars: o.bars } : {}) };
    const startedAt = performance.now();
    const job = client.startJob({
      kind,
      model: o.model,
      params,
      sampleRate,
      // Anchor 0: stream frame 0 is a bar; the player decides which host bar that is.
      timing: { bpm, timeSignature: [ts[0], ts[1]], anchor: 0 },
      pacing,
      credit: initialCredit,
      autoCredit: false,
    });
    this.job = job;
    o.signal?.addEventListener('abort', this.onAbort, { once: true });

    let firstAudioMs: number | null = null;
    let chunks = 0;
    let segment: PlayerSegment | undefined;
    let channels = 0;
    const lookahead = Math.round((o.lookaheadSeconds ?? 2) * sampleRate);
    try {
      for await (const e of job) {
        if (e.type === 'job.accepted') {
          channels = e.channels;
          if (e.sampleRate !== sampleRate)
            throw new SonodiffError(
              'ERR_INTERNAL',
              `server streams at ${e.sampleRate} Hz, the output runs at ${sampleRate} Hz`,
            );
          this.player = new StreamPlayer({
            context,
            grid,
            channels,
            ...(o.blockFrames !== undefined ? { blockFrames: o.blockFrames } : {}),
            ...(o.leadSeconds !== undefined ? { leadSeconds: o.leadSeconds } : {}),
            ...(o.clock ? { clock: o.clock } : {}),
            ...(o.history ? { history: true } : {}),
          });
          this.player.onLate = (late) => this.emit({ type: 'late', late });
          segment = this.player.startSegment();
          this.segment = segment;
          if (o.outDir !== undefined) {
            this.writer = new SegmentWriter({
              outDir: o.outDir,
              bpm,
              timeSignature: ts,
              sampleRate,
              channels,
              segmentBars: kind === 'jam' ? (o.segmentBars ?? 8) : null,
              stem: [o.model, params.className, ...(params.tags ?? [])].filter(Boolean).join('-'),
              comment: `model=${o.model} params=${JSON.stringify(params)}`,
              onCommit: (file) => this.emit({ type: 'commit', file }),
            });
          }
          this.emit({
            type: 'accepted',
            job: e.job,
            sampleRate: e.sampleRate,
            channels,
            framesPerBar: e.framesPerBar,
          });
          if (pacing === 'realtime') {
            const player = this.player;
            // Credit follows playback: one more chunk whenever the buffer runs below the lookahead.
            this.creditTimer = setInterval(() => {
              if (job.finished) return;
              const ahead = player.writtenFrame - player.now;
              if (ahead < lookahead && this.creditLimit - job.nextSeq < 2) {
                this.creditLimit++;
                job.grant(1);
              }
            }, 10);
            (this.creditTimer as { unref?: () => void }).unref?.();
          }
        } else if (e.type === 'audio') {
          if (!this.player || !segment) continue;
          chunks++;
          const p = segment.push(e.startFrame, e.channels);
          if (firstAudioMs === null) {
            firstAudioMs = performance.now() - startedAt;
            this.emit({ type: 'segment', bar: segment.bar!, frame: p.frame, firstAudioMs });
          }
          this.writer?.push(e.startFrame, e.channels, segment.bar!);
        } else if (e.type === 'job.updated') {
          // anchor 0: stream bars are counted from the job's frame 0.
          const bar = grid.withOrigin(0).barAt(e.effectiveFrame);
          this.writer?.splitAtBar(bar);
          this.emit({ type: 'updated', bar, effectiveFrame: e.effectiveFrame, params: e.params });
        }
      }
    } catch (err) {
      // Keep what was already played: whole bars are still worth committing.
      this.player?.flush();
      await this.writer?.finish(false).catch(() => undefined);
      throw err;
    }
    const result = await job.result;
    this.player?.flush();
    const files = (await this.writer?.finish(kind === 'generate' && result.status === 'done')) ?? [];
    const wait = o.waitForPlayback ?? this.ownsContext;
    if (wait && this.player && result.status === 'done') await this.player.waitUntil();
    return {
      job: job.id,
      status: result.status,
      frames: job.framesReceived,
      chunks,
      sampleRate,
      channels,
      bar: segment?.bar ?? null,
      firstAudioMs,
      reconnects: this.reconnects,
      files,
      player: this.player?.stats ?? {
        blocks: 0,
        partialBlocks: 0,
        placements: 0,
        late: 0,
        scheduledFrame: 0,
        minLeadFrames: Number.POSITIVE_INFINITY,
      },
    };
  }
}

/** Runs a bridge to its end; see BridgeOptions. */
export function runBridge(options: BridgeOptions): Promise<BridgeSummary> {
  return new Bridge(options).run();
}
