/**
 * JSON control messages of protocol v1, as discriminated unions on `type`, and validators for
 * incoming text frames. A validator reports every bad field (path and reason) in one
 * ProtocolError('BAD_MESSAGE'); unknown top-level fields are ignored (room for extensions),
 * unknown fields inside `params`, `timing` and `resume` are errors (they are usually typos).
 */
import {
  MAX_FRAME_CHANNELS,
  MAX_JOB_ID,
  MAX_RATE,
  MAX_SEQ,
  MIN_RATE,
  type ProtocolLimits,
} from './constants.ts';
import { type ErrorCode, type FieldIssue, isErrorCode, ProtocolError } from './errors.ts';
import type { MusicalTiming } from './timing.ts';

export type JobKind = 'generate' | 'jam' | 'denoise';
export type Pacing = 'realtime' | 'asap';
export type JobState = 'queued' | 'running';

/** Parameters of generate and jam jobs (jam ignores `seconds`, `bars` and `loop`). */
export interface GenerateParams {
  className?: string;
  tags?: string[];
  controls?: Record<string, number | string>;
  /** Clip length; default the model's. */
  seconds?: number;
  /** Clip length in bars (needs `timing`); wins over `seconds`. */
  bars?: number;
  steps?: number;
  sampler?: string;
  guidance?: number;
  seed?: number;
  loop?: boolean;
}

export interface DenoiseParams {
  strength?: number;
  steps?: number;
  sampler?: string;
  seed?: number;
}

export type JobParams = GenerateParams & DenoiseParams;

export interface ResumeRequest {
  session: string;
  jobs: Array<{ job: number; nextSeq: number }>;
}

export type ClientMessage =
  | { type: 'hello'; protocol: number; client?: string; resume?: ResumeRequest }
  | {
      type: 'job.start';
      job: number;
      kind: JobKind;
      model: string;
      params?: JobParams;
      /** Output rate (generate/jam; default the model's) or input rate (denoise, required). */
      sampleRate?: number;
      /** Input channels (denoise, required). */
      channels?: number;
      timing?: MusicalTiming;
      pacing?: Pacing;
      /** Initial output credit: frames with seq below this may be sent (realtime pacing). */
      credit?: number;
    }
  | { type: 'job.update'; job: number; params: GenerateParams }
  | { type: 'job.cancel'; job: number }
  | CreditMessage
  | { type: 'ack'; job: number; seq: number };

/**
 * Flow control, absolute so it can be re-sent after a reconnect: the receiver of this message
 * may send frames of `job` with sequence numbers below `limit`. Limits only grow.
 */
export interface CreditMessage {
  type: 'credit';
  job: number;
  limit: number;
}

export interface ResumedJob {
  job: number;
  /** Sequence of the next output frame the server sends (replayed frames first). */
  nextSeq: number;
  /** Sequence of the next input frame the server expects (denoise jobs). */
  inputNextSeq: number | null;
  state: 'queued' | 'running' | 'finished';
}

export interface JobAccepted {
  type: 'job.accepted';
  job: number;
  kind: JobKind;
  model: string;
  sampleRate: number;
  channels: number;
  /** 0 = running now; n = n jobs ahead of it in the queue. */
  position: number;
  /** Output frames of the whole job, when known in advance (generate). */
  totalFrames: number | null;
  /** Algorithmic latency of a denoise stream in frames: output frame i needs input up to i + latency. */
  latencyFrames: number;
  /** Initial input credit limit (denoise): the client may send input frames with seq below it. */
  inputCredit: number;
  /** Exact frames per bar when timing was given. */
  framesPerBar: number | null;
  pacing: Pacing;
}

export type ServerMessage =
  | {
      type: 'welcome';
      protocol: number;
      session: string;
      /** null for a new session; the state of every job asked about when resuming. */
      resumed: { jobs: ResumedJob[]; unknown: number[] } | null;
      server: { name: string; version: string };
      limits: ProtocolLimits;
    }
  | JobAccepted
  | {
      type: 'job.progress';
      job: number;
      state: JobState;
      position: number;
      window: number | null;
      windows: number | null;
      step: number | null;
      steps: number | null;
      framesSent: number;
      elapsedMs: number;
    }
  | { type: 'job.updated'; job: number; params: GenerateParams; effectiveFrame: number; bar: number | null }
  | {
      type: 'job.done';
      job: number;
      frames: number;
      chunks: number;
      elapsedMs: number;
      firstChunkMs: number | null;
    }
  | { type: 'job.cancelled'; job: number; frames: number; chunks: number; reason: string }
  | CreditMessage
  | { type: 'ack'; job: number; seq: number }
  | ErrorServerMessage;

/**
 * An error. With `job` and `terminal: true` the job has ended with it (no job.done follows);
 * `terminal: false` errors leave the job running (a refused job.update, a bad ack).
 */
export interface ErrorServerMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
  retryable: boolean;
  job?: number;
  /** The first bad field, for BAD_MESSAGE / BAD_FRAME. */
  field?: string;
  terminal: boolean;
}

export type ClientMessageType = ClientMessage['type'];
export type ServerMessageType = ServerMessage['type'];

/** Collects issues while reading an untrusted object. */
class Reader {
  readonly issues: FieldIssue[] = [];
  private readonly obj: Record<string, unknown>;
  private readonly prefix: string;

  constructor(obj: Record<string, unknown>, prefix: string, issues?: FieldIssue[]) {
    this.obj = obj;
    this.prefix = prefix;
    if (issues) this.issues = issues;
  }

  path(key: string): string {
    return this.prefix ? `${this.prefix}.${key}` : key;
  }

  fail(key: string, message: string): undefined {
    this.issues.push({ field: this.path(key), message });
    return undefined;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  only(keys: readonly string[]): void {
    for (const k of Object.keys(this.obj)) if (!keys.includes(k)) this.fail(k, 'unknown field');
  }

  int(key: string, min: number, max: number, required = false): number | undefined {
    const v = this.obj[key];
    if (v === undefined) return required ? this.fail(key, 'is required') : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      return this.fail(key, `must be an integer from ${min} to ${max}`);
    return v;
  }

  num(key: string, min: number, max: number, opts: { required?: boolean; minExclusive?: boolean } = {}) {
    const v = this.obj[key];
    if (v === undefined) return opts.required ? this.fail(key, 'is required') : undefined;
    const lowOk = typeof v === 'number' && (opts.minExclusive ? v > min : v >= min);
    if (typeof v !== 'number' || !Number.isFinite(v) || !lowOk || v > max)
      return this.fail(
        key,
        `must be a number ${opts.minExclusive ? 'above' : 'from'} ${min} ${opts.minExclusive ? 'up ' : ''}to ${max}`,
      );
    return v;
  }

  str(key: string, maxLength: number, required = false, pattern?: RegExp): string | undefined {
    const v = this.obj[key];
    if (v === undefined) return required ? this.fail(key, 'is required') : undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > maxLength)
      return this.fail(key, `must be a non-empty string of at most ${maxLength} characters`);
    if (pattern && !pattern.test(v)) return this.fail(key, `must match ${pattern.source}`);
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') return this.fail(key, 'must be true or false');
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[], required = false): T | undefined {
    const v = this.obj[key];
    if (v === undefined) return required ? this.fail(key, 'is required') : undefined;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
      return this.fail(key, `must be one of ${values.join(', ')}`);
    return v as T;
  }

  object(key: string, required = false): Reader | undefined {
    const v = this.obj[key];
    if (v === undefined) return required ? this.fail(key, 'is required') : undefined;
    if (!isPlainObject(v)) return this.fail(key, 'must be an object');
    return new Reader(v, this.path(key), this.issues);
  }

  raw(key: string): unknown {
    return this.obj[key];
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const MODEL_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const SESSION_TOKEN = /^[A-Za-z0-9_-]{16,128}$/;
const GENERATE_KEYS = [
  'className',
  'tags',
  'controls',
  'seconds',
  'bars',
  'steps',
  'sampler',
  'guidance',
  'seed',
  'loop',
] as const;
const DENOISE_KEYS = ['strength', 'steps', 'sampler', 'seed'] as const;

function readParams(
  r: Reader,
  key: string,
  kind: JobKind | undefined,
  required = false,
): JobParams | undefined {
  const p = r.object(key, required);
  if (!p) return undefined;
  const out: JobParams = {};
  const keys: readonly string[] = kind === 'denoise' ? DENOISE_KEYS : kind ? GENERATE_KEYS : GENERATE_KEYS;
  p.only(keys);
  const set = <K extends keyof JobParams>(k: K, v: JobParams[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('steps', p.int('steps', 1, 1000));
  set('sampler', p.str('sampler', 32));
  set('seed', p.int('seed', 0, 0xffff_ffff));
  if (kind === 'denoise') {
    set('strength', p.num('strength', 0, 1));
    return out;
  }
  set('className', p.str('className', 64));
  set('seconds', p.num('seconds', 0, 3600, { minExclusive: true }));
  set('bars', p.num('bars', 0, 1024, { minExclusive: true }));
  set('guidance', p.num('guidance', 0, 50));
  set('loop', p.bool('loop'));
  const tags = p.raw('tags');
  if (tags !== undefined) {
    if (
      !Array.isArray(tags) ||
      tags.length > 64 ||
      !tags.every((t) => typeof t === 'string' && t.length > 0 && t.length <= 64)
    )
      p.fail('tags', 'must be an array of at most 64 non-empty strings');
    else out.tags = [...(tags as string[])];
  }
  const controls = p.raw('controls');
  if (controls !== undefined) {
    const ok =
      isPlainObject(controls) &&
      Object.keys(controls).length <= 64 &&
      Object.entries(controls).every(
        ([k, v]) =>
          k.length > 0 &&
          k.length <= 64 &&
          ((typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length <= 64)),
      );
    if (!ok) p.fail('controls', 'must map at most 64 names to finite numbers or short strings');
    else out.controls = { ...(controls as Record<string, number | string>) };
  }
  return out;
}

function readTiming(r: Reader): MusicalTiming | undefined {
  const t = r.object('timing');
  if (!t) return undefined;
  t.only(['bpm', 'timeSignature', 'anchor']);
  const bpm = t.num('bpm', 0, 1000, { required: true, minExclusive: true });
  const anchor = t.num('anchor', 0, 1e9) ?? 0;
  const ts = t.raw('timeSignature');
  let sig: [number, number] | undefined = [4, 4];
  if (ts !== undefined) {
    const ok =
      Array.isArray(ts) &&
      ts.length === 2 &&
      Number.isInteger(ts[0]) &&
      ts[0] >= 1 &&
      ts[0] <= 64 &&
      [1, 2, 4, 8, 16, 32].includes(ts[1] as number);
    if (!ok) sig = t.fail('timeSignature', 'must be [beats 1–64, unit 1|2|4|8|16|32]');
    else sig = [ts[0] as number, ts[1] as number];
  }
  if (bpm === undefined || sig === undefined) return undefined;
  return { bpm, timeSignature: sig, anchor };
}

function parseJson(input: string | unknown): Record<string, unknown> {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      throw new ProtocolError('BAD_MESSAGE', 'text frame is not valid JSON', {
        issues: [{ field: '', message: 'not valid JSON' }],
      });
    }
  }
  if (!isPlainObject(value)) {
    throw new ProtocolError('BAD_MESSAGE', 'message must be a JSON object', {
      issues: [{ field: '', message: 'not an object' }],
    });
  }
  return value;
}

function finish<T>(r: Reader, type: string, value: T, job?: number): T {
  if (r.issues.length > 0) {
    const text = r.issues.map((i) => `${i.field}: ${i.message}`).join('; ');
    throw new ProtocolError('BAD_MESSAGE', `${type}: ${text}`, {
      issues: r.issues,
      ...(job !== undefined ? { job } : {}),
    });
  }
  return value;
}

export const CLIENT_MESSAGE_TYPES: readonly ClientMessageType[] = [
  'hello',
  'job.start',
  'job.update',
  'job.cancel',
  'credit',
  'ack',
];

/** Parses and validates a client → server message (a text frame or an already parsed value). */
export function parseClientMessage(input: string | unknown): ClientMessage {
  const obj = parseJson(input);
  const r = new Reader(obj, '');
  const type = r.oneOf('type', CLIENT_MESSAGE_TYPES, true);
  if (type === undefined) return finish(r, 'message', undefined as never);
  if (type === 'hello') {
    const protocol = r.int('protocol', 1, 65535, true);
    const client = r.str('client', 128);
    let resume: ResumeRequest | undefined;
    const rr = r.object('resume');
    if (rr) {
      rr.only(['session', 'jobs']);
      const session = rr.str('session', 128, true, SESSION_TOKEN);
      const jobs: ResumeRequest['jobs'] = [];
      const raw = rr.raw('jobs');
      if (raw !== undefined && (!Array.isArray(raw) || raw.length > 1024))
        rr.fail('jobs', 'must be an array of at most 1024 entries');
      else if (Array.isArray(raw)) {
        raw.forEach((e, i) => {
          if (!isPlainObject(e)) {
            rr.fail(`jobs[${i}]`, 'must be an object');
            return;
          }
          const jr = new Reader(e, rr.path(`jobs[${i}]`), r.issues);
          jr.only(['job', 'nextSeq']);
          const job = jr.int('job', 1, MAX_JOB_ID, true);
          const nextSeq = jr.int('nextSeq', 0, MAX_SEQ, true);
          if (job !== undefined && nextSeq !== undefined) jobs.push({ job, nextSeq });
        });
      }
      if (session !== undefined) resume = { session, jobs };
    }
    return finish(r, type, {
      type,
      protocol: protocol!,
      ...(client !== undefined ? { client } : {}),
      ...(resume ? { resume } : {}),
    });
  }
  const job = r.int('job', 1, MAX_JOB_ID, true);
  switch (type) {
    case 'job.start': {
      const kind = r.oneOf('kind', ['generate', 'jam', 'denoise'] as const, true);
      const model = r.str('model', 64, true, MODEL_ID);
      const params = readParams(r, 'params', kind);
      const sampleRate = r.int('sampleRate', MIN_RATE, MAX_RATE, kind === 'denoise');
      const channels = r.int('channels', 1, MAX_FRAME_CHANNELS, kind === 'denoise');
      const timing = readTiming(r);
      const pacing = r.oneOf('pacing', ['realtime', 'asap'] as const);
      const credit = r.int('credit', 1, 1_000_000);
      if (kind === 'jam' && pacing === 'asap') r.fail('pacing', "a jam never ends; it must be 'realtime'");
      if (params?.bars !== undefined && !timing && !r.issues.some((i) => i.field === 'timing'))
        r.fail('params.bars', 'needs timing (bpm, timeSignature)');
      return finish(
        r,
        type,
        {
          type,
          job: job!,
          kind: kind!,
          model: model!,
          ...(params ? { params } : {}),
          ...(sampleRate !== undefined ? { sampleRate } : {}),
          ...(channels !== undefined ? { channels } : {}),
          ...(timing ? { timing } : {}),
          ...(pacing ? { pacing } : {}),
          ...(credit !== undefined ? { credit } : {}),
        },
        job,
      );
    }
    case 'job.update': {
      const params = readParams(r, 'params', 'jam', true);
      return finish(r, type, { type, job: job!, params: params! }, job);
    }
    case 'job.cancel':
      return finish(r, type, { type, job: job! }, job);
    case 'credit': {
      const limit = r.int('limit', 0, MAX_SEQ + 1, true);
      return finish(r, type, { type, job: job!, limit: limit! }, job);
    }
    case 'ack': {
      const seq = r.int('seq', 0, MAX_SEQ, true);
      return finish(r, type, { type, job: job!, seq: seq! }, job);
    }
  }
}

export const SERVER_MESSAGE_TYPES: readonly ServerMessageType[] = [
  'welcome',
  'job.accepted',
  'job.progress',
  'job.updated',
  'job.done',
  'job.cancelled',
  'credit',
  'ack',
  'error',
];

/**
 * Parses a server → client message. Checks the fields a client relies on (type, job, counters,
 * error code); the rest is passed through as the server sent it.
 */
export function parseServerMessage(input: string | unknown): ServerMessage {
  const obj = parseJson(input);
  const r = new Reader(obj, '');
  const type = r.oneOf('type', SERVER_MESSAGE_TYPES, true);
  if (type === undefined) return finish(r, 'message', undefined as never);
  switch (type) {
    case 'welcome':
      r.int('protocol', 1, 65535, true);
      r.str('session', 128, true, SESSION_TOKEN);
      r.object('limits', true);
      if (obj['resumed'] !== null && !isPlainObject(obj['resumed']))
        r.fail('resumed', 'must be an object or null');
      break;
    case 'error':
      if (!isErrorCode(obj['code'])) r.fail('code', 'is not a known error code');
      r.str('message', 10_000, true);
      if (typeof obj['retryable'] !== 'boolean') r.fail('retryable', 'must be true or false');
      r.int('job', 1, MAX_JOB_ID);
      if (typeof obj['terminal'] !== 'boolean') r.fail('terminal', 'must be true or false');
      break;
    case 'credit':
      r.int('job', 1, MAX_JOB_ID, true);
      r.int('limit', 0, MAX_SEQ + 1, true);
      break;
    case 'ack':
      r.int('job', 1, MAX_JOB_ID, true);
      r.int('seq', 0, MAX_SEQ, true);
      break;
    case 'job.accepted':
      r.int('job', 1, MAX_JOB_ID, true);
      r.int('sampleRate', MIN_RATE, MAX_RATE, true);
      r.int('channels', 1, MAX_FRAME_CHANNELS, true);
      r.int('position', 0, Number.MAX_SAFE_INTEGER, true);
      r.int('latencyFrames', 0, Number.MAX_SAFE_INTEGER, true);
      break;
    case 'job.done':
    case 'job.cancelled':
      r.int('job', 1, MAX_JOB_ID, true);
      r.int('frames', 0, Number.MAX_SAFE_INTEGER, true);
      r.int('chunks', 0, Number.MAX_SAFE_INTEGER, true);
      break;
    default:
      r.int('job', 1, MAX_JOB_ID, true);
  }
  return finish(r, type, obj as unknown as ServerMessage);
}

/** The `error` message for an exception (ProtocolError keeps its code; anything else is INTERNAL). */
export function errorMessage(err: unknown, job?: number, terminal = false): ErrorServerMessage {
  if (err instanceof ProtocolError) {
    const j = err.job ?? job;
    return {
      type: 'error',
      code: err.code,
      message: err.message,
      retryable: err.retryable,
      ...(j !== undefined ? { job: j } : {}),
      ...(err.issues[0]?.field ? { field: err.issues[0].field } : {}),
      terminal: terminal && j !== undefined,
    };
  }
  return {
    type: 'error',
    code: 'INTERNAL',
    message: err instanceof Error ? err.message : String(err),
    retryable: true,
    ...(job !== undefined ? { job } : {}),
    terminal: terminal && job !== undefined,
  };
}

/** The ProtocolError an `error` message describes. */
export function errorFromMessage(msg: ErrorServerMessage): ProtocolError {
  return new ProtocolError(msg.code, msg.message, {
    retryable: msg.retryable,
    ...(msg.job !== undefined ? { job: msg.job } : {}),
    ...(msg.field !== undefined ? { issues: [{ field: msg.field, message: msg.message }] } : {}),
  });
}
