/**
 * Generation speed of each shipped generate model (digits, loops; one fixed request each):
 * sonodiff (TypeScript sampler + ONNX Runtime in a worker) against the same weights and sampler in
 * PyTorch eager mode (training/parity/time_reference.py), measured in the same run on the same
 * machine and thread count, the two sides' runs alternating (bench/torch-peer.ts) so that both see
 * the same machine load. The peer needs Debian's python3-torch and python3-onnx: it reads the
 * weights back out of the pack's model.onnx, so both sides run the very same weights and no
 * training checkpoint is needed. Without them its column is empty and says why.
 *
 * Efficiency table: FLOPs per model call counted from the ONNX graph (bench/onnx-flops.ts) ÷ the
 * measured time per call, against this machine's matrix-multiply ceiling measured with the same
 * onnxruntime-node, options and thread count (a one-node MatMul graph on square float32 matrices).
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import {
  decodeLoop,
  decodeWindow,
  type GenerateOptions,
  GeneratePipeline,
  GRIFFIN_LIM_ITERATIONS,
  type ModelManifest,
  type ModelPack,
  ModelPipeline,
  ModelRegistry,
  NeuralVocoder,
  planLoop,
  Runtime,
  representationFor,
} from '../src/index.ts';
import { ortSessionOptions } from '../src/runtime/session-config.ts';
import { countFlops, matmulModel, parseOnnx } from './onnx-flops.ts';
import type { Chart } from './plot.ts';
import { TorchPeer } from './torch-peer.ts';
import type { BenchOptions, BenchResult, BenchTable } from './types.ts';

const root = path.resolve(import.meta.dirname, '..');

const THREADS = 2;
/** Timed runs per configuration on each side (after one warm-up): calls take milliseconds, so 3 were noisy. */
const REPEATS = 7;

function sessionOptions(): Record<string, unknown> {
  return ortSessionOptions('cpu', { intraOpThreads: THREADS }, 1);
}

/** Sorted times (ms) of `reps` calls after one warm-up call. */
async function timeCalls(session: ort.InferenceSession, feeds: ort.InferenceSession.FeedsType, reps: number) {
  await session.run(feeds);
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b);
}

const median = (sorted: number[]) => sorted[sorted.length >> 1]!;
/** A pause between the two sides' runs, so the other side's spinning thread pool has gone to sleep. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 30));
const gflops = (flops: number, ms: number) => flops / ms / 1e6;

/** Best and median GFLOP/s of C = A·B for n × n float32 matrices, per size. */
async function matmulCeiling(sizes: number[], reps: number) {
  const out: Array<{ n: number; best: number; median: number }> = [];
  for (const n of sizes) {
    const session = await ort.InferenceSession.create(matmulModel(n), sessionOptions());
    const a = new ort.Tensor(
      'float32',
      Float32Array.from({ length: n * n }, (_, i) => Math.sin(i)),
      [n, n],
    );
    const b = new ort.Tensor(
      'float32',
      Float32Array.from({ length: n * n }, (_, i) => Math.cos(i)),
      [n, n],
    );
    const t = await timeCalls(session, { A: a, B: b }, reps);
    await session.release();
    out.push({ n, best: gflops(2 * n ** 3, t[0]!), median: gflops(2 * n ** 3, median(t)) });
  }
  return out;
}

interface EfficiencyModel {
  name: string;
  file: string;
  shapes: Record<string, number[]>;
  /** ms per call measured inside the pipeline (worker messaging included), when known. */
  pipelineMs?: number;
}

function feedsFor(
  model: ReturnType<typeof parseOnnx>,
  shapes: Record<string, number[]>,
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const inp of model.inputs) {
    const dims = shapes[inp.name]!;
    const n = dims.reduce((a, b) => a * b, 1);
    feeds[inp.name] =
      inp.elemType === 7
        ? new ort.Tensor(
            'int64',
            BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 3)),
            dims,
          )
        : new ort.Tensor(
            'float32',
            Float32Array.from({ length: n }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.37)),
            dims,
          );
  }
  return feeds;
}

const shapeText = (shapes: Record<string, number[]>) =>
  Object.entries(shapes)
    .map(([k, v]) => `${k} [${v.join(', ')}]`)
    .join(', ');

async function efficiency(models: EfficiencyModel[], quick: boolean): Promise<BenchTable> {
  const sizes = quick ? [256, 512] : [1024, 1536, 2048];
  const ceil = await matmulCeiling(sizes, quick ? 2 : 8);
  const top = ceil.reduce((a, c) => (c.best > a.best ? c : a));
  const topMedian = Math.max(...ceil.map((c) => c.median));
  const rows: BenchResult['rows'] = ceil.map((c) => ({
    model: `MatMul ${c.n} × ${c.n} float32 (ceiling${c === top ? ', best' : ''})`,
    'GFLOP/call': Number(((2 * c.n ** 3) / 1e9).toFixed(3)),
    'other MFLOP/call': '',
    'ms/call best': Number(((2 * c.n ** 3) / c.best / 1e6).toFixed(2)),
    'ms/call median': Number(((2 * c.n ** 3) / c.median / 1e6).toFixed(2)),
    'GFLOP/s best': Number(c.best.toFixed(1)),
    'GFLOP/s median': Number(c.median.toFixed(1)),
    '% of ceiling': Number(((100 * c.best) / top.best).toFixed(1)),
    'pipeline ms/call': '',
  }));
  const notes: string[] = [];
  for (const m of models) {
    const bytes = readFileSync(m.file);
    const graph = parseOnnx(bytes);
    const count = countFlops(graph, m.shapes);
    const session = await ort.InferenceSession.create(bytes, sessionOptions());
    const t = await timeCalls(session, feedsFor(graph, m.shapes), quick ? 2 : 12);
    await session.release();
    const best = gflops(count.matmulFlops, t[0]!);
    rows.push({
      model: `${m.name}: ${shapeText(m.shapes)}`,
      'GFLOP/call': Number((count.matmulFlops / 1e9).toFixed(3)),
      'other MFLOP/call': Number((count.otherFlops / 1e6).toFixed(2)),
      'ms/call best': Number(t[0]!.toFixed(2)),
      'ms/call median': Number(median(t).toFixed(2)),
      'GFLOP/s best': Number(best.toFixed(1)),
      'GFLOP/s median': Number(gflops(count.matmulFlops, median(t)).toFixed(1)),
      '% of ceiling': Number(((100 * best) / top.best).toFixed(1)),
      'pipeline ms/call': m.pipelineMs !== undefined ? Number(m.pipelineMs.toFixed(2)) : '',
    });
    const heavy = [...count.byOp]
      .filter(([op]) => ['Conv', 'ConvTranspose', 'MatMul', 'Gemm', 'Einsum'].includes(op))
      .map(([op, v]) => `${op} ×${v.nodes} ${(v.flops / 1e6).toFixed(1)} M`)
      .join(', ');
    notes.push(`${m.name} (${graph.nodes.length} nodes, opset ${graph.opset}): ${heavy}.`);
  }
  const load = os.loadavg()[0]!;
  notes.unshift(
    `FLOPs are counted from the ONNX graph with the shapes shown (bench/onnx-flops.ts): 2 per multiply-add of Conv, ConvTranspose, MatMul, Gemm and Einsum ("GFLOP/call", used for GFLOP/s and % of ceiling). Elementwise ops, normalisations, softmax and bias adds count 1 FLOP per output element (per input element for reductions) in "other MFLOP/call", which is left out of GFLOP/s; shape-only ops count 0.`,
    `Ceiling: onnxruntime-node ${ort.env.versions?.common ?? ''} MatMul of square float32 matrices, best of ${quick ? 2 : 8} calls per size after a warm-up; the best size (${top.n}: ${top.best.toFixed(1)} GFLOP/s best call; the highest median over sizes is ${topMedian.toFixed(1)} GFLOP/s) is 100 %. Models run with the pipeline's session options (${THREADS} intra-op threads, graph optimisation "all"); "% of ceiling" compares best with best, since other load only ever slows a call down (1-min load average at the end: ${load.toFixed(2)} on ${os.availableParallelism()} cores).`,
    '"pipeline ms/call" is the mean denoiser call inside GeneratePipeline during the timed generations above (worker thread, messaging and tensor copies included; vocoder calls left out).',
  );
  return { title: 'Efficiency: model FLOPs ÷ wall time against the matrix-multiply ceiling', rows, notes };
}

/** One shipped generate model in the timing table: a fixed request and its PyTorch peer's shapes. */
interface GenCase {
  /** Registry id, also the peer's model argument and the rows' model name. */
  model: string;
  /** Everything but seed, steps and sampler, which the timing loop sets. */
  request: GenerateOptions;
  /** [sampler, steps] settings in quick mode (one run each, no peer). */
  quick: [string, number][];
  /** Extra peer arguments for the frames the pipeline samples, so both sides do the same work. */
  peerArgs?: (frames: number) => string[];
  /** Input shapes of one guided model call (cond + uncond: batch 2) of `frames` frames. */
  callShapes: (m: ModelManifest, frames: number) => Record<string, number[]>;
}

const melShape = (m: ModelManifest, frames: number) => [2, 1, m.spectrogram!.nMels!, frames];

const CASES: GenCase[] = [
  {
    model: 'digits',
    request: { className: 'seven' },
    quick: [['dpmpp_2m', 4]],
    callShapes: (m, T) => ({ sample: melShape(m, T), timestep: [2], class: [2] }),
  },
  {
    model: 'loops',
    // The demo's loop (src/cli/commands/demo.ts): 2 bars at 120 BPM are exactly 4 s.
    request: {
      tags: ['drums', 'bass'],
      controls: { bpm: 120, key: 'A minor', bars: 2 },
      seconds: 4,
      loop: true,
    },
    // Two steps keep the smoke run short; the sampler loop and the circular decode still run.
    quick: [['dpmpp_2m', 2]],
    // The pipeline's loop plan rounds 250 frames / 4 half up (T = 252), training.loops.config
    // snap_frames half to even (248): the peer is told the pipeline's T.
    peerArgs: (T) => ['--frames', String(T)],
    callShapes: (m, T) => ({
      sample: melShape(m, T),
      timestep: [2],
      tags: [2, m.conditioning!.tags!.length],
      controls: [2, Object.keys(m.conditioning!.controls!).length],
    }),
  },
];

const CONFIGS: [string, number][] = [
  ['euler', 10],
  ['dpmpp_2m', 10],
  ['dpmpp_2m', 25],
];

/** The denoiser's own calls: GeneratePipeline.modelStats adds the vocoder's, which is decode time here. */
const denoiserStats = (gen: GeneratePipeline) => ModelPipeline.prototype.modelStats.call(gen);

interface DecodeTiming {
  seconds: number;
  /** Model frames of one generation, as the pipeline samples them. */
  frames: number;
  /** The decoder in words, for the notes. */
  what: string;
}

/**
 * The pipeline's decode of one generation of `request`, timed on its own so that sampling can be
 * compared like for like: the same decoder (the pack's vocoder when it has one), frames and length
 * (a loop: its planned frames, circularly to the exact loop length; else one window, which is
 * digits' 1 s default). The probe's values do not change the work. Median of 3 after a warm-up;
 * quick mode times one call, unwarmed (the smoke run checks the harness, not the numbers).
 */
async function timeDecode(
  gen: GeneratePipeline,
  runtime: Runtime,
  request: GenerateOptions,
  quick: boolean,
): Promise<DecodeTiming> {
  const m = gen.pack.manifest;
  const rep = representationFor(m);
  const plan = (request.loop ?? m.defaults.loop === true) ? planLoop(m, rep, request) : undefined;
  const frames = plan?.frames ?? m.io.windowLength;
  const vocoder =
    gen.decoderFor(request.decoder) === 'vocoder'
      ? await NeuralVocoder.load(gen.pack, runtime, { device: 'cpu' })
      : undefined;
  const probe = new Float32Array(rep.channels * rep.rows * frames).map(
    (_, i) => Math.sin(i * 0.37) * 0.5 - 0.4,
  );
  const times: number[] = [];
  try {
    for (let r = quick ? 1 : 0; r <= (quick ? 1 : REPEATS); r++) {
      const t0 = performance.now();
      if (plan) await decodeLoop(rep, vocoder, probe, frames, plan.samples, 0, m.sampleRate);
      else await decodeWindow(rep, vocoder, probe, frames, rep.samples(frames), 0);
      if (r > 0) times.push((performance.now() - t0) / 1000);
    }
  } finally {
    await vocoder?.dispose();
  }
  const gl = `${GRIFFIN_LIM_ITERATIONS} Griffin-Lim iterations`;
  const what = vocoder
    ? `neural vocoder + ${vocoder.refineIterations} Griffin-Lim refine iterations${plan ? ', circular' : ''}`
    : plan
      ? `mel inversion + circular ${gl} (frames wrapped around the loop) to exactly ${plan.samples} samples`
      : `mel inversion + ${gl}`;
  return { seconds: median(times.sort((a, b) => a - b)), frames, what };
}

interface ModelTiming {
  rows: BenchResult['rows'];
  notes: string[];
  eff: EfficiencyModel;
}

/** Timed generations of one model at each sampler setting, beside its PyTorch peer. */
async function timeModel(
  c: GenCase,
  pack: ModelPack,
  runtime: Runtime,
  quick: boolean,
): Promise<ModelTiming> {
  const gen = await GeneratePipeline.load(pack, runtime, { device: 'cpu' });
  try {
    const m = pack.manifest;
    const guidance = c.request.guidance ?? m.defaults.guidance ?? 1;
    const decode = await timeDecode(gen, runtime, c.request, quick);
    const rows: BenchResult['rows'] = [];
    const notes = [
      `${c.model}: classifier-free guidance ${guidance}; decode: ${decode.what}, ${(decode.seconds * 1000).toFixed(0)} ms.`,
    ];
    if (c.peerArgs)
      notes.push(
        `${c.model}: both sides sample T = ${decode.frames} frames (the pipeline's loop plan for the request).`,
      );
    let pipelineCalls = 0;
    let pipelineMs = 0;
    const peer = quick
      ? { why: 'skipped in quick mode' }
      : await TorchPeer.start(
          root,
          c.model,
          guidance,
          os.availableParallelism(),
          c.peerArgs?.(decode.frames) ?? [],
        );
    try {
      for (const [sampler, steps] of quick ? c.quick : CONFIGS) {
        const times: number[] = [];
        // The sampler's own timing (its 'done' event: first model call to last update), so the
        // comparison with PyTorch's sampler loop needs no subtraction of a separately timed decode.
        const samplingTimes: number[] = [];
        const peerTimes: number[] = [];
        let peerWhy = peer instanceof TorchPeer ? undefined : peer.why;
        let first = 0;
        let audioSeconds = 0;
        for (let r = 0; r < (quick ? 1 : REPEATS + 1); r++) {
          const before = denoiserStats(gen);
          const t0 = performance.now();
          let firstChunk = -1;
          let frames = 0;
          let samplingMs = 0;
          const onEvent: GenerateOptions['onEvent'] = (e) => {
            if (e.type === 'done') samplingMs += e.elapsedMs;
          };
          for await (const chunk of gen.generate({ ...c.request, seed: r, steps, sampler, onEvent })) {
            if (firstChunk < 0) firstChunk = performance.now() - t0;
            frames += chunk.channels[0]!.length;
          }
          const wall = (performance.now() - t0) / 1000;
          const after = denoiserStats(gen);
          // The first of the full runs warms up.
          if (r > 0 || quick) {
            times.push(wall);
            samplingTimes.push(samplingMs / 1000);
            pipelineCalls += after.calls - before.calls;
            pipelineMs += after.totalMs - before.totalMs;
          }
          if (r === 1 || quick) {
            first = firstChunk;
            audioSeconds = frames / m.sampleRate;
            const model = (after.totalMs - before.totalMs) / 1000;
            notes.push(
              `${c.model} ${sampler} ${steps} steps: ${(100 * (1 - model / wall)).toFixed(1)} % of wall time outside denoiser calls (sampler + decode).`,
            );
          }
          // The peer's run right after ours (its first one warms up too), so both see the same load.
          if (peer instanceof TorchPeer && peerWhy === undefined) {
            await settle();
            try {
              const t = await peer.time(sampler, steps, r);
              if (r > 0) peerTimes.push(t);
            } catch (err) {
              peerWhy = (err as Error).message.slice(0, 120);
            }
            await settle();
          }
        }
        times.sort((a, b) => a - b);
        samplingTimes.sort((a, b) => a - b);
        peerTimes.sort((a, b) => a - b);
        const ours = median(times);
        const sampling = median(samplingTimes);
        const peerSeconds = peerWhy === undefined && peerTimes.length > 0 ? median(peerTimes) : undefined;
        rows.push({
          model: c.model,
          sampler,
          steps,
          'sonodiff s': Number(ours.toFixed(3)),
          'sonodiff × real time': Number((audioSeconds / ours).toFixed(2)),
          'first chunk ms': Math.round(first),
          'sonodiff sampling s': Number(sampling.toFixed(3)),
          'PyTorch eager sampling s':
            peerSeconds !== undefined ? Number(peerSeconds.toFixed(3)) : (peerWhy ?? ''),
          'sampling speed-up': peerSeconds !== undefined ? Number((peerSeconds / sampling).toFixed(2)) : '',
          'sampling speed-up, best runs':
            peerSeconds !== undefined ? Number((peerTimes[0]! / samplingTimes[0]!).toFixed(2)) : '',
          'end-to-end speed-up': peerSeconds !== undefined ? Number((peerSeconds / ours).toFixed(2)) : '',
        });
      }
    } finally {
      if (peer instanceof TorchPeer) peer.close();
    }
    const eff: EfficiencyModel = {
      name: `${c.model} (CFG batch 2)`,
      file: pack.modelPath,
      shapes: c.callShapes(m, decode.frames),
      pipelineMs: pipelineCalls > 0 ? pipelineMs / pipelineCalls : undefined,
    };
    return { rows, notes, eff };
  } finally {
    await gen.dispose();
  }
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const loadAtStart = os.loadavg()[0]!;
  const registry = new ModelRegistry({ env: {} });
  const runtime = new Runtime();
  const rows: BenchResult['rows'] = [];
  const notes: string[] = [];
  const genEff: EfficiencyModel[] = [];
  try {
    for (const c of CASES) {
      let pack: ModelPack;
      try {
        pack = await registry.get(c.model);
      } catch {
        notes.push(`The ${c.model} model is not installed.`);
        continue;
      }
      const t = await timeModel(c, pack, runtime, opts.quick);
      rows.push(...t.rows);
      notes.push(...t.notes);
      genEff.push(t.eff);
    }
  } finally {
    await runtime.dispose();
  }
  // Efficiency: the shipped models at the shapes the pipelines feed them; in quick mode only the
  // fixture (the smoke run checks the counter and the harness, not the numbers).
  const effModels: EfficiencyModel[] = [
    {
      name: 'heavy-conv fixture (5 × Conv1d k=9)',
      file: path.join(root, 'tests/fixtures/onnx/heavy-conv.onnx'),
      shapes: { x: [1, 1, opts.quick ? 16384 : 65536] },
    },
  ];
  if (!opts.quick) {
    const denoiseFile = path.join(root, 'models/denoise/model.onnx');
    if (existsSync(denoiseFile))
      effModels.unshift({
        name: 'denoise (one 2 s window)',
        file: denoiseFile,
        shapes: { sample: [1, 2, 257, 256], timestep: [1], condition: [1, 2, 257, 256] },
      });
    effModels.unshift(...genEff);
  }
  const eff = await efficiency(effModels, opts.quick);
  if (rows.length > 0) {
    notes.unshift(
      `Both sides run the same weights (PyTorch reads them back from the pack's model.onnx: training/common/onnx_weights.py) and classifier-free guidance as one batched cond + uncond call, with ${os.availableParallelism()} threads. sonodiff's time includes decoding the mel spectrogram to audio with the pipeline's own decoder (per model below), which the PyTorch column does not: "sonodiff sampling" is the sampler's own time inside the pipeline (its done event: model calls through the worker + sampler arithmetic, as the PyTorch column times its sampler loop), for a like-for-like comparison; "end-to-end" is PyTorch sampling ÷ sonodiff's whole generation, decode included.`,
    );
    notes.push(
      `Both columns: median of ${REPEATS} runs after a warm-up, the two sides alternating run by run (the PyTorch model stays loaded in one python process, training/parity/time_reference.py --serve, with a 30 ms pause either side of its run), so slow spells of the shared machine fall on both; "best runs" divides the fastest run of each. 1-min load average when the run started: ${loadAtStart.toFixed(2)} on ${os.availableParallelism()} cores.`,
    );
  }
  return {
    title: 'Generation: sonodiff (ONNX Runtime) vs PyTorch eager, same weights and sampler',
    rows,
    notes,
    tables: [eff],
  };
}

const num = (v: string | number | undefined) => (typeof v === 'number' ? v : undefined);

/** Speed-up over PyTorch eager per sampler setting, and model GFLOP/s against the MatMul ceiling. */
export function charts(res: BenchResult): Chart[] {
  const out: Chart[] = [];
  const rows = res.rows.filter((r) => num(r['sampling speed-up']) !== undefined);
  if (rows.length > 0)
    out.push({
      kind: 'bar',
      file: 'speedup',
      title: 'Generation speed vs PyTorch eager (same weights, sampler)',
      subtitle: `${[...new Set(rows.map((r) => r['model']))].join(' and ')}, CFG batch 2; ratio of PyTorch time to sonodiff time (> 1: sonodiff faster)`,
      yLabel: 'speed-up (x)',
      categories: rows.map((r) => `${r['model']} ${r['sampler']} ${r['steps']} steps`),
      series: [
        { name: 'sampling (decode excluded)', values: rows.map((r) => num(r['sampling speed-up'])) },
        {
          name: 'end to end (decode in)',
          values: rows.map((r) => num(r['end-to-end speed-up'])),
        },
      ],
      ref: { value: 1, label: 'PyTorch eager' },
    });
  const eff = res.tables?.find((t) => t.title.startsWith('Efficiency'));
  const models = eff?.rows.filter((r) => !String(r['model']).startsWith('MatMul')) ?? [];
  const ceiling = eff?.rows.find((r) => String(r['model']).includes('best)'));
  const top = num(ceiling?.['GFLOP/s best']);
  if (models.length > 0 && top !== undefined)
    out.push({
      kind: 'bar',
      file: 'efficiency',
      title: 'Model throughput vs matrix-multiply ceiling',
      subtitle: 'conv/matmul FLOPs counted from the ONNX graph / time per call, onnxruntime CPU, 2 threads',
      yLabel: 'GFLOP/s',
      categories: models.map((r) => String(r['model']).split(':')[0]!),
      series: [
        { name: 'best call', values: models.map((r) => num(r['GFLOP/s best'])) },
        { name: 'median call', values: models.map((r) => num(r['GFLOP/s median'])) },
      ],
      ref: { value: top, label: `MatMul ceiling ${top} GFLOP/s` },
    });
  return out;
}
