/**
 * The streaming server: HTTP routes and the protocol v1 WebSocket on one port (docs/protocol.md).
 * Safe defaults: loopback only unless a token is set, Origin and Host checks for browsers, small
 * message limits, per-connection and global job limits, and round-robin fairness between
 * connections for model turns.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type WebSocket, WebSocketServer } from 'ws';
import { ModelRegistry } from '../packs/index.ts';
import {
  CLOSE_CODES,
  type ClientMessage,
  DEFAULT_LIMITS,
  decodeFrame,
  errorMessage,
  PROTOCOL_VERSION,
  ProtocolError,
  type ProtocolLimits,
  parseClientMessage,
  type ResumedJob,
  type ServerMessage,
  WS_PATH,
  WS_SUBPROTOCOL,
  withReplayFlag,
} from '../protocol/index.ts';
import { type ComputeDevice, Runtime } from '../runtime/index.ts';
import { FairQueue } from './fair-queue.ts';
import {
  hostAllowed,
  isLoopbackHost,
  originAllowed,
  requestToken,
  sendJson,
  serveStatic,
  tokenMatches,
} from './http.ts';
import { type JobContext, ServerJob } from './job.ts';
import { ModelCache } from './models.ts';
import { Connection, Session } from './session.ts';

export interface ServerOptions {
  /** Interface to bind; default 127.0.0.1. Anything but loopback requires `token`. */
  host?: string;
  /** Port; default 7878, 0 picks a free one. */
  port?: number;
  /** Shared secret clients send as `Authorization: Bearer …` or `?token=…`. */
  token?: string;
  /** Browser origins allowed besides the server's own ('*' allows any). */
  allowOrigins?: readonly string[];
  /** Extra Host names accepted without a token (the loopback names always are). */
  allowHosts?: readonly string[];
  /** Where models come from; default a registry over `modelsDirs`, SONODIFF_MODELS and the shipped packs. */
  registry?: ModelRegistry;
  modelsDirs?: readonly string[];
  /** The runtime to share; default one the server creates (and disposes on close). */
  runtime?: Runtime;
  device?: ComputeDevice;
  /**
   * Jobs computing at once across all connections (default 2). Jobs take turns one model window
   * at a time, round-robin across connections, so a long job never blocks a short one.
   */
  maxJobs?: number;
  /** Unfinished jobs across all connections before SERVER_BUSY. Default 64. */
  maxQueued?: number;
  /** Open connections before HTTP 503. Default 64. */
  maxConnections?: number;
  limits?: Partial<ProtocolLimits>;
  /** Folder served at `/`; default the package's `web/` folder when it exists; null disables. */
  webDir?: string | null;
  /** Log lines (never containing the token); default none. */
  log?: (line: string) => void;
}

export interface ServerStats {
  connections: number;
  sessions: number;
  /** Unfinished jobs. */
  jobs: number;
  /** Jobs inside a model turn right now. */
  jobsComputing: number;
  /** Jobs waiting for a model turn. */
  turnsWaiting: number;
}

function packageInfo(): { version: string; root: string } {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  try {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string };
    return { version: pkg.version ?? '0.0.0', root };
  } catch {
    return { version: '0.0.0', root };
  }
}

/** Bytes queued on one socket above which jobs stop producing for it. */
const HIGH_WATER_BYTES = 1 << 20;
/** Finished job records kept per session for resume and duplicate-id checks. */
const FINISHED_KEPT = 256;

export class SonodiffServer {
  readonly host: string;
  readonly limits: ProtocolLimits;
  readonly models: ModelCache;
  private readonly options: ServerOptions;
  private readonly token: string | undefined;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly runtime: Runtime;
  private readonly ownsRuntime: boolean;
  private readonly turns: FairQueue;
  private readonly webDir: string | undefined;
  private readonly version: string;
  private readonly log: (line: string) => void;
  private readonly connections = new Set<Connection>();
  private readonly sessions = new Map<string, Session>();
  private readonly runs = new Set<Promise<void>>();
  private heartbeat: NodeJS.Timeout | undefined;
  private nextConn = 1;
  private nextSession = 1;
  private closing = false;
  private boundPort = 0;
  private readonly startedAt = Date.now();

  constructor(options: ServerOptions = {}) {
    const host = options.host ?? '127.0.0.1';
    if (typeof host !== 'string' || host.length === 0) throw new TypeError('host must be a non-empty string');
    if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 8)) {
      throw new RangeError('token must be a string of at least 8 characters');
    }
    if (!isLoopbackHost(host) && options.token === undefined) {
      throw new RangeError(`token is required to bind ${host}: only loopback addresses may run without one`);
    }
    const port = options.port ?? 7878;
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new RangeError(`port must be an integer from 0 to 65535, got ${port}`);
    const maxJobs = options.maxJobs ?? 2;
    if (!Number.isInteger(maxJobs) || maxJobs < 1 || maxJobs > 1024)
      throw new RangeError(`maxJobs must be an integer from 1 to 1024, got ${maxJobs}`);
    const limits = { ...DEFAULT_LIMITS, ...(options.limits ?? {}) };
    for (const [k, v] of Object.entries(limits)) {
      if (!Number.isInteger(v) || v < 1)
        throw new RangeError(`limits.${k} must be a positive integer, got ${v}`);
    }
    if (limits.maxFramesPerMessage * 4 + 40 > limits.maxPayloadBytes) {
      throw new RangeError('limits.maxPayloadBytes must hold a mono frame of maxFramesPerMessage samples');
    }
    this.options = options;
    this.host = host;
    this.boundPort = port;
    this.token = options.token;
    this.limits = limits;
    this.log = options.log ?? (() => {});
    const pkg = packageInfo();
    this.version = pkg.version;
    const web = options.webDir === undefined ? path.join(pkg.root, 'web') : options.webDir;
    this.webDir = web !== null && existsSync(web) ? path.resolve(web) : undefined;
    this.ownsRuntime = options.runtime === undefined;
    this.runtime = options.runtime ?? new Runtime({ workers: 1 });
    const registry = options.registry ?? new ModelRegistry({ dirs: options.modelsDirs ?? [] });
    this.models = new ModelCache(registry, this.runtime, options.device ? { device: options.device } : {});
    this.turns = new FairQueue(maxJobs);
    this.http = createHttpServer((req, res) => {
      this.onRequest(req, res).catch((err: unknown) => {
        this.log(`http error: ${err instanceof Error ? err.message : String(err)}`);
        if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
        else res.destroy();
      });
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: limits.maxPayloadBytes,
      handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
    });
  }

  /** Starts listening; resolves once bound. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.boundPort, this.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (this.http.address() as AddressInfo).port;
    this.heartbeat = setInterval(() => this.beat(), this.limits.heartbeatMs);
    this.heartbeat.unref();
  }

  get port(): number {
    return this.boundPort;
  }

  /** http://host:port/ (the token is never part of it). */
  get url(): string {
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${h}:${this.boundPort}/`;
  }

  get wsUrl(): string {
    return `${this.url.replace(/^http/, 'ws').replace(/\/$/, '')}${WS_PATH}`;
  }

  stats(): ServerStats {
    return {
      connections: this.connections.size,
      sessions: this.sessions.size,
      jobs: this.activeJobs(),
      jobsComputing: this.turns.running,
      turnsWaiting: this.turns.waiting,
    };
  }

  private activeJobs(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.activeJobs;
    return n;
  }

  /** Drops every socket without a close handshake; sessions stay resumable (tests, admin). */
  dropConnections(): number {
    const n = this.connections.size;
    for (const c of this.connections) c.ws.terminate();
    return n;
  }

  /** Stops accepting, closes connections (1001), cancels jobs and releases models. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.heartbeat);
    for (const s of this.sessions.values()) {
      clearTimeout(s.expiry);
      for (const j of s.jobs.values()) j.cancel('server shutting down');
    }
    for (const c of this.connections) c.ws.close(CLOSE_CODES.goingAway, 'server shutting down');
    await Promise.allSettled([...this.runs]);
    for (const c of this.connections) c.ws.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    await this.models.dispose();
    if (this.ownsRuntime) await this.runtime.dispose();
  }

  // HTTP ------------------------------------------------------------------------------------

  private corsHeaders(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    return origin !== undefined ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {};
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!hostAllowed(req, this.token !== undefined, this.options.allowHosts ?? [])) {
      sendJson(res, 403, { error: { code: 'FORBIDDEN_ORIGIN', message: 'Host not allowed' } });
      return;
    }
    if (!originAllowed(req, this.options.allowOrigins ?? [])) {
      sendJson(res, 403, { error: { code: 'FORBIDDEN_ORIGIN', message: 'Origin not allowed' } });
      return;
    }
    const cors = this.corsHeaders(req);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...cors,
        'access-control-allow-methods': 'GET, HEAD, OPTIONS',
        'access-control-allow-headers': 'authorization',
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(
        res,
        405,
        { error: { code: 'BAD_MESSAGE', message: 'method not allowed' } },
        { allow: 'GET, HEAD' },
      );
      return;
    }
    if (url.pathname === '/healthz') {
      sendJson(
        res,
        200,
        {
          ok: !this.closing,
          protocol: PROTOCOL_VERSION,
          version: this.version,
          uptimeS: Math.round((Date.now() - this.startedAt) / 1000),
          ...this.stats(),
        },
        cors,
      );
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      if (this.token !== undefined && !tokenMatches(requestToken(req), this.token)) {
        sendJson(
          res,
          401,
          { error: { code: 'UNAUTHORIZED', message: 'missing or wrong token' } },
          {
            ...cors,
            'www-authenticate': 'Bearer',
          },
        );
        return;
      }
      if (url.pathname === '/api/models') {
        sendJson(res, 200, { protocol: PROTOCOL_VERSION, models: await this.models.describe() }, cors);
        return;
      }
      sendJson(res, 404, { error: { code: 'BAD_MESSAGE', message: 'no such route' } }, cors);
      return;
    }
    if (this.webDir && (await serveStatic(this.webDir, url.pathname, req, res))) return;
    sendJson(res, 404, { error: { code: 'BAD_MESSAGE', message: 'not found' } });
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    const reject = (status: number, code: string, message: string) => {
      const body = JSON.stringify({ error: { code, message } });
      const reason = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[
        status
      ];
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n${status === 401 ? 'WWW-Authenticate: Bearer\r\n' : ''}\r\n${body}`,
      );
    };
    const url = new URL(req.url ?? '/', 'http://x');
    let refusal: [number, string, string] | undefined;
    if (url.pathname !== WS_PATH) refusal = [404, 'BAD_MESSAGE', `WebSocket endpoint is ${WS_PATH}`];
    else if (!hostAllowed(req, this.token !== undefined, this.options.allowHosts ?? []))
      refusal = [403, 'FORBIDDEN_ORIGIN', 'Host not allowed'];
    else if (!originAllowed(req, this.options.allowOrigins ?? []))
      refusal = [403, 'FORBIDDEN_ORIGIN', 'Origin not allowed'];
    else if (this.token !== undefined && !tokenMatches(requestToken(req), this.token))
      refusal = [401, 'UNAUTHORIZED', 'missing or wrong token'];
    else if (this.closing) refusal = [503, 'SHUTTING_DOWN', 'server is shutting down'];
    else if (this.connections.size >= (this.options.maxConnections ?? 64))
      refusal = [503, 'SERVER_BUSY', 'too many connections'];
    if (refusal) {
      reject(...refusal);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  // WebSocket -------------------------------------------------------------------------------

  private beat(): void {
    for (const c of this.connections) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  private onConnection(ws: WebSocket): void {
    const conn: Connection = new Connection(ws, this.nextConn++, this.limits.maxMessagesPerSecond * 2, () =>
      conn.session?.wakeAll(),
    );
    this.connections.add(conn);
    const helloTimer = setTimeout(() => {
      if (!conn.session) ws.close(CLOSE_CODES.helloTimeout, 'no hello');
    }, this.limits.helloTimeoutMs);
    helloTimer.unref();
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      conn.alive = true;
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      try {
        if (isBinary) this.onBinary(conn, buf);
        else this.onText(conn, buf);
      } catch (err) {
        this.log(`connection ${conn.id}: ${err instanceof Error ? err.message : String(err)}`);
        conn.sendText(errorMessage(err));
      }
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      clearTimeout(helloTimer);
      this.connections.delete(conn);
      const s = conn.session;
      if (s && s.conn === conn) this.detach(s);
    });
  }

  private rateLimited(conn: Connection): boolean {
    const now = Date.now();
    const rate = this.limits.maxMessagesPerSecond;
    conn.tokens = Math.min(rate * 2, conn.tokens + ((now - conn.lastRefill) / 1000) * rate);
    conn.lastRefill = now;
    if (conn.tokens >= 1) {
      conn.tokens -= 1;
      return false;
    }
    conn.dropped++;
    if (conn.dropped > rate * 10) {
      conn.ws.close(CLOSE_CODES.rateLimited, 'too many messages');
    } else if (now - conn.lastRateError > 1000) {
      conn.lastRateError = now;
      conn.sendText(
        errorMessage(new ProtocolError('RATE_LIMITED', `more than ${rate} messages per second; dropped`)),
      );
    }
    return true;
  }

  private onText(conn: Connection, buf: Buffer): void {
    if (this.rateLimited(conn)) return;
    if (buf.length > this.limits.maxTextBytes) {
      throw new ProtocolError(
        'BAD_MESSAGE',
        `text message of ${buf.length} bytes exceeds ${this.limits.maxTextBytes}`,
      );
    }
    let msg: ClientMessage;
    try {
      msg = parseClientMessage(buf.toString('utf8'));
    } catch (err) {
      if (err instanceof ProtocolError) {
        // A job.start that fails validation ends that job (when its id could be read).
        conn.sendText(errorMessage(err, undefined, err.job !== undefined && startsJob(buf)));
        return;
      }
      throw err;
    }
    if (msg.type === 'hello') {
      this.onHello(conn, msg);
      return;
    }
    const session = conn.session;
    if (!session) throw new ProtocolError('NOT_READY', `${msg.type} before hello`);
    if (msg.type === 'job.start') {
      try {
        this.startJob(session, msg);
      } catch (err) {
        // The job never started: the error ends it.
        conn.sendText(errorMessage(err, msg.job, true));
      }
      return;
    }
    const job = session.jobs.get(msg.job);
    if (!job) throw new ProtocolError('UNKNOWN_JOB', `no job ${msg.job} in this session`, { job: msg.job });
    switch (msg.type) {
      case 'job.cancel':
        job.cancel('cancelled by the client');
        return;
      case 'job.update':
        if (job.finished)
          throw new ProtocolError('UNKNOWN_JOB', `job ${msg.job} has finished`, { job: msg.job });
        job.update(msg.params);
        return;
      case 'credit':
        if (!job.finished) job.grant(msg.limit);
        return;
      case 'ack':
        if (msg.seq >= job.outSeq) {
          throw new ProtocolError('BAD_MESSAGE', `ack: seq ${msg.seq} was not sent yet`, {
            job: msg.job,
            issues: [{ field: 'seq', message: 'not sent yet' }],
          });
        }
        session.replay.ack(msg.job, msg.seq);
        return;
    }
  }

  private onBinary(conn: Connection, buf: Buffer): void {
    const session = conn.session;
    if (!session) {
      conn.ws.close(CLOSE_CODES.protocolError, 'binary frame before hello');
      return;
    }
    const frame = decodeFrame(buf, { maxFrames: this.limits.maxFramesPerMessage });
    if (frame.kind !== 'in') throw new ProtocolError('BAD_FRAME', 'clients send kind 2 (input) frames only');
    const job = session.jobs.get(frame.job);
    if (!job)
      throw new ProtocolError('UNKNOWN_JOB', `no job ${frame.job} in this session`, { job: frame.job });
    try {
      job.receiveInput(frame);
    } catch (err) {
      if (err instanceof ProtocolError) job.cancel(err.message, err);
      else throw err;
    }
  }

  private onHello(conn: Connection, msg: Extract<ClientMessage, { type: 'hello' }>): void {
    if (conn.session) throw new ProtocolError('BAD_MESSAGE', 'hello was already received');
    if (msg.protocol !== PROTOCOL_VERSION) {
      conn.sendText(
        errorMessage(
          new ProtocolError(
            'UNSUPPORTED_VERSION',
            `protocol ${msg.protocol} not supported; this server speaks ${PROTOCOL_VERSION}`,
          ),
        ),
      );
      conn.ws.close(CLOSE_CODES.unsupportedVersion, 'unsupported protocol version');
      return;
    }
    if (this.closing) {
      conn.sendText(errorMessage(new ProtocolError('SHUTTING_DOWN', 'server is shutting down')));
      conn.ws.close(CLOSE_CODES.goingAway, 'server shutting down');
      return;
    }
    const old = msg.resume ? this.findSession(msg.resume.session) : undefined;
    if (!old || !msg.resume) {
      const session = new Session(
        `s${this.nextSession++}`,
        randomBytes(16).toString('base64url'),
        this.limits.replayBufferBytes,
        HIGH_WATER_BYTES,
      );
      this.sessions.set(session.token, session);
      this.attach(session, conn);
      conn.sendText(this.welcome(session, null));
      return;
    }
    // Resume: take the session over from any half-dead connection.
    const session = old;
    if (session.conn && session.conn !== conn) {
      const prev = session.conn;
      session.conn = undefined;
      prev.session = undefined;
      prev.ws.close(CLOSE_CODES.sessionReplaced, 'session resumed elsewhere');
    }
    const resumed: ResumedJob[] = [];
    const unknown: number[] = [];
    const after: Array<() => void> = [];
    for (const { job: id, nextSeq } of msg.resume.jobs) {
      const job = session.jobs.get(id);
      if (!job) {
        unknown.push(id);
        continue;
      }
      const frames = session.replay.from(id, nextSeq, job.outSeq);
      if (!frames) {
        const err = new ProtocolError(
          'RESUME_GAP',
          `job ${id}: frames from seq ${nextSeq} are no longer in the replay buffer (${job.outSeq} sent)`,
          { job: id },
        );
        after.push(() => {
          if (job.finished) conn.sendText(errorMessage(err, id, true));
          else job.cancel(err.message, err);
          session.replay.drop(id);
        });
        continue;
      }
      resumed.push({
        job: id,
        nextSeq,
        inputNextSeq: job.kind === 'denoise' ? job.inputNextSeq : null,
        state: job.finished ? 'finished' : job.state === 'running' ? 'running' : 'queued',
      });
      after.push(() => {
        // The first job.accepted may have been lost with the old socket; clients ignore repeats.
        if (job.accepted && !job.finished) conn.sendText(job.accepted);
        for (const f of frames) conn.sendBinary(withReplayFlag(f));
        if (job.finished && job.terminal) conn.sendText(job.terminal);
        else if (job.kind === 'denoise' && job.accepted) {
          // Credit sent during the drop may be lost; limits are absolute, so re-send the current one.
          conn.sendText({ type: 'credit', job: id, limit: job.inputLimit });
        }
      });
    }
    clearTimeout(session.expiry);
    this.attach(session, conn);
    conn.sendText(this.welcome(session, { jobs: resumed, unknown }));
    for (const f of after) f();
    session.wakeAll();
  }

  private findSession(token: string): Session | undefined {
    // Map lookup by secret; constant-time compare guards against a timing side channel on the key.
    for (const [k, s] of this.sessions) if (tokenMatches(token, k)) return s;
    return undefined;
  }

  private welcome(
    session: Session,
    resumed: Extract<ServerMessage, { type: 'welcome' }>['resumed'],
  ): ServerMessage {
    return {
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      session: session.token,
      resumed,
      server: { name: 'sonodiff', version: this.version },
      limits: this.limits,
    };
  }

  private attach(session: Session, conn: Connection): void {
    session.conn = conn;
    conn.session = session;
  }

  private detach(session: Session): void {
    session.conn = undefined;
    clearTimeout(session.expiry);
    session.expiry = setTimeout(() => {
      this.sessions.delete(session.token);
      for (const j of session.jobs.values()) j.cancel('session expired');
    }, this.limits.resumeTimeoutMs);
    session.expiry.unref();
  }

  private startJob(session: Session, msg: Extract<ClientMessage, { type: 'job.start' }>): void {
    const id = msg.job;
    if (session.jobs.has(id))
      throw new ProtocolError('JOB_EXISTS', `job ${id} already exists in this session`, { job: id });
    if (this.closing) throw new ProtocolError('SHUTTING_DOWN', 'server is shutting down', { job: id });
    if (session.activeJobs >= this.limits.maxJobsPerConnection) {
      throw new ProtocolError(
        'TOO_MANY_JOBS',
        `at most ${this.limits.maxJobsPerConnection} jobs per connection`,
        {
          job: id,
        },
      );
    }
    if (this.activeJobs() >= (this.options.maxQueued ?? 64)) {
      throw new ProtocolError('SERVER_BUSY', 'the job queue is full; retry later', { job: id });
    }
    const ctx: JobContext = {
      models: this.models,
      turns: this.turns,
      limits: this.limits,
      log: this.log,
    };
    const job = new ServerJob(
      {
        job: id,
        kind: msg.kind,
        model: msg.model,
        params: msg.params ?? {},
        sampleRate: msg.sampleRate,
        channels: msg.channels,
        timing: msg.timing,
        pacing: msg.pacing,
        credit: msg.credit,
      },
      session,
      ctx,
    );
    session.jobs.set(id, job);
    const run = job.run().finally(() => {
      this.runs.delete(run);
      session.pruneFinished(FINISHED_KEPT);
    });
    this.runs.add(run);
  }
}

function startsJob(buf: Buffer): boolean {
  try {
    return (JSON.parse(buf.toString('utf8')) as { type?: unknown }).type === 'job.start';
  } catch {
    return false;
  }
}

/** Creates a server and starts listening. */
export async function createServer(options: ServerOptions = {}): Promise<SonodiffServer> {
  const server = new SonodiffServer(options);
  await server.listen();
  return server;
}
