/** Where outputs go: a file, a folder (names made up from the run), or stdout ('-'). */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { encodeWav, type PcmAudio, type WavEncodeOptions } from '../audio/index.ts';
import { SonodiffError } from '../errors.ts';
import type { CliContext } from './context.ts';

export type OutputTarget =
  | { kind: 'stdout' }
  | { kind: 'file'; path: string }
  | { kind: 'dir'; path: string };

/** Resolves `-o` for `count` outputs. A path ending in a separator, or an existing folder, is a folder. */
export async function resolveOutput(
  ctx: CliContext,
  o: string | undefined,
  count: number,
  defaultDir: string,
) {
  if (o === '-') {
    if (count > 1) throw new RangeError('-o - (stdout) takes exactly one output; use a folder for several');
    if (ctx.io.stdout.isTTY) {
      throw new RangeError('refusing to write audio to a terminal; redirect stdout or use -o FILE');
    }
    return { kind: 'stdout' } as OutputTarget;
  }
  if (o === undefined) return { kind: 'dir', path: ctx.resolve(defaultDir) } as OutputTarget;
  const abs = ctx.resolve(o);
  const st = await stat(abs).catch(() => undefined);
  if (st?.isDirectory() || o.endsWith('/') || o.endsWith(path.sep))
    return { kind: 'dir', path: abs } as OutputTarget;
  if (count > 1)
    throw new RangeError(`-o ${o} names one file, but there are ${count} outputs; give a folder`);
  return { kind: 'file', path: abs } as OutputTarget;
}

export function outputPath(target: OutputTarget, name: string): string | undefined {
  if (target.kind === 'stdout') return undefined;
  return target.kind === 'file' ? target.path : path.join(target.path, name);
}

/** Writes one WAV to stdout as a single buffer (stdout carries exactly this). */
export async function writeWavToStdout(
  ctx: CliContext,
  audio: PcmAudio,
  opts: WavEncodeOptions,
): Promise<number> {
  const bytes = encodeWav(audio, opts);
  await new Promise<void>((resolve, reject) => {
    ctx.io.stdout.write(bytes, (err) =>
      err ? reject(new SonodiffError('ERR_OUTPUT', `cannot write to stdout: ${err.message}`)) : resolve(),
    );
  });
  return bytes.length;
}

/** A file-name-safe slug. */
export function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'audio'
  );
}
