/**
 * SonodiffClient: protocol v1 over one WebSocket, with automatic reconnect and resume. Depends
 * only on src/protocol and a WebSocket (the `ws` package by default, or any WHATWG-style socket).
 */
import {
  type AudioFrame,
  DEFAULT_LIMITS,
  decodeFrame,
  errorFromMessage,
  PROTOCOL_VERSION,
  ProtocolError,
  type ProtocolLimits,
  parseServerMessage,
  type ServerMessage,
  WS_PATH,
  WS_SUBPROTOCOL,
} from '../protocol/index.ts';
import { ClientJob, type JobLink, type StartJobOptions } from './job.ts';
import { OPEN, type SocketFactory, type SocketLike, wsFactory } from './socket.ts';

export interface ReconnectOptions {
  /** Attempts per outage before the jobs fail. Default 10. */
  retries?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface ClientOptions {
  /** ws://host:port/ws, or the server's http(s):// URL (the path is added). */
  url: string;
  token?: string;
  clientName?: string;
  /** Reconnect and resume after a dropped connection (default true). */
  reconnect?: boolean | ReconnectOptions;
  /** Origin header to send (Node only; browsers set their own). */
  origin?: string;
  connectTimeoutMs?: number;
  /** Acknowledge received frames every this many (default 4; also after 200 ms). */
  ackEvery?: number;
  socketFactory?: SocketFactory;
}

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface Welcome {
  session: string;
  server: { name: string; version: string };
  limits: ProtocolLimits;
}

type Listener<T> = (value: T) => void;
interface ClientEvents {
  state: ClientState;
  /** Errors not tied to a job (rate limiting, a bad message). */
  error: ProtocolError;
  reconnected: { attempts: number; resumed: boolean };
}

/** HTTP status of a refused upgrade → protocol error. */
function upgradeError(message: string): ProtocolError {
  const status = /(\d{3})/.exec(message)?.[1];
  if (status === '401') return new ProtocolError('UNAUTHORIZED', 'server refused the token (HTTP 401)');
  if (status === '403')
    return new ProtocolError('FORBIDDEN_ORIGIN', 'server refused this Origin or Host (HTTP 403)');
  if (status === '503') return new ProtocolError('SERVER_BUSY', 'server busy or shutting down (HTTP 503)');
  return new ProtocolError('INTERNAL', `cannot connect: ${message}`, { retryable: true });
}

export class SonodiffClient {
  readonly url: string;
  state: ClientState = 'idle';
  session: string | undefined;
  limits: ProtocolLimits = { ...DEFAULT_LIMITS };
  server: Welcome['server'] | undefined;
  private readonly options: ClientOptions;
  private socket: SocketLike | undefined;
  private readonly jobs = new Map<number, ClientJob>();
  private nextJob = 1;
  private readonly listeners: { [K in keyof ClientEvents]: Set<Listener<ClientEvents[K]>> } = {
    state: new Set(),
    error: new Set(),
    reconnected: new Set(),
  };
  private userClosed = false;
  private factory: SocketFactory | undefined;
  private writableWaiters: Array<() => void> = [];
  private lastSeen = 0;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private readonly link: JobLink;

  constructor(options: ClientOptions) {
    if (typeof options?.url !== 'string') throw new TypeError('url must be a string');
    const u = new URL(options.url);
    if (u.protocol === 'http:' || u.protocol === 'https:') {
      u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
      u.pathname = WS_PATH;
    } else if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
      throw new RangeError(`url must be ws:, wss:, http: or https:, got ${u.protocol}`);
    }
    this.url = u.toString();
    this.options = options;
    this.factory = options.socketFactory;
    const self = this;
    this.link = {
      send: (msg) => this.send(msg),
      sendBinary: (bytes) => {
        if (this.socket?.readyState === OPEN) this.socket.send(bytes);
      },
      writable: () => this.whenWritable(),
      maxFramesPerMessage: () => this.limits.maxFramesPerMessage,
      get ackEvery() {
        return self.options.ackEvery ?? 4;
      },
      forget: (id) => {
        // Keep finished jobs out of resume requests.
        this.jobs.delete(id);
      },
    };
  }

  on<K extends keyof ClientEvents>(event: K, fn: Listener<ClientEvents[K]>): () => void {
    this.listeners[event].add(fn);
    return () => this.listeners[event].delete(fn);
  }

  private emit<K extends keyof ClientEvents>(event: K, value: ClientEvents[K]): void {
    for (const fn of this.listeners[event]) fn(value);
  }

  private setState(s: ClientState): void {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
    if (s === 'open') {
      const w = this.writableWaiters;
      this.writableWaiters = [];
      for (const f of w) f();
    }
  }

  /** Connects and says hello; resolves with the server's welcome. */
  async connect(): Promise<Welcome> {
    if (this.state !== 'idle') throw new Error(`connect() called in state ${this.state}`);
    this.setState('connecting');
    try {
      await this.open(undefined);
    } catch (err) {
      this.setState('closed');
      throw err;
    }
    return { session: this.session!, server: this.server!, limits: this.limits };
  }

  /** Starts a job; iterate the returned job for its audio and events. */
  startJob(options: StartJobOptions): ClientJob {
    if (this.state === 'closed' || this.state === 'idle')
      throw new Error(`startJob() needs an open client (state ${this.state})`);
    if (options.kind === 'denoise' && (options.sampleRate === undefined || options.channels === undefined)) {
      throw new TypeError('a denoise job needs sampleRate and channels');
    }
    const job = new ClientJob(this.nextJob++, options, this.link);
    this.jobs.set(job.id, job);
    if (this.state === 'open') {
      this.send(job.startMessage());
      job.startSent = true;
    }
    if (options.input) void job.pump();
    return job;
  }

  /** Closes the connection; running jobs are cancelled by the server when the session expires. */
  async close(): Promise<void> {
    this.userClosed = true;
    clearInterval(this.watchdog);
    const s = this.socket;
    this.setState('closed');
    for (const j of this.jobs.values()) j.fail(new ProtocolError('SESSION_EXPIRED', 'client closed'));
    if (s && s.readyState <= OPEN) {
      await new Promise<void>((resolve) => {
        s.addEventListener('close', () => resolve());
        s.close(1000, 'bye');
        setTimeout(resolve, 1000);
      });
    }
  }

  private send(msg: Record<string, unknown> & { type: string }): void {
    if (this.state === 'open' && this.socket?.readyState === OPEN) this.socket.send(JSON.stringify(msg));
  }

  private whenWritable(): Promise<void> {
    const ok = () =>
      this.state === 'open' && this.socket?.readyState === OPEN && this.socket.bufferedAmount < 1 << 20;
    if (ok()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => (ok() ? resolve() : setTimeout(check, 5));
      if (this.state === 'open') setTimeout(check, 5);
      else this.writableWaiters.push(check);
    });
  }

  /** Opens a socket and completes hello (with `resume` after a drop). */
  private async open(resume: { session: string } | undefined): Promise<void> {
    this.factory ??= await wsFactory();
    const headers: Record<string, string> = {};
    if (this.options.token !== undefined) headers['authorization'] = `Bearer ${this.options.token}`;
    if (this.options.origin !== undefined) headers['origin'] = this.options.origin;
    const socket = this.factory(this.url, [WS_SUBPROTOCOL], headers);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        fail(new ProtocolError('INTERNAL', 'connect timed out', { retryable: true }));
        socket.close();
      }, this.options.connectTimeoutMs ?? 10_000);
      const fail = (err: ProtocolError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      socket.addEventListener('open', () => {
        const jobs = [...this.jobs.values()].filter((j) => j.startSent && !j.finished);
        socket.send(
          JSON.stringify({
            type: 'hello',
            protocol: PROTOCOL_VERSION,
            ...(this.options.clientName ? { client: this.options.clientName } : {}),
            ...(resume
              ? {
                  resume: {
                    session: resume.session,
                    jobs: jobs.map((j) => ({ job: j.id, nextSeq: j.nextSeq })),
                  },
                }
              : {}),
          }),
        );
      });
      socket.addEventListener('error', (e) => fail(upgradeError(e.message ?? String(e.error ?? 'error'))));
      socket.addEventListener('close', (e) => {
        if (!settled) {
          fail(
            new ProtocolError(
              e.code === 4004 ? 'UNSUPPORTED_VERSION' : 'INTERNAL',
              `connection closed (${e.code} ${e.reason})`,
              { retryable: e.code !== 4004 },
            ),
          );
          return;
        }
        if (this.socket === socket) this.onDrop(e.code);
      });
      socket.addEventListener('message', (e) => {
        this.lastSeen = Date.now();
        if (typeof e.data === 'string') {
          let msg: ServerMessage;
          try {
            msg = parseServerMessage(e.data);
          } catch (err) {
            this.emit('error', err as ProtocolError);
            return;
          }
          if (msg.type === 'welcome') {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            this.onWelcome(msg, resume !== undefined);
            resolve();
            return;
          }
          if (!settled && msg.type === 'error') {
            fail(errorFromMessage(msg));
            return;
          }
          this.onMessage(msg);
        } else {
          this.onBinary(e.data);
        }
      });
      const ws = socket as unknown as { on?: (ev: string, fn: () => void) => void };
      ws.on?.('ping', () => {
        this.lastSeen = Date.now();
      });
    });
  }

  private onWelcome(msg: Extract<ServerMessage, { type: 'welcome' }>, resuming: boolean): void {
    this.limits = { ...DEFAULT_LIMITS, ...msg.limits };
    this.server = msg.server;
    this.session = msg.session;
    this.lastSeen = Date.now();
    this.setState('open');
    this.startWatchdog();
    if (resuming) {
      if (msg.resumed === null) {
        // The server lost the session: accepted jobs are gone; unsent ones start afresh.
        for (const j of [...this.jobs.values()]) {
          if (j.info)
            j.fail(
              new ProtocolError('SESSION_EXPIRED', 'the server no longer has this session', { job: j.id }),
            );
          else j.startSent = false;
        }
      } else {
        for (const id of msg.resumed.unknown) {
          const j = this.jobs.get(id);
          if (!j) continue;
          if (j.info)
            j.fail(new ProtocolError('UNKNOWN_JOB', `the server no longer has job ${id}`, { job: id }));
          else j.startSent = false;
        }
        for (const r of msg.resumed.jobs) this.jobs.get(r.job)?.resyncAfterResume(r.inputNextSeq);
      }
    }
    for (const j of this.jobs.values()) {
      if (!j.startSent && !j.finished) {
        this.send(j.startMessage());
        j.startSent = true;
        if (j.cancelRequested) this.send({ type: 'job.cancel', job: j.id });
      }
    }
  }

  private startWatchdog(): void {
    clearInterval(this.watchdog);
    const hb = this.limits.heartbeatMs;
    // Only `ws` exposes pings; without them silence is normal, so the watchdog is ws-only.
    if (typeof (this.socket as unknown as { on?: unknown }).on !== 'function') return;
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastSeen > hb * 2.5) {
        (this.socket as unknown as { terminate?: () => void }).terminate?.();
      }
    }, hb);
    (this.watchdog as { unref?: () => void }).unref?.();
  }

  private onMessage(msg: ServerMessage): void {
    if (msg.type === 'welcome') return;
    if (msg.type === 'error') {
      const err = errorFromMessage(msg);
      const job = msg.job !== undefined ? this.jobs.get(msg.job) : undefined;
      if (job && msg.terminal) job.fail(err);
      else this.emit('error', err);
      return;
    }
    this.jobs.get(msg.job)?.onMessage(msg);
  }

  private onBinary(data: unknown): void {
    let frame: AudioFrame;
    try {
      frame = decodeFrame(
        data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? data : new Uint8Array(0),
        {
          allowNonFinite: false,
        },
      );
    } catch (err) {
      this.emit('error', err as ProtocolError);
      return;
    }
    this.jobs.get(frame.job)?.onFrame(frame);
  }

  private onDrop(code: number): void {
    clearInterval(this.watchdog);
    if (this.userClosed) return;
    const fatal =
      code === 4004 || code === 1008 || this.options.reconnect === false || this.session === undefined;
    if (fatal) {
      this.setState('closed');
      const err = new ProtocolError('INTERNAL', `connection closed (${code})`);
      for (const j of [...this.jobs.values()]) j.fail(err);
      return;
    }
    this.setState('reconnecting');
    void this.reconnectLoop();
  }

  private async reconnectLoop(): Promise<void> {
    const o = typeof this.options.reconnect === 'object' ? this.options.reconnect : {};
    const retries = o.retries ?? 10;
    const min = o.minDelayMs ?? 100;
    const max = o.maxDelayMs ?? 5000;
    let lastErr: ProtocolError | undefined;
    for (let attempt = 1; attempt <= retries; attempt++) {
      if (this.userClosed) return;
      const delay = Math.min(max, min * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
      await new Promise((r) => setTimeout(r, attempt === 1 ? Math.min(delay, min) : delay));
      if (this.userClosed) return;
      try {
        await this.open({ session: this.session! });
        this.emit('reconnected', { attempts: attempt, resumed: true });
        return;
      } catch (err) {
        lastErr = err as ProtocolError;
        if (lastErr instanceof ProtocolError && !lastErr.retryable) break;
      }
    }
    this.setState('closed');
    const err = lastErr ?? new ProtocolError('INTERNAL', 'reconnect failed');
    for (const j of [...this.jobs.values()]) j.fail(err);
  }
}
