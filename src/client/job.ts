/**
 * A job as the client sees it: an async iterable of audio and events, with cancel, parameter
 * updates, manual or automatic credit, and (denoise) input writing with flow control.
 */
import {
  type AudioFrame,
  encodeFrame,
  type GenerateParams,
  type JobAccepted,
  type JobKind,
  type JobParams,
  type MusicalTiming,
  type Pacing,
  ProtocolError,
  type ServerMessage,
} from '../protocol/index.ts';
import { AsyncQueue } from './queue.ts';

export interface StartJobOptions {
  kind: JobKind;
  model: string;
  params?: JobParams;
  /** Output rate (generate/jam) or input rate (denoise, required). */
  sampleRate?: number;
  /** Input channels (denoise, required). */
  channels?: number;
  timing?: MusicalTiming;
  pacing?: Pacing;
  /**
   * Realtime pacing: frames the server may send ahead of what this job's consumer has taken
   * (default 8). With `autoCredit: false` the caller grants credit with `grant()`.
   */
  credit?: number;
  autoCredit?: boolean;
  /** Denoise input to send by itself: planar chunks at `sampleRate`. */
  input?: AsyncIterable<Float32Array[]> | Iterable<Float32Array[]>;
}

/** Audio as it arrives, in order, without gaps or duplicates. */
export interface AudioEvent {
  type: 'audio';
  seq: number;
  sampleRate: number;
  startFrame: number;
  channels: Float32Array[];
  last: boolean;
  /** Received again after a reconnect (the first copy was lost). */
  replay: boolean;
  /** Denoise jobs: the server's input credit limit when this frame arrived (how much input it had taken). */
  inputCreditAtReceipt: number;
}

export type JobEvent =
  | AudioEvent
  | JobAccepted
  | Extract<ServerMessage, { type: 'job.progress' | 'job.updated' | 'job.done' | 'job.cancelled' }>;

export interface JobResult {
  status: 'done' | 'cancelled';
  frames: number;
  chunks: number;
  elapsedMs: number | null;
  firstChunkMs: number | null;
  reason: string | null;
}

/** What a job needs from its client. */
export interface JobLink {
  send(msg: Record<string, unknown> & { type: string }): void;
  sendBinary(bytes: Uint8Array): void;
  /** Resolves when a binary frame may be written (connected, socket not backed up). */
  writable(): Promise<void>;
  maxFramesPerMessage(): number;
  ackEvery: number;
  forget(job: number): void;
}

export class ClientJob implements AsyncIterable<JobEvent> {
  readonly id: number;
  readonly options: StartJobOptions;
  /** Resolves with job.accepted; rejects when the job fails first. */
  readonly accepted: Promise<JobAccepted>;
  /** Resolves when the job ends (done or cancelled); rejects with the ProtocolError that ended it. */
  readonly result: Promise<JobResult>;
  info: JobAccepted | undefined;
  /** Sequence of the next output frame expected. */
  nextSeq = 0;
  framesReceived = 0;
  /** Audio events handed to the consumer. */
  consumed = 0;
  finished = false;
  startSent = false;
  cancelRequested = false;
  private readonly link: JobLink;
  private readonly events = new AsyncQueue<JobEvent>();
  private resolveAccepted!: (a: JobAccepted) => void;
  private rejectAccepted!: (e: unknown) => void;
  private resolveResult!: (r: JobResult) => void;
  private rejectResult!: (e: unknown) => void;
  private creditSent = 0;
  private lastAcked = -1;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private iterating = false;
  // Denoise input.
  private inputSeq = 0;
  private inputFrames = 0;
  private inputLimit = 0;

  /** The server's input credit limit: input frames with seq below it may be sent (denoise). */
  get inputCreditLimit(): number {
    return this.inputLimit;
  }
  private inputEnded = false;
  private readonly inputKept: Array<{ seq: number; bytes: Uint8Array }> = [];
  private inputWaiters: Array<() => void> = [];

  constructor(id: number, options: StartJobOptions, link: JobLink) {
    this.id = id;
    this.options = options;
    this.link = link;
    this.accepted = new Promise((res, rej) => {
      this.resolveAccepted = res;
      this.rejectAccepted = rej;
    });
    this.result = new Promise((res, rej) => {
      this.resolveResult = res;
      this.rejectResult = rej;
    });
    // Callers may await only one of them; an unobserved rejection must not crash the process.
    this.accepted.catch(() => {});
    this.result.catch(() => {});
    this.creditSent = options.credit ?? 8;
  }

  get kind(): JobKind {
    return this.options.kind;
  }

  /** The job.start message (re-sent if the server never saw it). */
  startMessage(): Record<string, unknown> & { type: string } {
    const o = this.options;
    return {
      type: 'job.start',
      job: this.id,
      kind: o.kind,
      model: o.model,
      ...(o.params ? { params: o.params } : {}),
      ...(o.sampleRate !== undefined ? { sampleRate: o.sampleRate } : {}),
      ...(o.channels !== undefined ? { channels: o.channels } : {}),
      ...(o.timing ? { timing: o.timing } : {}),
      ...(o.pacing ? { pacing: o.pacing } : {}),
      credit: this.creditSent,
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<JobEvent> {
    if (this.iterating) throw new Error('a job can be iterated only once');
    this.iterating = true;
    return {
      next: async () => {
        const r = await this.events.next();
        if (!r.done && r.value.type === 'audio') {
          this.consumed++;
          this.autoCredit();
        }
        return r;
      },
      return: async () => {
        if (!this.finished) this.cancel();
        return { value: undefined, done: true };
      },
    };
  }

  /** Only the audio, in order. */
  async *audio(): AsyncIterable<AudioEvent> {
    for await (const e of this) if (e.type === 'audio') yield e;
  }

  /** Reads the whole job into planar buffers. */
  async collect(): Promise<{ sampleRate: number; channels: Float32Array[]; events: JobEvent[] }> {
    const parts: AudioEvent[] = [];
    const events: JobEvent[] = [];
    for await (const e of this) {
      if (e.type === 'audio') parts.push(e);
      else events.push(e);
    }
    const n = parts.reduce((a, p) => a + p.channels[0]!.length, 0);
    const count = parts[0]?.channels.length ?? this.info?.channels ?? 1;
    const channels = Array.from({ length: count }, () => new Float32Array(n));
    for (const p of parts) for (const [c, ch] of p.channels.entries()) channels[c]!.set(ch, p.startFrame);
    return { sampleRate: parts[0]?.sampleRate ?? this.info?.sampleRate ?? 0, channels, events };
  }

  cancel(): void {
    if (this.finished || this.cancelRequested) return;
    this.cancelRequested = true;
    if (this.startSent) this.link.send({ type: 'job.cancel', job: this.id });
  }

  /** Jam: new parameters, effective at the next bar (a job.updated event says where). */
  update(params: GenerateParams): void {
    if (this.kind !== 'jam') throw new TypeError('update() applies to jam jobs');
    this.link.send({ type: 'job.update', job: this.id, params });
  }

  /** Realtime pacing: allow `chunks` more frames beyond the current limit. */
  grant(chunks: number): void {
    if (!Number.isInteger(chunks) || chunks < 1)
      throw new RangeError(`chunks must be a positive integer, got ${chunks}`);
    this.creditSent += chunks;
    this.link.send({ type: 'credit', job: this.id, limit: this.creditSent });
  }

  private autoCredit(): void {
    if (this.options.autoCredit === false || this.options.pacing === 'asap' || this.finished) return;
    const limit = this.consumed + (this.options.credit ?? 8);
    if (limit > this.creditSent) {
      this.creditSent = limit;
      this.link.send({ type: 'credit', job: this.id, limit });
    }
  }

  /** State re-sent after a reconnect: credit, ack and a pending cancel. */
  resyncAfterResume(inputNextSeq: number | null): void {
    if (this.cancelRequested) this.link.send({ type: 'job.cancel', job: this.id });
    if (this.options.pacing !== 'asap')
      this.link.send({ type: 'credit', job: this.id, limit: this.creditSent });
    if (this.lastAcked >= 0) this.link.send({ type: 'ack', job: this.id, seq: this.lastAcked });
    if (inputNextSeq !== null)
      for (const k of this.inputKept) if (k.seq >= inputNextSeq) this.link.sendBinary(k.bytes);
  }

  // From the server -------------------------------------------------------------------------

  onFrame(frame: AudioFrame): void {
    if (this.finished) return;
    if (frame.seq < this.nextSeq) return; // a replayed copy of a frame we have
    if (frame.seq > this.nextSeq || frame.startFrame !== this.framesReceived) {
      this.fail(
        new ProtocolError(
          'FLOW_CONTROL',
          `job ${this.id}: frame seq ${frame.seq} at ${frame.startFrame}, expected seq ${this.nextSeq} at ${this.framesReceived}`,
          { job: this.id },
        ),
      );
      return;
    }
    this.nextSeq++;
    this.framesReceived += frame.channels[0]!.length;
    this.events.push({
      type: 'audio',
      seq: frame.seq,
      sampleRate: frame.sampleRate,
      startFrame: frame.startFrame,
      channels: frame.channels,
      last: frame.last,
      replay: frame.replay,
      inputCreditAtReceipt: this.inputLimit,
    });
    this.scheduleAck(frame.last);
  }

  private scheduleAck(now: boolean): void {
    const seq = this.nextSeq - 1;
    if (now || seq - this.lastAcked >= this.link.ackEvery) {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
      this.lastAcked = seq;
      this.link.send({ type: 'ack', job: this.id, seq });
    } else if (!this.ackTimer) {
      this.ackTimer = setTimeout(() => {
        this.ackTimer = undefined;
        if (this.nextSeq - 1 > this.lastAcked) this.scheduleAck(true);
      }, 200);
    }
  }

  onMessage(msg: ServerMessage): void {
    switch (msg.type) {
      case 'job.accepted':
        if (this.info) return; // repeated after a resume
        this.info = msg;
        this.inputLimit = Math.max(this.inputLimit, msg.inputCredit);
        this.wakeInput();
        this.resolveAccepted(msg);
        this.events.push(msg);
        return;
      case 'job.progress':
      case 'job.updated':
        this.events.push(msg);
        return;
      case 'credit':
        this.inputLimit = Math.max(this.inputLimit, msg.limit);
        this.wakeInput();
        return;
      case 'ack':
        while (this.inputKept.length > 0 && this.inputKept[0]!.seq <= msg.seq) this.inputKept.shift();
        return;
      case 'job.done':
      case 'job.cancelled':
        if (this.finished) return;
        this.events.push(msg);
        this.settle({
          status: msg.type === 'job.done' ? 'done' : 'cancelled',
          frames: msg.frames,
          chunks: msg.chunks,
          elapsedMs: msg.type === 'job.done' ? msg.elapsedMs : null,
          firstChunkMs: msg.type === 'job.done' ? msg.firstChunkMs : null,
          reason: msg.type === 'job.cancelled' ? msg.reason : null,
        });
        return;
      default:
        return;
    }
  }

  private settle(result: JobResult): void {
    this.finished = true;
    clearTimeout(this.ackTimer);
    if (this.nextSeq - 1 > this.lastAcked) {
      this.lastAcked = this.nextSeq - 1;
      this.link.send({ type: 'ack', job: this.id, seq: this.lastAcked });
    }
    this.rejectAccepted(new ProtocolError('UNKNOWN_JOB', `job ${this.id} ended before it was accepted`));
    this.resolveResult(result);
    this.events.close();
    this.wakeInput();
    this.link.forget(this.id);
  }

  /** Ends the job with an error (from the server, or a lost session). */
  fail(err: ProtocolError): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.ackTimer);
    this.rejectAccepted(err);
    this.rejectResult(err);
    this.events.close(err);
    this.wakeInput();
    this.link.forget(this.id);
  }

  // Denoise input ---------------------------------------------------------------------------

  private wakeInput(): void {
    const w = this.inputWaiters;
    this.inputWaiters = [];
    for (const f of w) f();
  }

  private async waitInputCredit(): Promise<void> {
    while (!this.finished && this.inputSeq >= this.inputLimit) {
      await new Promise<void>((resolve) => this.inputWaiters.push(resolve));
    }
    if (this.finished)
      throw new ProtocolError('UNKNOWN_JOB', `job ${this.id} has ended; input not sent`, { job: this.id });
  }

  /** Sends planar input audio (denoise); resolves once it is handed to the socket. */
  async write(channels: Float32Array[], last = false): Promise<void> {
    if (this.kind !== 'denoise') throw new TypeError('write() applies to denoise jobs');
    if (this.inputEnded) throw new RangeError('write() after end()');
    const rate = this.options.sampleRate!;
    if (!Array.isArray(channels) || channels.length !== this.options.channels) {
      throw new RangeError(`channels must hold ${this.options.channels} Float32Arrays`);
    }
    const total = channels[0]!.length;
    const max = this.link.maxFramesPerMessage();
    let off = 0;
    do {
      const n = Math.min(max, total - off);
      const isLast = last && off + n >= total;
      if (n === 0 && !isLast) break;
      await this.waitInputCredit();
      await this.link.writable();
      const bytes = encodeFrame({
        kind: 'in',
        job: this.id,
        seq: this.inputSeq,
        sampleRate: rate,
        startFrame: this.inputFrames,
        last: isLast,
        replay: false,
        channels: channels.map((ch) => ch.subarray(off, off + n)),
      });
      this.inputKept.push({ seq: this.inputSeq, bytes });
      this.inputSeq++;
      this.inputFrames += n;
      if (isLast) this.inputEnded = true;
      this.link.sendBinary(bytes);
      off += n;
    } while (off < total);
  }

  /** Ends the input (denoise): the server flushes and finishes the job. */
  async end(): Promise<void> {
    if (this.inputEnded) return;
    await this.write(
      Array.from({ length: this.options.channels ?? 1 }, () => new Float32Array(0)),
      true,
    );
  }

  /** Pumps `options.input` (started by the client once the job exists). */
  async pump(): Promise<void> {
    const input = this.options.input;
    if (!input) return;
    try {
      for await (const chunk of input as AsyncIterable<Float32Array[]>) {
        if (this.finished) return;
        await this.write(chunk);
      }
      await this.end();
    } catch (err) {
      if (!this.finished) {
        this.cancel();
        this.fail(
          err instanceof ProtocolError
            ? err
            : new ProtocolError('BAD_FRAME', `input: ${(err as Error).message}`, { job: this.id }),
        );
      }
    }
  }
}
