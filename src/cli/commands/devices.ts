import type { Command } from 'commander';
import { listOutputDevices } from '../../audio/playback.ts';
import type { CliContext } from '../context.ts';

export function registerDevices(program: Command, ctx: CliContext): void {
  program
    .command('devices')
    .description('list compute devices (CPU, CUDA, WebGPU) and audio outputs')
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: { json?: boolean }) => {
      const compute = await ctx.runtime.probeDevices();
      const audio = await listOutputDevices().catch((err: Error) => ({ error: err.message }));
      if (opts.json) {
        ctx.json({ compute, audio });
        return;
      }
      ctx.io.stdout.write('compute devices:\n');
      for (const p of compute) {
        ctx.io.stdout.write(
          `  ${p.device.padEnd(7)} ${p.available ? 'available' : 'unavailable'}  ${p.reason}\n`,
        );
      }
      ctx.io.stdout.write('audio outputs:\n');
      if ('error' in audio) ctx.io.stdout.write(`  none (${audio.error})\n`);
      else if (audio.length === 0)
        ctx.io.stdout.write('  none found (use --sink none for headless playback)\n');
      else for (const d of audio) ctx.io.stdout.write(`  ${d.id}  ${d.label}\n`);
    });
}
