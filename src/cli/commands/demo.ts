/**
 * The README's main job: runs the default models end to end on the shipped samples, plus the
 * audio core on its own, and reports measured figures. Models that are not installed are
 * skipped with a note, so the demo works on any checkout.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { integratedLoudness, normalizeLoudness } from '../../audio/loudness.ts';
import { toMono } from '../../audio/mix.ts';
import { readAudio } from '../../audio/read.ts';
import { resampleAudio } from '../../audio/resample.ts';
import type { PcmAudio } from '../../audio/types.ts';
import { type WavMetadataInput, writeWavFile } from '../../audio/wav-write.ts';
import { isSonodiffError } from '../../errors.ts';
import { estoi, siSdr, stoi } from '../../metrics/index.ts';
import { ModelRegistry } from '../../packs/index.ts';
import { DenoisePipeline, GeneratePipeline } from '../../pipelines/index.ts';
import type { ComputeDevice } from '../../runtime/index.ts';
import { griffinLim, melSpectrogram, spectrogramToPng, stftMagnitude } from '../../spectrogram/index.ts';
import type { CliContext } from '../context.ts';
import { deviceOption } from '../options.ts';

const samplesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'samples');

async function collectMono(it: AsyncIterable<{ channels: Float32Array[] }>): Promise<Float32Array[]> {
  const parts: Float32Array[][] = [];
  for await (const c of it) parts.push(c.channels);
  return parts[0]!.map((_, ch) => {
    const total = parts.reduce((a, p) => a + p[ch]!.length, 0);
    const out = new Float32Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p[ch]!, o);
      o += p[ch]!.length;
    }
    return out;
  });
}

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('run the default models and the audio core on the shipped samples (writes out/demo)')
    .option('-o, --output <dir>', 'folder for the results', 'out/demo')
    .option('-d, --device <d>', 'compute device: auto, cpu, cuda, webgpu', deviceOption, 'auto')
    .option('--json', 'print one JSON object with the figures on stdout')
    .action(async (flags: { output: string; device: ComputeDevice; json?: boolean }) => {
      const dir = ctx.resolve(flags.output);
      await mkdir(dir, { recursive: true });
      const report: Record<string, unknown> = { output: dir };
      const wrote = (f: string) => ctx.log(`  wrote ${path.relative(ctx.io.cwd, f)}`);
      const registry = new ModelRegistry({ env: ctx.io.env });
      // Each model step runs only when its pack is installed; a missing pack is noted, not fatal.
      const step = async (key: string, run: () => Promise<Record<string, unknown>>) => {
        try {
          report[key] = await run();
        } catch (err) {
          if (!isSonodiffError(err) || err.code !== 'ERR_MODEL') throw err;
          ctx.log(`  skipped: ${err.message}`);
          report[key] = { skipped: err.message };
        }
      };
      const writeGenerated = async (
        file: string,
        sampleRate: number,
        audio: Float32Array,
        metadata: WavMetadataInput,
      ) => {
        await writeWavFile(
          file,
          { sampleRate, channels: [audio] },
          { encoding: 'float32', force: true, metadata: { software: 'sonodiff', ...metadata } },
        );
        wrote(file);
      };

      // 1. Generation: a spoken digit from the digits model.
      ctx.log('1. generate: the digit "seven" with the digits model');
      await step('generate', async () => {
        const pack = await registry.get('digits');
        const gen = await GeneratePipeline.load(pack, ctx.runtime, { device: flags.device });
        const t0 = performance.now();
        const [audio] = await collectMono(gen.generate({ className: 'seven', seed: 42, signal: ctx.signal }));
        const secs = (performance.now() - t0) / 1000;
        await writeGenerated(path.join(dir, 'digit-seven_s42.wav'), pack.manifest.sampleRate, audio!, {
          comment: JSON.stringify({ model: 'digits', class: 'seven', seed: 42 }),
        });
        await gen.dispose();
        return {
          model: 'digits',
          device: gen.device,
          seconds: audio!.length / pack.manifest.sampleRate,
          elapsedSeconds: secs,
        };
      });

      // 1b. A seamless two-bar loop from the loops model, tagged for a DAW (tempo, loop points).
      ctx.log('1b. generate: a 2-bar 120 BPM A-minor loop (drums, bass) with the loops model');
      await step('loop', async () => {
        const pack = await registry.get('loops');
        const gen = await GeneratePipeline.load(pack, ctx.runtime, { device: flags.device });
        const bpm = 120;
        const bars = 2;
        const tags = ['drums', 'bass'];
        const t0 = performance.now();
        const [audio] = await collectMono(
          gen.generate({
            tags,
            controls: { bpm, key: 'A minor', bars },
            seconds: (bars * 4 * 60) / bpm,
            loop: true,
            seed: 7,
            signal: ctx.signal,
          }),
        );
        const secs = (performance.now() - t0) / 1000;
        const frames = audio!.length;
        await writeGenerated(
          path.join(dir, `loop_${bpm}bpm_a-minor_${bars}bars_s7.wav`),
          pack.manifest.sampleRate,
          audio!,
          {
            comment: JSON.stringify({ model: 'loops', tags, bpm, key: 'A minor', bars, seed: 7 }),
            loops: [{ start: 0, end: frames }],
            acid: { tempo: bpm, beats: bars * 4, meter: [4, 4], stretch: true },
          },
        );
        await gen.dispose();
        return {
          model: 'loops',
          device: gen.device,
          seconds: frames / pack.manifest.sampleRate,
          exactLength: frames === Math.round(((bars * 4 * 60) / bpm) * pack.manifest.sampleRate),
          seamJump: round(Math.abs(audio![frames - 1]! - audio![0]!), 4),
          elapsedSeconds: round(secs),
        };
      });

      // 2. Denoising: a noisy speech sample, scored against its clean original.
      ctx.log('2. denoise: samples/speech-16k-noisy-5db.wav with the denoise model');
      const clean = (await readAudio(path.join(samplesDir, 'speech-16k.wav'))).audio.channels[0]!;
      const noisyRead = await readAudio(path.join(samplesDir, 'speech-16k-noisy-5db.wav'));
      const noisy = noisyRead.audio.channels[0]!;
      await step('denoise', async () => {
        const pack = await registry.get('denoise');
        const den = await DenoisePipeline.load(pack, ctx.runtime, { device: flags.device });
        const t0 = performance.now();
        const [out] = await collectMono(den.denoise(noisyRead.audio, { signal: ctx.signal }));
        const secs = (performance.now() - t0) / 1000;
        const file = path.join(dir, 'speech-denoised.wav');
        await writeWavFile(file, { sampleRate: 16000, channels: [out!] }, { encoding: 'pcm16', force: true });
        wrote(file);
        await den.dispose();
        return {
          model: 'denoise',
          device: den.device,
          siSdrIn: round(siSdr(clean, noisy)),
          siSdrOut: round(siSdr(clean, out!)),
          estoiIn: round(estoi(clean, noisy, 16000), 3),
          estoiOut: round(estoi(clean, out!, 16000), 3),
          realTimeFactor: round(noisy.length / 16000 / secs, 1),
        };
      });

      // 3. The audio core: spectrograms, Griffin-Lim from magnitude alone, loudness and resampling.
      ctx.log('3. analyse: spectrograms, Griffin-Lim reconstruction, loudness, resampling');
      const stftOpts = { nFft: 512, hopLength: 128, winLength: 512 };
      const mag = stftMagnitude(clean, stftOpts, 1);
      await writeFile(
        path.join(dir, 'speech-spectrogram.png'),
        spectrogramToPng(mag, { scale: 'amplitude', topDb: 80 }),
      );
      const mel = melSpectrogram(clean, { ...stftOpts, sampleRate: 16000, nMels: 80, power: 2 });
      await writeFile(path.join(dir, 'speech-mel.png'), spectrogramToPng(mel, { scale: 'power', topDb: 80 }));
      wrote(path.join(dir, 'speech-spectrogram.png'));
      const gl = griffinLim(mag, { ...stftOpts, iterations: 32, momentum: 0.99, length: clean.length });
      const glFile = path.join(dir, 'speech-griffinlim.wav');
      await writeWavFile(
        glFile,
        { sampleRate: 16000, channels: [gl.signal] },
        { encoding: 'pcm16', force: true },
      );
      wrote(glFile);
      report['griffinLim'] = {
        iterations: 32,
        spectralConvergence: round(gl.spectralConvergence.at(-1)!, 4),
        stoi: round(stoi(clean, gl.signal, 16000), 3),
        estoi: round(estoi(clean, gl.signal, 16000), 3),
      };
      const loop = (await readAudio(path.join(samplesDir, 'drum-loop-amen.flac'))).audio;
      const lufsIn = integratedLoudness(loop);
      const normalised = normalizeLoudness(resampleAudio(loop, 48000), -16);
      const loopAudio: PcmAudio = normalised.audio;
      const frames = loopAudio.channels[0]!.length;
      const bpm = (4 * 60 * 48000) / frames; // the sample is exactly one bar of 4/4
      const loopFile = path.join(dir, `amen_${Math.round(bpm)}bpm_1bars.wav`);
      await writeWavFile(loopFile, loopAudio, {
        encoding: 'pcm24',
        force: true,
        metadata: {
          title: 'amen break, one bar',
          software: 'sonodiff',
          loops: [{ start: 0, end: frames }],
          acid: { tempo: bpm, beats: 4, meter: [4, 4], stretch: true },
          cuePoints: [{ frame: 0, label: 'bar 1' }],
        },
      });
      wrote(loopFile);
      report['loudness'] = {
        inputLufs: round(lufsIn, 2),
        outputLufs: round(integratedLoudness(loopAudio), 2),
        resampledTo: 48000,
        bpm: round(bpm, 2),
      };
      report['monoMixRms'] = round(rms(toMono(loop).channels[0]!), 4);
      if (flags.json) ctx.json(report);
      else ctx.log(JSON.stringify(report, null, 2));
    });
}

function round(x: number, digits = 2): number {
  return Number(x.toFixed(digits));
}

function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}
