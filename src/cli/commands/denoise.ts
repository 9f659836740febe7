import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { preferredWavEncoding, readAudio } from '../../audio/read.ts';
import { WavStreamWriter } from '../../audio/wav-stream-writer.ts';
import { SonodiffError } from '../../errors.ts';
import { ModelRegistry } from '../../packs/index.ts';
import { DenoisePipeline } from '../../pipelines/index.ts';
import type { ComputeDevice } from '../../runtime/index.ts';
import type { CliContext } from '../context.ts';
import { deviceOption, intOption, numberOption } from '../options.ts';
import { outputPath, resolveOutput, writeWavToStdout } from '../output.ts';
import { ProgressBar } from '../progress.ts';

interface DenoiseFlags {
  output?: string;
  model: string;
  strength?: number;
  steps?: number;
  sampler?: string;
  seed: number;
  device: ComputeDevice;
  force?: boolean;
  json?: boolean;
  modelsDir?: string[];
}

const AUDIO_EXT = new Set([
  '.wav',
  '.wave',
  '.flac',
  '.ogg',
  '.oga',
  '.mp3',
  '.aif',
  '.aiff',
  '.m4a',
  '.aac',
]);

/** Expands folders (one level, audio files only, sorted) and keeps files and '-' as given. */
async function expandInputs(ctx: CliContext, inputs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    if (input === '-') {
      out.push('-');
      continue;
    }
    const abs = ctx.resolve(input);
    const st = await stat(abs).catch(() => undefined);
    if (st?.isDirectory()) {
      const names = (await readdir(abs)).filter((n) => AUDIO_EXT.has(path.extname(n).toLowerCase())).sort();
      if (names.length === 0)
        throw new SonodiffError('ERR_INPUT_MISSING', 'folder holds no audio files', { path: input });
      out.push(...names.map((n) => path.join(abs, n)));
    } else if (st === undefined) {
      // Fail before loading any model: a typo should cost nothing.
      throw new SonodiffError('ERR_INPUT_MISSING', 'no such file', { path: input });
    } else out.push(abs);
  }
  return out;
}

export function registerDenoise(program: Command, ctx: CliContext): void {
  program
    .command('denoise')
    .description('remove noise from recordings (files, folders or - for stdin)')
    .argument('<inputs...>', 'audio files, folders of audio files, or - for stdin')
    .option(
      '-o, --output <path>',
      'output file, folder, or - for stdout (default: <name>.denoised.wav beside each input)',
    )
    .option('-m, --model <id>', 'denoise model pack', 'denoise')
    .option('--strength <x>', 'dry/wet: 1 = fully denoised, 0 = unchanged', numberOption('--strength', 0, 1))
    .option('--steps <n>', 'diffusion steps (default: the model’s)', intOption('--steps', 1, 200))
    .option('--sampler <name>', 'sampler (default: the model’s)')
    .option('--seed <n>', 'noise seed', intOption('--seed', 0, 2 ** 31 - 1), 0)
    .option('-d, --device <d>', 'compute device: auto, cpu, cuda, webgpu', deviceOption, 'auto')
    .option('-f, --force', 'overwrite existing files')
    .option('--json', 'print one JSON object describing the outputs on stdout')
    .option('--models-dir <dir...>', 'extra folders to search for model packs')
    .action(async (inputs: string[], flags: DenoiseFlags) => {
      if (flags.json && flags.output === '-')
        throw new RangeError('--json and -o - both want stdout; pick one');
      const files = await expandInputs(ctx, inputs);
      const out =
        flags.output === undefined ? undefined : await resolveOutput(ctx, flags.output, files.length, '.');
      const registry = new ModelRegistry({
        dirs: (flags.modelsDir ?? []).map((d) => ctx.resolve(d)),
        env: ctx.io.env,
      });
      const pack = await registry.get(flags.model);
      const pipeline = await DenoisePipeline.load(pack, ctx.runtime, { device: flags.device });
      const results: Record<string, unknown>[] = [];
      let firstError: unknown;
      const t0 = performance.now();
      try {
        for (const file of files) {
          const shown = file === '-' ? '-' : path.relative(ctx.io.cwd, file) || file;
          try {
            const read = await readAudio(file, { stdin: ctx.io.stdin as never });
            const stem = file === '-' ? 'stdin' : path.basename(file).replace(/\.[^.]+$/, '');
            const target =
              out === undefined
                ? path.join(file === '-' ? ctx.io.cwd : path.dirname(file), `${stem}.denoised.wav`)
                : outputPath(out, `${stem}.denoised.wav`);
            if (target !== undefined && target === file) {
              throw new SonodiffError('ERR_OUTPUT', 'output would replace the input', { path: shown });
            }
            const { audio } = read;
            const frames = audio.channels[0]?.length ?? 0;
            const encoding = preferredWavEncoding(read);
            const progress = new ProgressBar(ctx.io.stderr, path.basename(shown), ctx.io.env);
            const writer = target
              ? await WavStreamWriter.open(target, {
                  sampleRate: audio.sampleRate,
                  channels: audio.channels.length,
                  encoding,
                  force: flags.force ?? false,
                })
              : undefined;
            const collected: Float32Array[][] = [];
            const t1 = performance.now();
            let done = 0;
            try {
              for await (const chunk of pipeline.denoise(audio, {
                seed: flags.seed,
                signal: ctx.signal,
                ...(flags.strength !== undefined ? { strength: flags.strength } : {}),
                ...(flags.steps !== undefined ? { steps: flags.steps } : {}),
                ...(flags.sampler !== undefined ? { sampler: flags.sampler } : {}),
              })) {
                done += chunk.channels[0]!.length;
                progress.update(done, frames);
                if (writer) await writer.write(chunk.channels);
                else collected.push(chunk.channels);
              }
              const metadata = {
                software: 'sonodiff',
                comment: JSON.stringify({
                  model: `${pack.manifest.id}@${pack.manifest.version}`,
                  input: file === '-' ? '-' : path.basename(file),
                  strength: flags.strength ?? 1,
                  steps: flags.steps ?? pack.manifest.defaults.steps,
                  seed: flags.seed,
                }),
              };
              if (writer) await writer.close(metadata);
              else {
                const channels = audio.channels.map((_, c) => {
                  const buf = new Float32Array(frames);
                  let o = 0;
                  for (const ch of collected) {
                    buf.set(ch[c]!, o);
                    o += ch[c]!.length;
                  }
                  return buf;
                });
                await writeWavToStdout(
                  ctx,
                  { sampleRate: audio.sampleRate, channels },
                  { encoding, metadata },
                );
              }
            } catch (err) {
              await writer?.abort();
              throw err;
            } finally {
              progress.done();
            }
            const seconds = frames / audio.sampleRate;
            const elapsed = (performance.now() - t1) / 1000;
            results.push({
              input: file,
              output: target ?? '-',
              seconds,
              sampleRate: audio.sampleRate,
              channels: audio.channels.length,
              encoding,
              realTimeFactor: Number((seconds / elapsed).toFixed(2)),
            });
            if (target && !flags.json) ctx.log(`wrote ${path.relative(ctx.io.cwd, target) || target}`);
          } catch (err) {
            if (err instanceof SonodiffError && err.code === 'ERR_ABORTED') throw err;
            if (files.length === 1) throw err;
            // In a batch, one bad file is reported and the rest still run.
            firstError ??= err;
            ctx.log(`sonodiff: ${(err as Error).message}`);
            Object.assign(err as object, { reported: true });
            results.push({ input: file, error: (err as Error).message });
          }
        }
      } finally {
        await pipeline.dispose();
      }
      if (flags.json) {
        ctx.json({
          model: pack.manifest.id,
          device: pipeline.device,
          outputs: results,
          elapsedSeconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
        });
      }
      if (firstError !== undefined) throw firstError;
    });
}
