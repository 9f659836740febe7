import { randomInt } from 'node:crypto';
import path from 'node:path';
import type { Command } from 'commander';
import { toMono } from '../../audio/mix.ts';
import { readAudio } from '../../audio/read.ts';
import { resampleAudio } from '../../audio/resample.ts';
import type { PcmAudio } from '../../audio/types.ts';
import { WavStreamWriter } from '../../audio/wav-stream-writer.ts';
import type { WavMetadataInput } from '../../audio/wav-write.ts';
import { type ModelManifest, ModelRegistry } from '../../packs/index.ts';
import { type GenerateOptions, GeneratePipeline } from '../../pipelines/index.ts';
import type { ComputeDevice } from '../../runtime/index.ts';
import type { CliContext } from '../context.ts';
import { deviceOption, intOption, numberOption } from '../options.ts';
import { outputPath, resolveOutput, slug, writeWavToStdout } from '../output.ts';
import { ProgressBar } from '../progress.ts';

interface GenerateFlags {
  model?: string;
  prompt?: string;
  class?: string;
  seconds?: number;
  bars?: number;
  bpm?: number;
  key?: string;
  loop?: boolean;
  steps?: number;
  sampler?: string;
  guidance?: number;
  seed?: number;
  count: number;
  init?: string;
  strength?: number;
  device: ComputeDevice;
  output?: string;
  force?: boolean;
  json?: boolean;
  modelsDir?: string[];
}

const BEATS_PER_BAR = 4;

/** Reads `--prompt` words against the model's vocabulary: class names, tags and `120bpm`-style controls. */
export function parsePrompt(prompt: string, m: ModelManifest): { className?: string; tags: string[] } {
  const classes = m.conditioning?.classes ?? [];
  const vocab = m.conditioning?.tags ?? [];
  const digits = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  let className: string | undefined;
  const tags: string[] = [];
  const unknown: string[] = [];
  for (const raw of prompt
    .toLowerCase()
    .split(/[\s,;]+/)
    .filter(Boolean)) {
    const word = /^\d$/.test(raw) && classes.includes(digits[Number(raw)]!) ? digits[Number(raw)]! : raw;
    if (classes.includes(word)) {
      if (className !== undefined && className !== word) {
        throw new RangeError(
          `--prompt names two classes ("${className}" and "${word}"); this model takes one`,
        );
      }
      className = word;
    } else if (vocab.includes(word)) tags.push(word);
    else if (!['a', 'an', 'the', 'of', 'with', 'and', 'say', 'spoken', 'loop', 'please'].includes(word))
      unknown.push(word);
  }
  if (unknown.length > 0) {
    const known = [...classes, ...vocab].join(', ');
    throw new RangeError(
      `--prompt has words this model does not know: ${unknown.join(', ')} (it knows: ${known})`,
    );
  }
  return className !== undefined ? { className, tags } : { tags };
}

export function registerGenerate(program: Command, ctx: CliContext): void {
  program
    .command('generate')
    .description('generate audio with a model pack')
    .option('-m, --model <id>', 'model pack id (see `sonodiff models`)', 'digits')
    .option('-p, --prompt <text>', 'words from the model vocabulary (classes, tags)')
    .option('-c, --class <name>', 'class to generate (e.g. a digit name)')
    .option('-s, --seconds <s>', 'length in seconds', numberOption('--seconds', 0.01, 3600))
    .option('--bars <n>', 'length in bars of 4/4 at --bpm', intOption('--bars', 1, 64))
    .option('--bpm <b>', 'tempo in beats per minute', numberOption('--bpm', 20, 400))
    .option('--key <k>', 'musical key (for models that take one)')
    .option('--loop', 'make a seamless loop')
    .option('--steps <n>', 'diffusion steps (default: the model’s)', intOption('--steps', 1, 1000))
    .option('--sampler <name>', 'sampler (ddim, euler, heun, dpmpp_2m, unipc, …)')
    .option('-g, --guidance <g>', 'classifier-free guidance scale', numberOption('--guidance', 0, 50))
    .option(
      '--seed <n>',
      'noise seed (default: random, recorded in the file)',
      intOption('--seed', 0, 2 ** 31 - 1),
    )
    .option('-n, --count <n>', 'how many clips (seeds seed, seed+1, …)', intOption('--count', 1, 1000), 1)
    .option('--init <file>', 'start from this audio (variation)')
    .option('--strength <x>', 'with --init: how far to move from it (0–1)', numberOption('--strength', 0, 1))
    .option('-d, --device <d>', 'compute device: auto, cpu, cuda, webgpu', deviceOption, 'auto')
    .option('-o, --output <path>', 'output file, folder, or - for stdout')
    .option('-f, --force', 'overwrite existing files')
    .option('--json', 'print one JSON object describing the outputs on stdout')
    .option('--models-dir <dir...>', 'extra folders to search for model packs')
    .action(async (flags: GenerateFlags) => {
      if (flags.json && flags.output === '-')
        throw new RangeError('--json and -o - both want stdout; pick one');
      const registry = new ModelRegistry({
        dirs: (flags.modelsDir ?? []).map((d) => ctx.resolve(d)),
        env: ctx.io.env,
      });
      const pack = await registry.get(flags.model ?? 'digits');
      const m = pack.manifest;
      const prompt = flags.prompt ? parsePrompt(flags.prompt, m) : { tags: [] as string[] };
      if (flags.class !== undefined && prompt.className !== undefined && flags.class !== prompt.className) {
        throw new RangeError(`--class ${flags.class} contradicts --prompt's "${prompt.className}"`);
      }
      const className = flags.class ?? prompt.className;
      if (
        flags.bars !== undefined &&
        flags.bpm === undefined &&
        m.conditioning?.controls?.['bpm'] === undefined
      ) {
        throw new RangeError('--bars needs --bpm');
      }
      if (flags.bars !== undefined && flags.seconds !== undefined)
        throw new RangeError('give --seconds or --bars, not both');
      const bpm = flags.bpm ?? numberDefault(m, 'bpm');
      const seconds =
        flags.bars !== undefined && bpm !== undefined
          ? (flags.bars * BEATS_PER_BAR * 60) / bpm
          : flags.seconds;
      const controls: Record<string, number | string> = {};
      if (bpm !== undefined && m.conditioning?.controls?.['bpm']) controls['bpm'] = bpm;
      if (flags.key !== undefined) {
        if (!m.conditioning?.controls?.['key']) throw new RangeError(`model ${m.id} takes no --key`);
        controls['key'] = flags.key;
      }
      if (flags.bars !== undefined && m.conditioning?.controls?.['bars']) controls['bars'] = flags.bars;
      if (flags.strength !== undefined && flags.init === undefined)
        throw new RangeError('--strength needs --init');

      const out = await resolveOutput(ctx, flags.output, flags.count, '.');
      const progress = new ProgressBar(ctx.io.stderr, 'loading', ctx.io.env);
      const pipeline = await GeneratePipeline.load(pack, ctx.runtime, { device: flags.device });
      let init: PcmAudio | undefined;
      if (flags.init !== undefined) {
        const read = await readAudio(flags.init === '-' ? '-' : ctx.resolve(flags.init), {
          stdin: ctx.io.stdin as never,
        });
        init = resampleAudio(toMono(read.audio), m.sampleRate);
      }
      const baseSeed = flags.seed ?? randomInt(0, 2 ** 31 - 1);
      const results: Record<string, unknown>[] = [];
      const t0 = performance.now();
      try {
        for (let i = 0; i < flags.count; i++) {
          const seed = baseSeed + i;
          const opts: GenerateOptions = {
            seed,
            signal: ctx.signal,
            ...(className !== undefined ? { className } : {}),
            ...(prompt.tags.length ? { tags: prompt.tags } : {}),
            ...(Object.keys(controls).length ? { controls } : {}),
            ...(seconds !== undefined ? { seconds } : {}),
            ...(flags.steps !== undefined ? { steps: flags.steps } : {}),
            ...(flags.sampler !== undefined ? { sampler: flags.sampler } : {}),
            ...(flags.guidance !== undefined ? { guidance: flags.guidance } : {}),
            ...(flags.loop ? { loop: true } : {}),
            ...(init ? { init, strength: flags.strength ?? m.defaults.strength ?? 0.6 } : {}),
          };
          const steps = flags.steps ?? m.defaults.steps;
          const sampler = flags.sampler ?? m.defaults.sampler;
          const what = [className, ...prompt.tags].filter(Boolean).join('-') || m.id;
          const bars =
            flags.bars ??
            (bpm !== undefined && seconds !== undefined ? (seconds * bpm) / 60 / BEATS_PER_BAR : undefined);
          const name = [
            slug(what),
            ...(flags.loop && bpm !== undefined ? [`${Math.round(bpm)}bpm`] : []),
            ...(flags.loop && bars !== undefined ? [`${Number(bars.toFixed(2))}bars`] : []),
            `s${seed}`,
          ].join('_');
          const file = outputPath(out, `${name}.wav`);
          const metadata: WavMetadataInput = {
            title: name,
            software: 'sonodiff',
            comment: JSON.stringify({
              model: `${m.id}@${m.version}`,
              prompt: flags.prompt ?? className ?? null,
              seed,
              sampler,
              steps,
              guidance: flags.guidance ?? m.defaults.guidance ?? 1,
              ...(flags.init ? { init: path.basename(flags.init), strength: opts.strength } : {}),
            }),
          };
          const writer = file
            ? await WavStreamWriter.open(file, {
                sampleRate: m.sampleRate,
                channels: 1,
                encoding: 'float32',
                force: flags.force ?? false,
              })
            : undefined;
          const collected: Float32Array[] = [];
          let frames = 0;
          const label = flags.count > 1 ? `clip ${i + 1}/${flags.count}` : 'generating';
          try {
            for await (const chunk of pipeline.generate({
              ...opts,
              onEvent: (e) => {
                if (e.type === 'step') progress.update(e.step, e.steps, `${label} step ${e.step}/${e.steps}`);
              },
            })) {
              frames += chunk.channels[0]!.length;
              if (writer) await writer.write(chunk.channels);
              else collected.push(chunk.channels[0]!);
            }
            if (flags.loop) {
              metadata.loops = [{ start: 0, end: frames }];
              if (bpm !== undefined && bars !== undefined) {
                metadata.acid = {
                  tempo: bpm,
                  beats: Math.round(bars * BEATS_PER_BAR),
                  meter: [4, 4],
                  stretch: true,
                };
                metadata.cuePoints = Array.from({ length: Math.max(1, Math.floor(bars)) }, (_, b) => ({
                  frame: Math.round((b * BEATS_PER_BAR * 60 * m.sampleRate) / bpm),
                  label: `bar ${b + 1}`,
                }));
              }
            }
            if (writer) await writer.close(metadata);
            else {
              const audio = { sampleRate: m.sampleRate, channels: [concatAll(collected, frames)] };
              await writeWavToStdout(ctx, audio, { encoding: 'float32', metadata });
            }
          } catch (err) {
            await writer?.abort();
            throw err;
          }
          results.push({
            path: file ?? '-',
            seed,
            seconds: frames / m.sampleRate,
            ...(className !== undefined ? { class: className } : {}),
            ...(prompt.tags.length ? { tags: prompt.tags } : {}),
            ...(bpm !== undefined && m.conditioning?.controls?.['bpm'] ? { bpm } : {}),
          });
          if (file && !flags.json) ctx.log(`wrote ${path.relative(ctx.io.cwd, file) || file}`);
        }
      } finally {
        progress.done();
        await pipeline.dispose();
      }
      const elapsed = (performance.now() - t0) / 1000;
      const audioSeconds = results.reduce((a, r) => a + (r['seconds'] as number), 0);
      if (flags.json) {
        ctx.json({
          model: m.id,
          version: m.version,
          device: pipeline.device,
          sampler: flags.sampler ?? m.defaults.sampler,
          steps: flags.steps ?? m.defaults.steps,
          outputs: results,
          elapsedSeconds: Number(elapsed.toFixed(3)),
          realTimeFactor: Number((audioSeconds / elapsed).toFixed(3)),
        });
      }
    });
}

function numberDefault(m: ModelManifest, name: string): number | undefined {
  const spec = m.conditioning?.controls?.[name];
  return spec && spec.type !== 'enum' && typeof spec.default === 'number' ? spec.default : undefined;
}

function concatAll(parts: Float32Array[], total: number): Float32Array {
  const out = new Float32Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
