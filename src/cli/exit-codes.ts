import type { SonodiffErrorCode } from '../errors.ts';

/** Exit codes (sysexits.h where one fits), listed in `sonodiff --help`. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  dataError: 65,
  noInput: 66,
  unavailable: 69,
  cantCreate: 73,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function exitCodeFor(code: SonodiffErrorCode): ExitCode {
  switch (code) {
    case 'ERR_INPUT_MISSING':
    case 'ERR_INPUT_UNREADABLE':
      return EXIT.noInput;
    case 'ERR_BAD_AUDIO':
    case 'ERR_UNSUPPORTED_AUDIO':
      return EXIT.dataError;
    case 'ERR_OUTPUT':
      return EXIT.cantCreate;
    case 'ERR_MODEL':
    case 'ERR_DEVICE':
      return EXIT.unavailable;
    case 'ERR_ABORTED':
      return EXIT.interrupted;
    default:
      return EXIT.failure;
  }
}

export const EXIT_CODES_HELP = `
Exit codes:
  0    ok
  1    failure
  2    usage error
  65   bad input data (not audio, corrupt or unsupported file)
  66   input missing or unreadable
  69   model or device unavailable
  73   cannot create output (exists without --force, unwritable folder, disk full)
  130  interrupted`;
