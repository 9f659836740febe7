/**
 * One job on the server: the model loop (one model window per turn of the fair turn queue),
 * output framing with credit and socket back-pressure, streaming denoise input, cancellation
 * and the terminal message kept for resume.
 */
import { joinSamples } from '../audio/join.ts';
import { Resampler } from '../audio/resample.ts';
import { SonodiffError } from '../errors.ts';
import type { ModelPack } from '../packs/index.ts';
import { DENOISE_RESAMPLER, denoiseLatencySamples, type PipelineEvent } from '../pipelines/index.ts';
import {
  type AudioFrame,
  DEFAULT_CREDIT,
  encodeFrame,
  errorMessage,
  framesPerBar,
  type GenerateParams,
  type JobAccepted,
  type JobKind,
  type JobParams,
  type MusicalTiming,
  type Pacing,
  ProtocolError,
  type ProtocolLimits,
  quartersPerBar,
  type ServerMessage,
} from '../protocol/index.ts';
import type { FairQueue } from './fair-queue.ts';
import { generateOptions, jamSource } from './jam.ts';
import { isAbort, type ModelCache } from './models.ts';
import type { Session } from './session.ts';

export interface JobContext {
  models: ModelCache;
  /** Model turns: at most `capacity` jobs compute at once; waiters are served round-robin. */
  turns: FairQueue;
  limits: ProtocolLimits;
  log: (line: string) => void;
}

export interface JobSpec {
  job: number;
  kind: JobKind;
  model: string;
  params: JobParams;
  sampleRate: number | undefined;
  channels: number | undefined;
  timing: MusicalTiming | undefined;
  pacing: Pacing | undefined;
  credit: number | undefined;
}

type Terminal = Extract<ServerMessage, { type: 'job.done' | 'job.cancelled' | 'error' }>;

const DEFAULT_TIMING: MusicalTiming = { bpm: 120, timeSignature: [4, 4], anchor: 0 };

/** Planar audio the denoise job has received and not yet handed to the pipeline. */
class InputQueue {
  private items: Float32Array[][] = [];
  private ended = false;
  private waiter: (() => void) | undefined;

  push(channels: Float32Array[]): void {
    this.items.push(channels);
    this.waiter?.();
  }

  end(): void {
    this.ended = true;
    this.waiter?.();
  }

  get ready(): boolean {
    return this.items.length > 0 || this.ended;
  }

  async take(beforeWait: () => void, afterWait: () => Promise<void>, signal: AbortSignal) {
    if (!this.ready) {
      // Waiting for the network must not hold a model turn.
      beforeWait();
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiter = undefined;
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.waiter = done;
        signal.addEventListener('abort', done, { once: true });
      });
      await afterWait();
    }
    if (signal.aborted) throw new SonodiffError('ERR_ABORTED', 'job cancelled');
    return this.items.shift();
  }
}

export class ServerJob {
  readonly id: number;
  readonly spec: JobSpec;
  readonly kind: JobKind;
  private readonly session: Session;
  private readonly ctx: JobContext;
  readonly abort = new AbortController();
  pacing: Pacing = 'realtime';
  /** Output frames with seq below this may be sent (realtime pacing). */
  creditLimit = 0;
  /** Next output sequence (= frames sent so far). */
  outSeq = 0;
  framesSent = 0;
  finished = false;
  terminal: Terminal | undefined;
  state: 'starting' | 'queued' | 'running' = 'starting';
  position = 0;
  accepted: JobAccepted | undefined;
  // Denoise input.
  inputNextSeq = 0;
  inputFrames = 0;
  /** Input frames with seq below this may be received. */
  inputLimit = 0;
  inputEnded = false;
  private readonly input = new InputQueue();
  // Jam.
  private pendingUpdate: GenerateParams | undefined;
  private waiters: Array<() => void> = [];
  private turnRelease: (() => void) | undefined;
  private readonly t0 = performance.now();
  private firstChunkMs: number | null = null;
  private failure: ProtocolError | undefined;
  private lastProgress = 0;
  private progressState = { window: null as number | null, windows: null as number | null };

  constructor(spec: JobSpec, session: Session, ctx: JobContext) {
    this.id = spec.job;
    this.kind = spec.kind;
    this.spec = spec;
    this.session = session;
    this.ctx = ctx;
  }

  wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async waitFor(cond: () => boolean): Promise<void> {
    while (!cond()) {
      if (this.abort.signal.aborted) throw new SonodiffError('ERR_ABORTED', 'job cancelled');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        this.abort.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    if (this.abort.signal.aborted) throw new SonodiffError('ERR_ABORTED', 'job cancelled');
  }

  /** A frame may go out: connected, socket not backed up, and (realtime) credit left. */
  private sendable(): boolean {
    return this.session.writable && (this.pacing === 'asap' || this.outSeq < this.creditLimit);
  }

  /** A credit message: limits only grow, and never beyond maxCredit frames past what was sent. */
  grant(limit: number): void {
    this.creditLimit = Math.max(this.creditLimit, Math.min(limit, this.outSeq + this.ctx.limits.maxCredit));
    this.wake();
  }

  cancel(reason: string, failure?: ProtocolError): void {
    if (this.finished) return;
    if (failure) this.failure = failure;
    this.abort.abort(new SonodiffError('ERR_ABORTED', reason));
    this.input.end();
    this.wake();
  }

  update(params: GenerateParams): void {
    if (this.kind !== 'jam') {
      throw new ProtocolError('BAD_MESSAGE', 'job.update applies to jam jobs only', { job: this.id });
    }
    this.pendingUpdate = { ...(this.pendingUpdate ?? {}), ...params };
  }

  /** A binary input frame for a denoise job; throws ProtocolError on a flow or format violation. */
  receiveInput(frame: AudioFrame): void {
    const fail = (msg: string, code: 'FLOW_CONTROL' | 'BAD_FRAME' = 'FLOW_CONTROL') => {
      throw new ProtocolError(code, `job ${this.id}: ${msg}`, { job: this.id });
    };
    if (this.kind !== 'denoise') fail('only denoise jobs take input frames', 'BAD_FRAME');
    if (this.finished) return; // late frames after a cancel are harmless
    if (frame.seq < this.inputNextSeq) return; // a resend after resume: already have it
    if (!this.accepted) fail('input before job.accepted');
    if (this.inputEnded) fail('input after the last frame');
    if (frame.seq !== this.inputNextSeq) fail(`input seq ${frame.seq}, expected ${this.inputNextSeq}`);
    if (frame.startFrame !== this.inputFrames)
      fail(`input startFrame ${frame.startFrame}, expected ${this.inputFrames}`);
    if (frame.sampleRate !== this.spec.sampleRate)
      fail(`input sampleRate ${frame.sampleRate}, job has ${this.spec.sampleRate}`, 'BAD_FRAME');
    if (frame.channels.length !== this.spec.channels)
      fail(`input has ${frame.channels.length} channels, job has ${this.spec.channels}`, 'BAD_FRAME');
    if (frame.seq >= this.inputLimit)
      fail(`input seq ${frame.seq} beyond the credit limit ${this.inputLimit}`);
    this.inputNextSeq++;
    this.inputFrames += frame.channels[0]!.length;
    if (frame.channels[0]!.length > 0) this.input.push(frame.channels);
    if (frame.last) {
      this.inputEnded = true;
      this.input.end();
    }
    this.session.send({ type: 'ack', job: this.id, seq: frame.seq });
  }

  /** Runs the job to its end; never throws (failures become the terminal message). */
  async run(): Promise<void> {
    try {
      const pack = await this.ctx.models.pack(
        this.spec.model,
        this.kind === 'denoise' ? 'denoise' : 'generate',
        this.id,
      );
      this.pacing = this.spec.pacing ?? (this.kind === 'jam' ? 'realtime' : 'asap');
      this.creditLimit = Math.min(this.ctx.limits.maxCredit, this.spec.credit ?? DEFAULT_CREDIT);
      const accepted = this.describe(pack);
      if (this.abort.signal.aborted) throw new SonodiffError('ERR_ABORTED', 'job cancelled');
      this.state = 'queued';
      // Model turns queued ahead of this job's first one (they are served round-robin).
      this.position = this.ctx.turns.waiting + (this.ctx.turns.running >= this.ctx.turns.capacity ? 1 : 0);
      accepted.position = this.position;
      this.accepted = accepted;
      if (this.kind === 'denoise') this.inputLimit = accepted.inputCredit;
      this.session.send(accepted);
      if (this.kind === 'denoise') await this.runDenoise();
      else await this.runGenerate(this.kind === 'jam');
      this.finish({
        type: 'job.done',
        job: this.id,
        frames: this.framesSent,
        chunks: this.outSeq,
        elapsedMs: Math.round(performance.now() - this.t0),
        firstChunkMs: this.firstChunkMs,
      });
    } catch (err) {
      this.finish(this.terminalFor(err));
    } finally {
      this.releaseTurn();
    }
  }

  private terminalFor(err: unknown): Terminal {
    if (this.failure) return errorMessage(this.failure, this.id, true);
    if (isAbort(err) || (this.abort.signal.aborted && !(err instanceof ProtocolError))) {
      const reason =
        this.abort.signal.reason instanceof Error ? this.abort.signal.reason.message : 'cancelled';
      return { type: 'job.cancelled', job: this.id, frames: this.framesSent, chunks: this.outSeq, reason };
    }
    // Every error here ends the job.
    if (err instanceof ProtocolError) return errorMessage(err, this.id, true);
    if (err instanceof RangeError || err instanceof TypeError) {
      return errorMessage(new ProtocolError('BAD_PARAMS', err.message, { job: this.id }), this.id, true);
    }
    if (err instanceof SonodiffError && (err.code === 'ERR_MODEL' || err.code === 'ERR_DEVICE')) {
      return errorMessage(new ProtocolError('MODEL_ERROR', err.message, { job: this.id }), this.id, true);
    }
    this.ctx.log(`job ${this.id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return errorMessage(
      new ProtocolError('INTERNAL', 'internal error while running the job', { job: this.id }),
      this.id,
      true,
    );
  }

  private finish(terminal: Terminal): void {
    if (this.finished) return;
    this.finished = true;
    this.terminal = terminal;
    this.session.send(terminal);
    this.wake();
  }

  /** job.accepted for this job's spec and model. */
  private describe(pack: ModelPack): JobAccepted {
    const m = pack.manifest;
    const spec = this.spec;
    const outRate = spec.sampleRate ?? m.sampleRate;
    const timing = spec.timing ?? (this.kind === 'jam' ? DEFAULT_TIMING : undefined);
    let totalFrames: number | null = null;
    let latencyFrames = 0;
    let channels = 1;
    if (this.kind === 'generate') {
      const seconds = this.clipSeconds(pack);
      const modelSamples = Math.round(seconds * m.sampleRate);
      totalFrames =
        outRate === m.sampleRate ? modelSamples : Math.round((modelSamples * outRate) / m.sampleRate);
    } else if (this.kind === 'denoise') {
      channels = spec.channels!;
      latencyFrames = denoiseLatency(pack, outRate);
    }
    return {
      type: 'job.accepted',
      job: this.id,
      kind: this.kind,
      model: m.id,
      sampleRate: outRate,
      channels,
      position: 0,
      totalFrames,
      latencyFrames,
      inputCredit: this.kind === 'denoise' ? this.ctx.limits.inputCredit : 0,
      framesPerBar: timing ? framesPerBar(timing, outRate) : null,
      pacing: this.pacing,
    };
  }

  private clipSeconds(pack: ModelPack): number {
    const p = this.spec.params;
    const m = pack.manifest;
    if (p.bars !== undefined && this.spec.timing) {
      return (p.bars * quartersPerBar(this.spec.timing) * 60) / this.spec.timing.bpm;
    }
    if (p.seconds !== undefined) return p.seconds;
    if (m.defaults.seconds !== undefined) return m.defaults.seconds;
    const hop = m.representation === 'waveform' ? 1 : (m.spectrogram?.hopLength ?? 1);
    return (m.io.windowLength * hop) / m.sampleRate;
  }

  /** One model window's worth of compute, granted round-robin across connections. */
  private async acquireTurn(): Promise<void> {
    this.turnRelease = await this.ctx.turns.acquire(this.session.id, this.abort.signal, (p) => {
      if (this.state === 'running') return;
      this.position = p;
      if (p > 0) this.progress({ force: true });
    });
    if (this.state !== 'running') {
      this.state = 'running';
      this.position = 0;
      this.progress({ force: true });
    }
  }

  private releaseTurn(): void {
    const r = this.turnRelease;
    this.turnRelease = undefined;
    r?.();
  }

  private onPipelineEvent = (e: PipelineEvent): void => {
    if (e.type === 'window') {
      this.progressState.window = e.index;
      this.progressState.windows = e.windows ?? null;
      this.progress({ force: true });
    } else if (e.type === 'step') {
      this.progress({ step: e.step, steps: e.steps });
    }
  };

  private progress(o: { force?: boolean; step?: number; steps?: number }): void {
    const now = performance.now();
    if (!o.force && now - this.lastProgress < 100) return;
    this.lastProgress = now;
    this.session.send({
      type: 'job.progress',
      job: this.id,
      state: this.state === 'running' ? 'running' : 'queued',
      position: this.position,
      window: this.progressState.window,
      windows: this.progressState.windows,
      step: o.step ?? null,
      steps: o.steps ?? null,
      framesSent: this.framesSent,
      elapsedMs: Math.round(now - this.t0),
    });
  }

  private async runGenerate(jam: boolean): Promise<void> {
    const pipeline = await this.ctx.models.generator(this.spec.model);
    const m = pipeline.pack.manifest;
    const outRate = this.accepted!.sampleRate;
    const timing = this.spec.timing ?? DEFAULT_TIMING;
    const p = this.spec.params;
    let source: AsyncIterator<{ channels: Float32Array[]; last: boolean }>;
    if (jam) {
      const it = jamSource({
        pipeline,
        params: p,
        timing,
        outRate,
        signal: this.abort.signal,
        onEvent: this.onPipelineEvent,
        takeUpdate: () => {
          const u = this.pendingUpdate;
          this.pendingUpdate = undefined;
          return u;
        },
        onApplied: (params, frame, bar) =>
          this.session.send({ type: 'job.updated', job: this.id, params, effectiveFrame: frame, bar }),
        onRejected: (err) =>
          this.session.send(
            errorMessage(
              new ProtocolError('BAD_PARAMS', `job.update refused: ${(err as Error).message}`, {
                job: this.id,
                retryable: false,
              }),
            ),
          ),
      });
      source = {
        next: async () => {
          const r = await it.next();
          return r.done ? r : { done: false, value: { channels: r.value, last: false } };
        },
      };
    } else {
      // Validate the parameters before the first model call so the error is BAD_PARAMS.
      const opts = generateOptions(pipeline, p, this.spec.timing);
      pipeline.condition(opts);
      source = pipeline
        .generate({
          ...opts,
          seconds: this.clipSeconds(pipeline.pack),
          signal: this.abort.signal,
          onEvent: this.onPipelineEvent,
        })
        [Symbol.asyncIterator]();
    }
    const resamplers =
      outRate === m.sampleRate ? undefined : [new Resampler(m.sampleRate, outRate, { quality: 'medium' })];
    for (;;) {
      // Produce the next window only when it could be sent: this is what bounds run-ahead.
      await this.waitFor(() => this.sendable());
      await this.acquireTurn();
      let r: IteratorResult<{ channels: Float32Array[]; last: boolean }>;
      try {
        r = await source.next();
      } finally {
        this.releaseTurn();
      }
      if (r.done) break;
      let channels = r.value.channels;
      if (resamplers) {
        while (resamplers.length < channels.length)
          resamplers.push(new Resampler(m.sampleRate, outRate, { quality: 'medium' }));
        channels = channels.map((ch, c) => {
          const y = resamplers[c]!.process(ch);
          return r.value.last ? joinSamples([y, resamplers[c]!.flush()]) : y;
        });
      }
      await this.emit(channels, r.value.last, outRate);
      if (r.value.last) break;
    }
  }

  private async runDenoise(): Promise<void> {
    const pipeline = await this.ctx.models.denoiser(this.spec.model);
    const p = this.spec.params;
    const rate = this.accepted!.sampleRate;
    const channelCount = this.accepted!.channels;
    const input = this.input;
    const signal = this.abort.signal;
    const self = this;
    async function* source(): AsyncIterable<Float32Array[]> {
      for (;;) {
        const item = await input.take(
          () => self.releaseTurn(),
          () => self.acquireTurn(),
          signal,
        );
        if (item === undefined) return;
        // The pipeline took a frame: the client may send another.
        if (!self.inputEnded) {
          self.inputLimit++;
          self.session.send({ type: 'credit', job: self.id, limit: self.inputLimit });
        }
        yield item;
      }
    }
    const it = pipeline
      .denoiseStream(source(), rate, channelCount, {
        ...(p.strength !== undefined ? { strength: p.strength } : {}),
        ...(p.steps !== undefined ? { steps: p.steps } : {}),
        ...(p.sampler !== undefined ? { sampler: p.sampler } : {}),
        ...(p.seed !== undefined ? { seed: p.seed } : {}),
        signal,
        onEvent: this.onPipelineEvent,
      })
      [Symbol.asyncIterator]();
    for (;;) {
      await this.waitFor(() => this.sendable());
      await this.acquireTurn();
      let r: IteratorResult<{ channels: Float32Array[]; last: boolean }>;
      try {
        r = await it.next();
      } finally {
        this.releaseTurn();
      }
      if (r.done) break;
      await this.emit(r.value.channels, r.value.last, rate);
      if (r.value.last) break;
    }
  }

  /** Sends audio as frames of at most maxFramesPerMessage, each waiting for credit and socket room. */
  private async emit(channels: Float32Array[], last: boolean, sampleRate: number): Promise<void> {
    const total = channels[0]!.length;
    const max = this.ctx.limits.maxFramesPerMessage;
    let off = 0;
    do {
      const n = Math.min(max, total - off);
      const isLast = last && off + n >= total;
      if (n === 0 && !isLast) break;
      await this.waitFor(() => this.sendable());
      const bytes = encodeFrame({
        kind: 'out',
        job: this.id,
        seq: this.outSeq,
        sampleRate,
        startFrame: this.framesSent,
        last: isLast,
        replay: false,
        channels: channels.map((ch) => ch.subarray(off, off + n)),
      });
      this.session.replay.push(this.id, this.outSeq, bytes);
      this.session.sendFrame(bytes);
      this.outSeq++;
      this.framesSent += n;
      this.firstChunkMs ??= Math.round(performance.now() - this.t0);
      off += n;
    } while (off < total);
  }
}

/**
 * Output frame i of a denoise stream is sent by the time input frame i + latency has arrived (plus
 * compute time): the overlap-add delay (half a window) plus its half-window output granularity,
 * i.e. one model window at the stream's rate, plus the resamplers' look-ahead when rates differ.
 */
export function denoiseLatency(pack: ModelPack, rate: number): number {
  const m = pack.manifest;
  // The pipeline's own figure (half a window of overlap-add), converted to the stream's rate.
  let latency = (denoiseLatencySamples(m) * rate) / m.sampleRate;
  if (rate !== m.sampleRate) {
    const down = new Resampler(rate, m.sampleRate, DENOISE_RESAMPLER);
    const up = new Resampler(m.sampleRate, rate, DENOISE_RESAMPLER);
    latency += down.taps / 2 + ((up.taps / 2) * rate) / m.sampleRate;
  }
  return Math.ceil(latency);
}
