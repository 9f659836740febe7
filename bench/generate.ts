/**
 * Generation speed: sonodiff (TypeScript sampler + ONNX Runtime in a worker) against the same
 * weights and sampler in PyTorch eager mode (training/parity/time_reference.py), measured in the
 * same run on the same machine and thread count. The peer needs Debian's python3-torch and the
 * training checkpoint (training/runs/, not in git); without them its column is empty and says why.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { GeneratePipeline, ModelRegistry, Runtime, representationFor } from '../src/index.ts';
import type { BenchOptions, BenchResult } from './types.ts';

const root = path.resolve(import.meta.dirname, '..');

function torchPeer(steps: number, sampler: string, guidance: number): { seconds?: number; why?: string } {
  try {
    const out = execFileSync(
      '/usr/bin/python3',
      [
        '-m',
        'training.parity.time_reference',
        'digits',
        '--steps',
        String(steps),
        '--sampler',
        sampler,
        '--guidance',
        String(guidance),
        '--repeats',
        '1',
        '--threads',
        String(os.availableParallelism()),
      ],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 },
    );
    return {
      seconds: (JSON.parse(out.trim().split('\n').at(-1)!) as { medianSeconds: number }).medianSeconds,
    };
  } catch (err) {
    const msg = (err as { stderr?: string }).stderr ?? String(err);
    return { why: msg.trim().split('\n').at(-1)?.slice(0, 120) ?? 'failed' };
  }
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const registry = new ModelRegistry({ env: {} });
  let pack: Awaited<ReturnType<ModelRegistry['get']>>;
  try {
    pack = await registry.get('digits');
  } catch {
    return {
      title: 'Generation: sonodiff vs PyTorch eager',
      rows: [],
      notes: ['The digits model is not installed.'],
    };
  }
  const runtime = new Runtime();
  const gen = await GeneratePipeline.load(pack, runtime, { device: 'cpu' });
  const guidance = pack.manifest.defaults.guidance ?? 1;
  // Decoding (mel inversion + Griffin-Lim) timed on its own, so sampling can be compared like for like.
  const rep = representationFor(pack.manifest);
  const W = pack.manifest.io.windowLength;
  const probe = new Float32Array(rep.rows * W).map((_, i) => Math.sin(i * 0.37) * 0.5 - 0.4);
  const decodeTimes: number[] = [];
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now();
    rep.decode(probe, W, rep.samples(W), 0);
    if (r > 0) decodeTimes.push((performance.now() - t0) / 1000);
  }
  decodeTimes.sort((a, b) => a - b);
  const decodeS = decodeTimes[decodeTimes.length >> 1]!;
  const rows: BenchResult['rows'] = [];
  const notes: string[] = [];
  const configs = opts.quick
    ? [['dpmpp_2m', 4]]
    : [
        ['euler', 10],
        ['dpmpp_2m', 10],
        ['dpmpp_2m', 25],
      ];
  for (const [sampler, steps] of configs as [string, number][]) {
    const times: number[] = [];
    let first = 0;
    let audioSeconds = 0;
    for (let r = 0; r < (opts.quick ? 1 : 4); r++) {
      const before = gen.modelStats();
      const t0 = performance.now();
      let firstChunk = -1;
      let frames = 0;
      for await (const c of gen.generate({ className: 'seven', seed: r, steps, sampler })) {
        if (firstChunk < 0) firstChunk = performance.now() - t0;
        frames += c.channels[0]!.length;
      }
      const wall = (performance.now() - t0) / 1000;
      const model = (gen.modelStats().totalMs - before.totalMs) / 1000;
      if (r > 0 || opts.quick) times.push(wall);
      if (r === 1 || opts.quick) {
        first = firstChunk;
        audioSeconds = frames / pack.manifest.sampleRate;
        notes.push(
          `${sampler} ${steps} steps: ${(100 * (1 - model / wall)).toFixed(1)} % of wall time outside model calls (sampler + Griffin-Lim decode).`,
        );
      }
    }
    times.sort((a, b) => a - b);
    const ours = times[times.length >> 1]!;
    const peer = opts.quick ? { why: 'skipped in quick mode' } : torchPeer(steps, sampler, guidance);
    rows.push({
      model: 'digits',
      sampler,
      steps,
      'sonodiff s': Number(ours.toFixed(3)),
      'sonodiff × real time': Number((audioSeconds / ours).toFixed(2)),
      'first chunk ms': Math.round(first),
      'sonodiff sampling s': Number((ours - decodeS).toFixed(3)),
      'PyTorch eager sampling s':
        peer.seconds !== undefined ? Number(peer.seconds.toFixed(3)) : (peer.why ?? ''),
      'sampling speed-up':
        peer.seconds !== undefined ? Number((peer.seconds / (ours - decodeS)).toFixed(2)) : '',
      'end-to-end speed-up': peer.seconds !== undefined ? Number((peer.seconds / ours).toFixed(2)) : '',
    });
  }
  await gen.dispose();
  await runtime.dispose();
  notes.unshift(
    `Both sides use classifier-free guidance ${guidance} (batched cond + uncond in one call) and ${os.availableParallelism()} threads. sonodiff's time includes decoding the mel spectrogram to audio (mel inversion + 32 Griffin-Lim iterations), which the PyTorch column does not: "sampling" subtracts the separately timed decode (${(decodeS * 1000).toFixed(0)} ms) for a like-for-like comparison; "end-to-end" keeps it.`,
  );
  return {
    title: 'Generation: sonodiff (ONNX Runtime) vs PyTorch eager, same weights and sampler',
    rows,
    notes,
  };
}
