import { randomInt } from 'node:crypto';
import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { joinSamples } from '../../audio/join.ts';
import { toMono } from '../../audio/mix.ts';
import { readAudio } from '../../audio/read.ts';
import { resampleAudio } from '../../audio/resample.ts';
import type { PcmAudio } from '../../audio/types.ts';
import { WavStreamWriter } from '../../audio/wav-stream-writer.ts';
import type { WavMetadataInput } from '../../audio/wav-write.ts';
import { type ModelManifest, ModelRegistry } from '../../packs/index.ts';
import {
  BEATS_PER_BAR,
  conditionFor,
  DECODER_NAMES,
  type DecoderName,
  type GenerateOptions,
  GeneratePipeline,
  resolveDecoder,
} from '../../pipelines/index.ts';
import type { ComputeDevice } from '../../runtime/index.ts';
import type { CliContext } from '../context.ts';
import { deviceOption, intOption, numberOption } from '../options.ts';
import { outputPath, resolveOutput, slug, writeWavToStdout } from '../output.ts';
import { ProgressBar } from '../progress.ts';

interface GenerateFlags {
  model?: string;
  prompt?: string;
  class?: string;
  tags?: string[];
  seconds?: number;
  bars?: number;
  bpm?: number;
  key?: string;
  loop?: boolean;
  decoder?: DecoderName;
  limit: boolean;
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
    .option('-t, --tags <list>', 'comma-separated tags from the model vocabulary (e.g. drums,bass)', tagList)
    .option('--loop', 'make a seamless loop (default for loop models)')
    .option('--no-loop', 'make a one-shot clip even with a loop model')
    .option(
      '--no-limit',
      "keep the decoder's raw level (peaks may pass full scale; default: clips scaled to a -1 dBFS peak, long streams soft-limited)",
    )
    .option(
      '--decoder <name>',
      'mel decoder: vocoder (default when the model has one) or griffinlim',
      decoderOption,
    )
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
      const tags = [...new Set([...prompt.tags, ...(flags.tags ?? [])])];
      const unknownTags = tags.filter((t) => !(m.conditioning?.tags ?? []).includes(t));
      if (unknownTags.length > 0) {
        throw new RangeError(
          `unknown tag${unknownTags.length > 1 ? 's' : ''} ${unknownTags.map((t) => `"${t}"`).join(', ')} for model ${m.id} (it knows: ${(m.conditioning?.tags ?? []).join(', ') || 'no tags'})`,
        );
      }
      const specs = m.conditioning?.controls ?? {};
      const loop = flags.loop ?? m.defaults.loop ?? false;
      const bpm = flags.bpm ?? numberDefault(m, 'bpm');
      if (flags.bars !== undefined && bpm === undefined) throw new RangeError('--bars needs --bpm');
      if (flags.bars !== undefined && flags.seconds !== undefined)
        throw new RangeError('give --seconds or --bars, not both');
      if (loop && specs['bars'] && flags.seconds !== undefined) {
        throw new RangeError(
          `model ${m.id} makes loops a whole number of bars long: give --bars, not --seconds`,
        );
      }
      // A model with a bars control measures its length in bars (its default when not given).
      const bars =
        flags.bars ?? (specs['bars'] && flags.seconds === undefined ? numberDefault(m, 'bars') : undefined);
      const seconds =
        bars !== undefined && bpm !== undefined ? (bars * BEATS_PER_BAR * 60) / bpm : flags.seconds;
      const controls: Record<string, number | string> = {};
      if (bpm !== undefined && specs['bpm']) controls['bpm'] = bpm;
      let key: string | undefined;
      if (flags.key !== undefined) {
        const spec = specs['key'];
        if (spec?.type !== 'enum') throw new RangeError(`model ${m.id} takes no --key`);
        key = matchKey(flags.key, spec.values);
        if (key === undefined) {
          throw new RangeError(
            `unknown key "${flags.key}" for model ${m.id} (it knows: ${spec.values.join(', ')})`,
          );
        }
        controls['key'] = key;
      }
      if (bars !== undefined && specs['bars']) controls['bars'] = bars;
      if (flags.strength !== undefined && flags.init === undefined)
        throw new RangeError('--strength needs --init');
      // Every conditioning value is checked before the model loads or a file is opened.
      conditionFor(m, { ...(className !== undefined ? { className } : {}), tags, controls });
      const decoder = resolveDecoder(m, m.io.vocoder !== undefined, flags.decoder);

      const out = await resolveOutput(ctx, flags.output, flags.count, '.');
      let init: PcmAudio | undefined;
      if (flags.init !== undefined) {
        const read = await readAudio(flags.init === '-' ? '-' : ctx.resolve(flags.init), {
          stdin: ctx.io.stdin as never,
        });
        init = resampleAudio(toMono(read.audio), m.sampleRate);
      }
      const progress = new ProgressBar(ctx.io.stderr, 'loading', ctx.io.env);
      const pipeline = await GeneratePipeline.load(pack, ctx.runtime, { device: flags.device });
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
            ...(tags.length ? { tags } : {}),
            ...(Object.keys(controls).length ? { controls } : {}),
            ...(seconds !== undefined ? { seconds } : {}),
            ...(flags.steps !== undefined ? { steps: flags.steps } : {}),
            ...(flags.sampler !== undefined ? { sampler: flags.sampler } : {}),
            ...(flags.guidance !== undefined ? { guidance: flags.guidance } : {}),
            loop,
            limit: flags.limit,
            ...(flags.decoder !== undefined ? { decoder: flags.decoder } : {}),
            ...(init ? { init, strength: flags.strength ?? m.defaults.strength ?? 0.6 } : {}),
          };
          const steps = flags.steps ?? m.defaults.steps;
          const sampler = flags.sampler ?? m.defaults.sampler;
          const what = [className, ...tags].filter(Boolean).join('-') || m.id;
          const loopBars =
            bars ??
            (bpm !== undefined && seconds !== undefined ? (seconds * bpm) / 60 / BEATS_PER_BAR : undefined);
          const name = [
            slug(what),
            // '#' would vanish from the slug and make A# minor collide with A minor.
            ...(loop && key !== undefined && key !== 'any' ? [slug(key.replace(/#|♯/g, 'sharp'))] : []),
            ...(loop && bpm !== undefined ? [`${Number(bpm.toFixed(2))}bpm`] : []),
            ...(loop && loopBars !== undefined ? [`${Number(loopBars.toFixed(2))}bars`] : []),
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
              ...(tags.length ? { tags } : {}),
              ...(Object.keys(controls).length ? { controls } : {}),
              ...(loop ? { loop: true } : {}),
              ...(decoder !== undefined ? { decoder } : {}),
              ...(flags.limit ? {} : { limit: false }),
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
            if (loop) {
              metadata.loops = [{ start: 0, end: frames }];
              if (bpm !== undefined && loopBars !== undefined) {
                const root = key !== undefined ? keyPitchClass(key) : undefined;
                metadata.acid = {
                  tempo: bpm,
                  beats: Math.round(loopBars * BEATS_PER_BAR),
                  meter: [4, 4],
                  stretch: true,
                  ...(root !== undefined ? { rootNote: 60 + root } : {}),
                };
                metadata.cuePoints = Array.from({ length: Math.max(1, Math.floor(loopBars)) }, (_, b) => ({
                  frame: Math.round((b * BEATS_PER_BAR * 60 * m.sampleRate) / bpm),
                  label: `bar ${b + 1}`,
                }));
              }
            }
            if (writer) await writer.close(metadata);
            else {
              const audio = { sampleRate: m.sampleRate, channels: [joinSamples(collected)] };
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
            ...(tags.length ? { tags } : {}),
            ...(bpm !== undefined && specs['bpm'] ? { bpm } : {}),
            ...(key !== undefined ? { key } : {}),
            ...(loop && loopBars !== undefined ? { bars: loopBars } : {}),
            ...(loop ? { loop: true } : {}),
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
          ...(decoder !== undefined ? { decoder } : {}),
          outputs: results,
          elapsedSeconds: Number(elapsed.toFixed(3)),
          realTimeFactor: Number((audioSeconds / elapsed).toFixed(3)),
        });
      }
    });
}

function tagList(value: string, previous: string[] | undefined): string[] {
  const tags = value
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  if (tags.length === 0) throw new InvalidArgumentError('--tags needs at least one tag.');
  return [...(previous ?? []), ...tags];
}

function decoderOption(value: string): DecoderName {
  if (!DECODER_NAMES.includes(value as DecoderName)) {
    throw new InvalidArgumentError(`must be one of ${DECODER_NAMES.join(', ')}.`);
  }
  return value as DecoderName;
}

const PITCH_CLASS: Record<string, number> = { c: 0, d: 2, e: 4, f: 5, g: 7, a: 9, b: 11 };

/** Pitch class (0 = C) and mode of a key name: "A minor", "a min", "Am", "Bb major", "F#", "C♯m". */
function parseKey(name: string): { pc: number; minor: boolean } | undefined {
  const k = /^\s*([a-g])\s*(#|♯|b|♭)?\s*(major|maj|minor|min|m)?\s*$/i.exec(name);
  if (!k) return undefined;
  const accidental = k[2] === '#' || k[2] === '♯' ? 1 : k[2] === 'b' || k[2] === '♭' ? -1 : 0;
  const mode = k[3];
  // "m" (any case) is minor, as in chord names; major needs no suffix.
  const minor = mode !== undefined && /^(minor|min|m)$/i.test(mode) && !/^maj/i.test(mode);
  return { pc: (PITCH_CLASS[k[1]!.toLowerCase()]! + accidental + 12) % 12, minor };
}

/** The manifest value a user's key names: exact, then case-insensitive, then by pitch and mode (enharmonics). */
export function matchKey(input: string, values: readonly string[]): string | undefined {
  const exact =
    values.find((v) => v === input) ?? values.find((v) => v.toLowerCase() === input.trim().toLowerCase());
  if (exact !== undefined) return exact;
  const want = parseKey(input);
  if (want === undefined) return undefined;
  return values.find((v) => {
    const k = parseKey(v);
    return k !== undefined && k.pc === want.pc && k.minor === want.minor;
  });
}

function keyPitchClass(key: string): number | undefined {
  return parseKey(key)?.pc;
}

function numberDefault(m: ModelManifest, name: string): number | undefined {
  const spec = m.conditioning?.controls?.[name];
  return spec && spec.type !== 'enum' && typeof spec.default === 'number' ? spec.default : undefined;
}
