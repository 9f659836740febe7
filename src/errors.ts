/**
 * Errors with stable codes. Callers (CLI, server) branch on `code`, never on message text.
 * The CLI maps codes to exit codes; the server maps them to protocol error codes.
 */
export type SonodiffErrorCode =
  | 'ERR_INPUT_MISSING' // a file or folder that does not exist
  | 'ERR_INPUT_UNREADABLE' // exists but cannot be read (permissions, a directory where a file was expected)
  | 'ERR_BAD_AUDIO' // the bytes are not audio we can decode, or the header lies
  | 'ERR_UNSUPPORTED_AUDIO' // valid audio in a variant we do not handle
  | 'ERR_OUTPUT' // cannot write the output (unwritable folder, disk full, exists without --force)
  | 'ERR_MODEL' // a model pack is missing or invalid
  | 'ERR_DEVICE' // a requested compute or audio device cannot start
  | 'ERR_ABORTED' // cancelled through an AbortSignal
  | 'ERR_INTERNAL';

export class SonodiffError extends Error {
  readonly code: SonodiffErrorCode;
  /** The file (or other resource) the error is about, when there is one. */
  readonly path: string | undefined;

  constructor(code: SonodiffErrorCode, message: string, options: { path?: string; cause?: unknown } = {}) {
    super(options.path !== undefined ? `${options.path}: ${message}` : message, { cause: options.cause });
    this.name = 'SonodiffError';
    this.code = code;
    this.path = options.path;
  }
}

export function isSonodiffError(err: unknown): err is SonodiffError {
  return err instanceof SonodiffError;
}
