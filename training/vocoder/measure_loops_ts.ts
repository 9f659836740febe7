/**
 * The loops pack's decoders on held-out composed loops, through the TypeScript loop decoder
 * (`decodeLoop`: circular Griffin-Lim on the loop's re-spaced frame grid, exact length).
 *
 *   node training/vocoder/measure_loops_ts.ts --vocoder models/loops/vocoder.onnx --wavs training/runs/vocoder-loops/heldout [--shape-low-band]
 *
 * --wavs holds the held-out loops as WAV files (`python -m training.vocoder.magnitude evaluate --pack loops`
 * writes them: loops of another seed than training, each exactly one loop long). Each loop is analysed by
 * the pack's own front end with wrap-around context (three copies, the middle one's round(L / hop) frames),
 * then decoded back to exactly L samples by plain Griffin-Lim 32 (the pack's decoder without a vocoder)
 * and by the magnitude vocoder + k Griffin-Lim iterations. LSD (src/metrics/lsd.ts, n_fft 2048, hop 512)
 * against the loop itself, looped twice on both sides so that no frame sees an edge; time = decode
 * wall seconds per audio second (analysis excluded), one pass, 1 thread.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  decodeLoop,
  loadPack,
  logSpectralDistance,
  type ModelPack,
  NeuralVocoder,
  Runtime,
  readWav,
  representationFor,
} from '../../src/index.ts';

const root = path.resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    pack: { type: 'string', default: path.join(root, 'models/loops') },
    vocoder: { type: 'string' },
    wavs: { type: 'string', default: path.join(root, 'training/runs/vocoder-loops/heldout') },
    iterations: { type: 'string', default: '8,16,32' },
    /** io.vocoder.shapeLowBand for the vocoder rows (the loops pack ships it on). */
    'shape-low-band': { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(root, 'training/runs/vocoder-loops/measure_ts.json') },
  },
});

const basePack = await loadPack(args.pack);
const vocoderPath = args.vocoder ?? basePack.vocoderPath;
if (vocoderPath === undefined) throw new Error(`${args.pack} has no vocoder: pass --vocoder FILE.onnx`);
const withVocoder = (k: number): ModelPack => ({
  ...basePack,
  manifest: {
    ...basePack.manifest,
    io: {
      ...basePack.manifest.io,
      vocoder: {
        model: path.basename(vocoderPath),
        input: 'mel',
        output: 'magnitude',
        kind: 'magnitude',
        refineIterations: k,
        shapeLowBand: args['shape-low-band'],
      },
    },
  },
  vocoderPath: path.resolve(vocoderPath),
});
const m = basePack.manifest;
const rep = representationFor(m);
const hop = rep.stft!.hopLength;
const rows = rep.rows;
const runtime = new Runtime({ workers: 1 });
const ks = args.iterations.split(',').map(Number);
const vocoders = new Map<number, NeuralVocoder>();
for (const k of ks) {
  vocoders.set(k, (await NeuralVocoder.load(withVocoder(k), runtime, { device: 'cpu', cpu: { intraOpThreads: 1 } }))!);
}

function tile(x: Float32Array, times: number): Float32Array {
  const out = new Float32Array(x.length * times);
  for (let i = 0; i < times; i++) out.set(x, i * x.length);
  return out;
}

const files = readdirSync(args.wavs)
  .filter((f) => f.endsWith('.wav'))
  .sort();
const rowsOut: Record<string, { lsd: number[]; seconds: number; audio: number }> = {};
const add = (name: string, ref: Float32Array, y: Float32Array, ms: number) => {
  const r = (rowsOut[name] ??= { lsd: [], seconds: 0, audio: 0 });
  // Three periods each side: every analysis frame sees the loop's own wrap-around, not an edge.
  r.lsd.push(logSpectralDistance(tile(ref, 3), tile(y, 3)));
  r.seconds += ms / 1000;
  r.audio += ref.length / m.sampleRate;
};
for (const [i, f] of files.entries()) {
  const { audio } = readWav(readFileSync(path.join(args.wavs, f)), { path: f });
  const wave = audio.channels[0]!;
  if (audio.sampleRate !== m.sampleRate) throw new Error(`${f}: ${audio.sampleRate} Hz, the pack is ${m.sampleRate} Hz`);
  const period = wave.length;
  const n = Math.max(1, Math.round(period / hop));
  const all = rep.encode(tile(wave, 3));
  const total = all.length / rows;
  const start = Math.round(period / hop);
  const x = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) x.set(all.subarray(r * total + start, r * total + start + n), r * n);
  let t = performance.now();
  add('gl32', wave, await decodeLoop(rep, undefined, x, n, period, i, m.sampleRate), performance.now() - t);
  for (const k of ks) {
    t = performance.now();
    const y = await decodeLoop(rep, vocoders.get(k), x, n, period, i, m.sampleRate);
    add(`vocoder-gl${k}`, wave, y, performance.now() - t);
  }
}
const gl = rowsOut.gl32!.lsd;
const table = Object.entries(rowsOut).map(([decoder, r]) => ({
  decoder,
  lsdDb: Number((r.lsd.reduce((a, b) => a + b, 0) / r.lsd.length).toFixed(3)),
  beatsGl32Share: Number((r.lsd.filter((v, j) => v < gl[j]!).length / r.lsd.length).toFixed(3)),
  secondsPerAudioSecond: Number((r.seconds / r.audio).toFixed(4)),
}));
const result = { loops: files.length, wavs: args.wavs, vocoder: vocoderPath, shapeLowBand: args['shape-low-band'], table };
writeFileSync(args.out, `${JSON.stringify(result, null, 1)}\n`);
console.table(table);
for (const v of vocoders.values()) await v.dispose();
await runtime.dispose();
