import { SonodiffError } from '../errors.ts';

/**
 * Maps a failure to open or read an input file onto the stable codes, one line naming the file.
 * Shared by the whole-file and streaming readers so both say the same thing about the same file.
 */
export function fileError(path: string, err: unknown): SonodiffError {
  if (err instanceof SonodiffError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new SonodiffError('ERR_INPUT_MISSING', 'no such file', { path, cause: err });
  }
  if (code === 'EISDIR')
    return new SonodiffError('ERR_INPUT_UNREADABLE', 'is a directory, not a file', { path, cause: err });
  if (code === 'EACCES' || code === 'EPERM') {
    return new SonodiffError('ERR_INPUT_UNREADABLE', 'permission denied', { path, cause: err });
  }
  return new SonodiffError('ERR_INPUT_UNREADABLE', `cannot read: ${(err as Error)?.message ?? String(err)}`, {
    path,
    cause: err,
  });
}
