import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { preferredWavEncoding } from '../../audio/read.ts';
import { type AudioBlockStream, openAudioStream } from '../../audio/wav-stream-reader.ts';
import { WavStreamWriter } from '../../audio/wav-stream-writer.ts';
import {
  buildWavLayout,
  bytesPerSample,
  finishWavHeader,
  SamplePacker,
  type WavEncoding,
  type WavMetadataInput,
} from '../../audio/wav-write.ts';
import { SonodiffError } from '../../errors.ts';
import { ModelRegistry } from '../../packs/index.ts';
import { DENOISE_FILE_WINDOW_SECONDS, DenoisePipeline } from '../../pipelines/index.ts';
import type { ComputeDevice } from '../../runtime/index.ts';
import type { CliContext } from '../context.ts';
import { deviceOption, intOption, numberOption } from '../options.ts';
import { type OutputTarget, outputPath, resolveOutput, writeWavToStdout } from '../output.ts';
import { formatSeconds, ProgressBar } from '../progress.ts';

interface DenoiseFlags {
  output?: string;
  model: string;
  strength?: number;
  steps?: number;
  sampler?: string;
  seed: number;
  window: number;
  highBand: boolean;
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

/** Frames per block read from the input (the pipeline's own block size, so results match `denoise()`). */
const BLOCK_FRAMES = 16384;

/** Where denoised blocks go: a file (temp + rename), stdout as they come, or memory then stdout. */
interface Sink {
  write(channels: Float32Array[]): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

function writeStdout(ctx: CliContext, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    ctx.io.stdout.write(bytes, (err) =>
      err ? reject(new SonodiffError('ERR_OUTPUT', `cannot write to stdout: ${err.message}`)) : resolve(),
    );
  });
}

/**
 * Streams a WAV of a known length to stdout: exact header first, samples block by block, metadata
 * last; the bytes equal `encodeWav` of the whole audio.
 */
async function stdoutStreamSink(
  ctx: CliContext,
  sampleRate: number,
  channels: number,
  frames: number,
  encoding: WavEncoding,
  metadata: WavMetadataInput,
): Promise<Sink> {
  const layout = buildWavLayout(sampleRate, channels, encoding, metadata);
  const frameBytes = channels * bytesPerSample(encoding);
  const dataBytes = frames * frameBytes;
  const packer = new SamplePacker(encoding, channels, encoding === 'pcm16', 1);
  await writeStdout(ctx, finishWavHeader(layout, dataBytes));
  let written = 0;
  return {
    async write(block) {
      const n = block[0]!.length;
      const bytes = new Uint8Array(n * frameBytes);
      packer.pack(block, 0, n, bytes, 0);
      written += n;
      await writeStdout(ctx, bytes);
    },
    async close() {
      if (written !== frames) throw new SonodiffError('ERR_INTERNAL', `wrote ${written} of ${frames} frames`);
      await writeStdout(ctx, new Uint8Array([...(dataBytes & 1 ? [0] : []), ...layout.tail]));
    },
    async abort() {},
  };
}

/** For stdout when the length is not known up front: the header needs it, so collect first. */
function stdoutBufferSink(
  ctx: CliContext,
  sampleRate: number,
  channels: number,
  encoding: WavEncoding,
  metadata: WavMetadataInput,
): Sink {
  const blocks: Float32Array[][] = [];
  return {
    async write(block) {
      blocks.push(block);
    },
    async close() {
      const frames = blocks.reduce((a, b) => a + b[0]!.length, 0);
      const planar = Array.from({ length: channels }, (_, c) => {
        const buf = new Float32Array(frames);
        let o = 0;
        for (const b of blocks) {
          buf.set(b[c]!, o);
          o += b[c]!.length;
        }
        return buf;
      });
      blocks.length = 0;
      await writeWavToStdout(ctx, { sampleRate, channels: planar }, { encoding, metadata });
    },
    async abort() {
      blocks.length = 0;
    },
  };
}

/** Denoises one input to its output; returns the JSON record for it. */
async function denoiseOne(
  ctx: CliContext,
  pipeline: DenoisePipeline,
  flags: DenoiseFlags,
  file: string,
  shown: string,
  out: OutputTarget | undefined,
): Promise<Record<string, unknown>> {
  const manifest = pipeline.pack.manifest;
  // WAV is read block by block (memory bounded whatever the length); other formats are decoded whole.
  const input: AudioBlockStream = await openAudioStream(file, {
    stdin: ctx.io.stdin,
    blockFrames: BLOCK_FRAMES,
    signal: ctx.signal,
  });
  let sink: Sink | undefined;
  try {
    const stem = file === '-' ? 'stdin' : path.basename(file).replace(/\.[^.]+$/, '');
    const target =
      out === undefined
        ? path.join(file === '-' ? ctx.io.cwd : path.dirname(file), `${stem}.denoised.wav`)
        : outputPath(out, `${stem}.denoised.wav`);
    if (target !== undefined && target === file) {
      throw new SonodiffError('ERR_OUTPUT', 'output would replace the input', { path: shown });
    }
    const { sampleRate, channelCount } = input;
    const total = input.totalFrames;
    const encoding = preferredWavEncoding(input);
    const metadata: WavMetadataInput = {
      software: 'sonodiff',
      comment: JSON.stringify({
        model: `${manifest.id}@${manifest.version}`,
        input: file === '-' ? '-' : path.basename(file),
        strength: flags.strength ?? 1,
        steps: flags.steps ?? manifest.defaults.steps,
        seed: flags.seed,
        windowSeconds: flags.window,
        highBand: flags.highBand,
      }),
    };
    if (target !== undefined) {
      const writer = await WavStreamWriter.open(target, {
        sampleRate,
        channels: channelCount,
        encoding,
        force: flags.force ?? false,
      });
      sink = {
        write: (block) => writer.write(block),
        close: async () => {
          await writer.close(metadata);
        },
        abort: () => writer.abort(),
      };
    } else if (total !== undefined && input.totalFramesExact) {
      sink = await stdoutStreamSink(ctx, sampleRate, channelCount, total, encoding, metadata);
    } else {
      sink = stdoutBufferSink(ctx, sampleRate, channelCount, encoding, metadata);
    }

    const progress = new ProgressBar(ctx.io.stderr, path.basename(shown), ctx.io.env);
    const totalText = total !== undefined ? formatSeconds(total / sampleRate) : '?';
    const t1 = performance.now();
    let done = 0;
    try {
      for await (const chunk of pipeline.denoiseStream(input, sampleRate, channelCount, {
        seed: flags.seed,
        windowSeconds: flags.window,
        highBand: flags.highBand,
        signal: ctx.signal,
        ...(flags.strength !== undefined ? { strength: flags.strength } : {}),
        ...(flags.steps !== undefined ? { steps: flags.steps } : {}),
        ...(flags.sampler !== undefined ? { sampler: flags.sampler } : {}),
      })) {
        done += chunk.channels[0]!.length;
        // Percent and ETA need the length; a pipe that does not give one shows no bar.
        progress.update(done, total ?? 0, `${formatSeconds(done / sampleRate)}/${totalText}`);
        await sink.write(chunk.channels);
      }
      // The pipeline checks the signal between model calls only; a run without any still stops here.
      if (ctx.signal.aborted) throw new SonodiffError('ERR_ABORTED', 'interrupted', { path: shown });
      await sink.close();
    } finally {
      progress.done();
    }
    const seconds = done / sampleRate;
    const elapsed = (performance.now() - t1) / 1000;
    if (target && !flags.json) ctx.log(`wrote ${path.relative(ctx.io.cwd, target) || target}`);
    return {
      input: file,
      output: target ?? '-',
      seconds,
      sampleRate,
      channels: channelCount,
      encoding,
      realTimeFactor: Number((seconds / elapsed).toFixed(2)),
    };
  } catch (err) {
    await sink?.abort();
    throw err;
  } finally {
    await input.close();
  }
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
    .option(
      '--window <seconds>',
      'seconds the model sees at once: longer is cleaner, shorter uses less memory',
      numberOption('--window', 0.25, 60),
      DENOISE_FILE_WINDOW_SECONDS,
    )
    .option(
      '--no-high-band',
      'drop the band above the model’s (8 kHz for 16 kHz models) instead of passing it through gated',
    )
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
            results.push(await denoiseOne(ctx, pipeline, flags, file, shown, out));
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
