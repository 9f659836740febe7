/** Stable error codes of protocol v1. Clients branch on `code` and `retryable`, never on text. */

export const ERROR_CODES = [
  'BAD_MESSAGE', // text frame is not valid JSON or a field is wrong
  'BAD_FRAME', // binary frame header or length is wrong
  'UNSUPPORTED_VERSION', // hello asked for a protocol this server does not speak
  'NOT_READY', // a message other than hello before welcome
  'UNAUTHORIZED', // missing or wrong token (HTTP 401 on the upgrade)
  'FORBIDDEN_ORIGIN', // browser Origin not allowed (HTTP 403 on the upgrade)
  'UNKNOWN_MODEL', // no such model id, or it is of the wrong task for the job kind
  'MODEL_ERROR', // the model failed to load or run
  'BAD_PARAMS', // parameters the model rejects (unknown class, control out of range, …)
  'JOB_EXISTS', // job id already used in this session
  'UNKNOWN_JOB', // job id not known (or already finished) for this message
  'TOO_MANY_JOBS', // per-connection job limit reached
  'SERVER_BUSY', // global queue full
  'FLOW_CONTROL', // audio sent without credit, or a sequence/start-frame gap
  'RATE_LIMITED', // too many messages
  'RESUME_GAP', // resume asked for frames the replay buffer no longer holds
  'SESSION_EXPIRED', // resume asked for a session the server no longer has
  'SHUTTING_DOWN', // the server is stopping
  'INTERNAL', // a bug or an unexpected failure
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Whether retrying the same request later can succeed. */
export const RETRYABLE: Readonly<Record<ErrorCode, boolean>> = Object.freeze({
  BAD_MESSAGE: false,
  BAD_FRAME: false,
  UNSUPPORTED_VERSION: false,
  NOT_READY: false,
  UNAUTHORIZED: false,
  FORBIDDEN_ORIGIN: false,
  UNKNOWN_MODEL: false,
  MODEL_ERROR: false,
  BAD_PARAMS: false,
  JOB_EXISTS: false,
  UNKNOWN_JOB: false,
  TOO_MANY_JOBS: true,
  SERVER_BUSY: true,
  FLOW_CONTROL: false,
  RATE_LIMITED: true,
  RESUME_GAP: false,
  SESSION_EXPIRED: false,
  SHUTTING_DOWN: true,
  INTERNAL: true,
});

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === 'string' && (ERROR_CODES as readonly string[]).includes(x);
}

export interface FieldIssue {
  /** Dotted path of the bad field, e.g. `params.steps`. */
  field: string;
  message: string;
}

/** An error of the protocol: what an `error` message carries, as an exception. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** The job the error is about, when there is one. */
  readonly job: number | undefined;
  /** Every bad field, when the error is about a message's content. */
  readonly issues: FieldIssue[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { job?: number; issues?: FieldIssue[]; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ProtocolError';
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE[code];
    this.job = options.job;
    this.issues = options.issues ?? [];
  }
}
