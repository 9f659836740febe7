/**
 * Sessions outlive connections: a session owns its jobs and its replay buffer; a connection is
 * attached to at most one session at a time and can be replaced by a resuming one.
 */
import type { WebSocket } from 'ws';
import type { ServerMessage } from '../protocol/index.ts';
import type { ServerJob } from './job.ts';
import { ReplayBuffer } from './replay.ts';

/** One WebSocket and its per-connection state. */
export class Connection {
  readonly ws: WebSocket;
  readonly id: number;
  session: Session | undefined;
  /** Bytes handed to ws.send whose write has not completed. */
  outBytes = 0;
  alive = true;
  /** Token bucket for text messages. */
  tokens: number;
  lastRefill = Date.now();
  dropped = 0;
  lastRateError = 0;
  private readonly onDrain: () => void;

  constructor(ws: WebSocket, id: number, burst: number, onDrain: () => void) {
    this.ws = ws;
    this.id = id;
    this.tokens = burst;
    this.onDrain = onDrain;
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  sendText(msg: ServerMessage): void {
    if (!this.open) return;
    const text = JSON.stringify(msg);
    this.track(text.length, (cb) => this.ws.send(text, cb));
  }

  sendBinary(bytes: Uint8Array): void {
    if (!this.open) return;
    this.track(bytes.length, (cb) => this.ws.send(bytes, { binary: true }, cb));
  }

  private track(n: number, send: (cb: (err?: Error) => void) => void): void {
    this.outBytes += n;
    send(() => {
      this.outBytes -= n;
      this.onDrain();
    });
  }
}

export class Session {
  readonly id: string;
  /** Secret resume token (base64url, 128 bits); never logged. */
  readonly token: string;
  conn: Connection | undefined;
  readonly jobs = new Map<number, ServerJob>();
  readonly replay: ReplayBuffer;
  expiry: NodeJS.Timeout | undefined;
  private readonly highWater: number;

  constructor(id: string, token: string, replayBytes: number, highWater: number) {
    this.id = id;
    this.token = token;
    this.replay = new ReplayBuffer(replayBytes);
    this.highWater = highWater;
  }

  /** Whether a frame may be written now: connected and the socket is not backed up. */
  get writable(): boolean {
    return this.conn?.open === true && this.conn.outBytes < this.highWater;
  }

  send(msg: ServerMessage): void {
    this.conn?.sendText(msg);
  }

  sendFrame(bytes: Uint8Array): void {
    this.conn?.sendBinary(bytes);
  }

  wakeAll(): void {
    for (const j of this.jobs.values()) j.wake();
  }

  /** Jobs that count against the per-connection limit. */
  get activeJobs(): number {
    let n = 0;
    for (const j of this.jobs.values()) if (!j.finished) n++;
    return n;
  }

  /** Keeps at most `keep` finished job records (a resume may still ask about recent ones). */
  pruneFinished(keep: number): void {
    const finished = [...this.jobs.values()].filter((j) => j.finished);
    for (const j of finished.slice(0, Math.max(0, finished.length - keep))) {
      this.jobs.delete(j.id);
      this.replay.drop(j.id);
    }
  }
}
