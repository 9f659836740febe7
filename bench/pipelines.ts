/**
 * Pipelines end to end on this machine: real-time factor, time to first chunk, event-loop delay
 * while generating (model calls run in a worker thread), and the share of wall time spent
 * outside model calls (sampler, feature extraction, decoding). Uses the shipped models when
 * installed, else the tiny test fixtures (then the figures only show the harness works).
 */
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  type AudioChunk,
  DenoisePipeline,
  GeneratePipeline,
  type ModelPack,
  ModelRegistry,
  Runtime,
  readAudio,
} from '../src/index.ts';
import type { BenchOptions, BenchResult } from './types.ts';

const root = path.resolve(import.meta.dirname, '..');

interface Measured {
  firstChunkMs: number;
  totalMs: number;
  audioSeconds: number;
  loopP99Ms: number;
  loopMaxMs: number;
  modelMs: number;
  calls: number;
}

async function measure(
  run: () => AsyncIterable<AudioChunk>,
  stats: () => { calls: number; totalMs: number },
): Promise<Measured> {
  const before = stats();
  const h = monitorEventLoopDelay({ resolution: 1 });
  // A ticking timer keeps the loop sampled even while it would otherwise idle.
  const ticker = setInterval(() => {}, 2);
  h.enable();
  const t0 = performance.now();
  let first = -1;
  let frames = 0;
  let rate = 1;
  for await (const c of run()) {
    if (first < 0) first = performance.now() - t0;
    frames += c.channels[0]!.length;
    rate = c.sampleRate;
  }
  const totalMs = performance.now() - t0;
  h.disable();
  clearInterval(ticker);
  const after = stats();
  return {
    firstChunkMs: first,
    totalMs,
    audioSeconds: frames / rate,
    loopP99Ms: h.percentile(99) / 1e6,
    loopMaxMs: h.max / 1e6,
    modelMs: after.totalMs - before.totalMs,
    calls: after.calls - before.calls,
  };
}

function row(name: string, setting: string, m: Measured): Record<string, string | number> {
  return {
    pipeline: name,
    setting,
    'audio s': Number(m.audioSeconds.toFixed(2)),
    'wall s': Number((m.totalMs / 1000).toFixed(3)),
    '× real time': Number((m.audioSeconds / (m.totalMs / 1000)).toFixed(2)),
    'first chunk ms': Math.round(m.firstChunkMs),
    'model calls': m.calls,
    'outside model %': Number((100 * (1 - m.modelMs / m.totalMs)).toFixed(1)),
    'loop p99 ms': Number(m.loopP99Ms.toFixed(1)),
    'loop max ms': Number(m.loopMaxMs.toFixed(1)),
  };
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const registry = new ModelRegistry({ env: {} });
  const fixtures = new ModelRegistry({ dirs: [path.join(root, 'tests/fixtures/packs')], env: {} });
  const pick = async (id: string, fallback: string): Promise<[ModelPack, boolean]> => {
    try {
      return [await registry.get(id), true];
    } catch {
      return [await fixtures.get(fallback), false];
    }
  };
  const runtime = new Runtime();
  const rows: BenchResult['rows'] = [];
  const notes: string[] = [];
  try {
    const [gpack, gReal] = await pick('digits', 'tiny-mel-generate');
    const gen = await GeneratePipeline.load(gpack, runtime, { device: 'cpu' });
    const cls =
      gpack.manifest.conditioning?.classes?.[gpack.manifest.conditioning.classes.length > 7 ? 7 : 0];
    const steps = opts.quick ? 4 : gpack.manifest.defaults.steps;
    for (const sampler of opts.quick ? ['dpmpp_2m'] : ['euler', 'heun', 'dpmpp_2m']) {
      const m = await measure(
        () => gen.generate({ className: cls, seed: 1, steps, sampler, seconds: opts.quick ? undefined : 4 }),
        () => gen.modelStats(),
      );
      rows.push(row(`generate ${gpack.manifest.id}`, `${sampler}, ${steps} steps`, m));
    }
    await gen.dispose();
    const [dpack, dReal] = await pick('denoise', 'tiny-stft-denoise');
    const den = await DenoisePipeline.load(dpack, runtime, { device: 'cpu' });
    const speech = (await readAudio(path.join(root, 'samples/speech-16k-noisy-5db.wav'))).audio;
    const m = await measure(
      () => den.denoise(speech, { seed: 0 }),
      () => den.modelStats(),
    );
    rows.push(
      row(
        `denoise ${dpack.manifest.id}`,
        `${dpack.manifest.defaults.sampler}, ${dpack.manifest.defaults.steps} steps`,
        m,
      ),
    );
    await den.dispose();
    if (!gReal || !dReal)
      notes.push('Some shipped models were missing; tiny fixtures stood in (figures show the harness only).');
  } finally {
    await runtime.dispose();
  }
  notes.push(
    'CPU execution provider, 1 runtime worker (onnxruntime intra-op threads = cores), graph optimisation "all".',
    '"outside model %" is the share of wall time not spent waiting for model calls: sampler arithmetic, feature extraction, Griffin-Lim/iSTFT decoding and resampling.',
    '"loop p99/max" is the main thread event-loop delay measured during the run (model calls run in a worker thread).',
  );
  return { title: 'Pipelines: real-time factor, first chunk, event-loop delay', rows, notes };
}
