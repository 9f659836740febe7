import type { Command } from 'commander';
import { playAudio } from '../../audio/playback.ts';
import { readAudio } from '../../audio/read.ts';
import type { CliContext } from '../context.ts';

export function registerPlay(program: Command, ctx: CliContext): void {
  program
    .command('play')
    .description('play an audio file (or - for stdin) to an output device')
    .argument('<file>', 'audio file, or - for stdin')
    .option(
      '--sink <id>',
      'output device id from `sonodiff devices`, or "none" to render silently in real time',
    )
    .action(async (file: string, flags: { sink?: string }) => {
      const read = await readAudio(file === '-' ? '-' : ctx.resolve(file), { stdin: ctx.io.stdin as never });
      const sinkId = flags.sink === 'none' ? { type: 'none' as const } : flags.sink;
      const res = await playAudio(read.audio, {
        signal: ctx.signal,
        ...(sinkId !== undefined ? { sinkId } : {}),
      });
      ctx.log(`played ${res.seconds.toFixed(2)} s at ${res.contextSampleRate} Hz`);
    });
}
