/**
 * The digits vocoder measured through the TypeScript pipeline on the 300 held-out FSDD takes
 * (takes 0–4 of every speaker, never trained on): each clip's normalised log-mel is made by the
 * pack's own front end (`representationFor(manifest).encode`), then decoded by
 *  - gl32: Griffin-Lim as the pipeline decodes mel without a vocoder (NNLS mel inversion + 32 fast
 *    Griffin-Lim iterations from a random phase, seed = clip index); glK-random: the same with K
 *    iterations (the control for the hybrid: what the same iterations do without the vocoder),
 *  - vocoder: the ONNX vocoder (onnxruntime-node through the project's Runtime, 1 intra-op thread) + iSTFT,
 *  - hybrid: the vocoder's spectrum refined by k Griffin-Lim projections (momentum 0.99) started
 *    from its phase, towards the vocoder's own magnitude (`voc`) or the mel-inverted (NNLS)
 *    magnitude (`mel`); `mel-wave` starts from the phase of the STFT of the vocoder's waveform,
 *  - pipeline: decodeWindow() with the pack's io.vocoder.refineIterations (when the pack ships a
 *    vocoder and no --vocoder is given), checked to equal the matching hybrid row sample for sample.
 * Reports mean LSD (src/metrics/lsd.ts: n_fft 2048, hop 512) against the original audio, the LSD at
 * n_fft 512 / hop 128, the share of clips where a decoder beats gl32, and wall seconds per audio
 * second (analysis excluded): one pass over all clips, and the best of 3 passes over the first 30
 * (the 2-core VM is shared, so single passes are noisy).
 *
 * With --generated (training/runs/digits/generated_mels.npy), every decoder's audio of those
 * generated mels is re-encoded into --generated-out/<decoder>.npy for training/vocoder/classify_ts.py.
 *
 *   node training/vocoder/measure_ts.ts [--vocoder /tmp/vocoder.onnx] [--clips 300]
 *        [--iterations 2,4,8,16] [--momentum 0.99[,0]] [--out training/runs/vocoder/measure_ts.json]
 *        [--generated training/runs/digits/generated_mels.npy [--generated-out DIR]]
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  type ComplexSpectrogram,
  decodeWindow,
  griffinLim,
  istft,
  loadPack,
  logSpectralDistance,
  type ModelPack,
  NeuralVocoder,
  Runtime,
  readWav,
  representationFor,
  type Spectrogram,
  stft,
} from '../../src/index.ts';

const root = path.resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    vocoder: { type: 'string' },
    pack: { type: 'string', default: path.join(root, 'models/digits') },
    data: { type: 'string', default: '/work/shared/data/train/fsdd/recordings' },
    clips: { type: 'string', default: '300' },
    iterations: { type: 'string', default: '2,4,8,16' },
    momentum: { type: 'string', default: '0.99' },
    /** With --vocoder: what the ONNX outputs, a complex spectrum ('spectrum') or an STFT magnitude ('magnitude'). */
    kind: { type: 'string', default: 'spectrum' },
    out: { type: 'string', default: path.join(root, 'training/runs/vocoder/measure_ts.json') },
    /** Generated mels [N, 1, nMels, T] (.npy float32), decoded by every decoder and re-encoded for classify_ts.py. */
    generated: { type: 'string' },
    'generated-out': { type: 'string', default: path.join(root, 'training/runs/vocoder/ts_reencoded') },
  },
});
const ks = args.iterations.split(',').map(Number);
const momenta = args.momentum.split(',').map(Number);
const HELD_OUT_TAKES = 5;

const basePack = await loadPack(args.pack);
const pack: ModelPack =
  args.vocoder === undefined
    ? basePack
    : {
        ...basePack,
        manifest: {
          ...basePack.manifest,
          io: {
            ...basePack.manifest.io,
            vocoder: {
              refineIterations: 0,
              ...basePack.manifest.io.vocoder,
              model: path.basename(args.vocoder),
              input: 'mel',
              ...(args.kind === 'magnitude'
                ? { output: 'magnitude', kind: 'magnitude' as const, refineIterations: 32 }
                : { output: 'spec', kind: 'spectrum' as const }),
            },
          },
        },
        vocoderPath: path.resolve(args.vocoder),
      };
if (pack.vocoderPath === undefined) throw new Error(`${args.pack} has no vocoder: pass --vocoder FILE.onnx`);
const m = pack.manifest;
const rep = representationFor(m);
const o = rep.stft!;
const runtime = new Runtime({ workers: 1 });
const vocoder = (await NeuralVocoder.load(pack, runtime, { device: 'cpu', cpu: { intraOpThreads: 1 } }))!;
// The pack's own setting goes through decodeWindow (only when the pack's vocoder is measured).
const pipelineRefine = args.vocoder === undefined ? (m.io.vocoder?.refineIterations ?? 0) : undefined;

// Held-out takes: digit_speaker_take.wav with take < 5, in name order (seed = index, as evaluate.py).
const files = readdirSync(args.data)
  .filter((f) => {
    const t = /^\d_[a-z]+_(\d+)\.wav$/.exec(f);
    return t !== null && Number(t[1]) < HELD_OUT_TAKES;
  })
  .sort()
  .slice(0, Number(args.clips));

function magnitudeOf(spec: ComplexSpectrogram): Spectrogram {
  const data = new Float32Array(spec.re.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.hypot(spec.re[i]!, spec.im[i]!);
  return { frames: spec.frames, bins: spec.bins, data };
}

/** `uses`: the cached per-clip work (vocoder spectrum, NNLS magnitude) a method's time must include. */
type Method = { name: string; uses: { voc: boolean; mel: boolean }; run: (c: Clip) => Promise<Float32Array> };
const none = { voc: false, mel: false };
interface Clip {
  audio: Float32Array;
  x: Float32Array;
  frames: number;
  seed: number;
  /** Cached per clip: the vocoder's spectrum and the NNLS magnitude, with the time each took. */
  spec?: { value: ComplexSpectrogram; ms: number };
  melMag?: { value: Spectrogram; ms: number };
}

async function vocode(c: Clip): Promise<ComplexSpectrogram> {
  if (c.spec === undefined) {
    const t = performance.now();
    const value = await vocoder.vocode(c.x, c.frames);
    c.spec = { value, ms: performance.now() - t };
  }
  return c.spec.value;
}
function melMagnitude(c: Clip): Spectrogram {
  if (c.melMag === undefined) {
    const t = performance.now();
    const s = rep.spectrum!(c.x, c.frames);
    if (s.kind !== 'magnitude') throw new Error('not a mel pack');
    c.melMag = { value: s.magnitude, ms: performance.now() - t };
  }
  return c.melMag.value;
}

const magnitudeKind = vocoder.kind === 'magnitude';
const methods: Method[] = [
  { name: 'gl32', uses: none, run: async (c) => rep.decode(c.x, c.frames, c.audio.length, c.seed) },
];
if (!magnitudeKind) {
  methods.push({
    name: 'vocoder',
    uses: { voc: true, mel: false },
    run: async (c) => istft(await vocode(c), { ...o, length: c.audio.length }),
  });
}
// Control: Griffin-Lim with k iterations from a random phase, as gl32 (is the vocoder's phase worth anything?).
for (const k of ks.filter((k) => k !== 32)) {
  methods.push({
    name: `gl${k}-random`,
    uses: { voc: false, mel: true },
    run: async (c) =>
      griffinLim(melMagnitude(c), {
        ...o,
        iterations: k,
        momentum: 0.99,
        seed: c.seed,
        length: c.audio.length,
      }).signal,
  });
}
// Target magnitude × initial phase: the vocoder's raw phase, or (`-wave`) the phase of the STFT of
// the vocoder's waveform (its spectrum made consistent; with the vocoder's own waveform magnitude as
// target that would be a fixed point, so only the mel target is tried with it).
const variants = magnitudeKind
  ? []
  : ([
      { target: 'voc', init: 'raw' },
      { target: 'mel', init: 'raw' },
      { target: 'mel', init: 'wave' },
    ] as const);
// A magnitude vocoder: Griffin-Lim with k iterations from the same random phase as glK-random, towards
// the network's magnitude instead of the mel-inverted one (the network's time counts).
if (magnitudeKind) {
  for (const k of [...new Set([...ks, 32])]) {
    methods.push({
      name: `magnitude-k${k}`,
      uses: none,
      run: async (c) =>
        griffinLim(await vocoder.magnitude(c.x, c.frames), {
          ...o,
          iterations: k,
          momentum: 0.99,
          seed: c.seed,
          length: c.audio.length,
        }).signal,
    });
  }
}
for (const { target, init } of variants) {
  for (const momentum of momenta) {
    for (const k of ks) {
      methods.push({
        uses: { voc: true, mel: target === 'mel' },
        name: `hybrid-${target}${init === 'wave' ? '-wave' : ''}-k${k}${momenta.length > 1 ? `-m${momentum}` : ''}`,
        run: async (c) => {
          const spec = await vocode(c);
          const mag = target === 'voc' ? magnitudeOf(spec) : melMagnitude(c);
          const start = init === 'raw' ? spec : stft(istft(spec, o), o);
          return griffinLim(mag, { ...o, iterations: k, momentum, init: start, length: c.audio.length })
            .signal;
        },
      });
    }
  }
}
if (pipelineRefine !== undefined) {
  methods.push({
    name: `pipeline (refineIterations ${pipelineRefine})`,
    uses: none,
    run: async (c) => decodeWindow(rep, vocoder, c.x, c.frames, c.audio.length, c.seed),
  });
}

/** Wall ms of one method on one clip, counting the shared vocoder / mel-inversion work it uses. */
async function timed(method: Method, c: Clip): Promise<{ y: Float32Array; ms: number }> {
  const hadSpec = c.spec !== undefined;
  const hadMel = c.melMag !== undefined;
  const t = performance.now();
  const y = await method.run(c);
  let ms = performance.now() - t;
  if (method.uses.voc && hadSpec) ms += c.spec!.ms;
  if (method.uses.mel && hadMel) ms += c.melMag!.ms;
  return { y, ms };
}

function loadClip(file: string, seed: number): Clip {
  const wav = readWav(readFileSync(path.join(args.data, file)), { path: file });
  if (wav.audio.sampleRate !== m.sampleRate) throw new Error(`${file}: ${wav.audio.sampleRate} Hz`);
  const audio = wav.audio.channels[0]!;
  const x = rep.encode(audio);
  return { audio, x, frames: x.length / rep.rows, seed };
}

const sr = m.sampleRate;
const lsd: Record<string, number[]> = {};
const lsd512: Record<string, number[]> = {};
const ms: Record<string, number> = {};
for (const meth of methods) {
  lsd[meth.name] = [];
  lsd512[meth.name] = [];
  ms[meth.name] = 0;
}
let audioSeconds = 0;
let pipelineMatches: string[] | undefined;
// Warm-up: the first session run and FFT plans allocate.
{
  const c = loadClip(files[0]!, 0);
  for (const meth of methods) await meth.run(c);
}
const t0 = performance.now();
for (let n = 0; n < files.length; n++) {
  const c = loadClip(files[n]!, n);
  audioSeconds += c.audio.length / sr;
  const outs: Record<string, Float32Array> = {};
  for (const meth of methods) {
    const { y, ms: t } = await timed(meth, c);
    outs[meth.name] = y;
    ms[meth.name] = ms[meth.name]! + t;
    lsd[meth.name]!.push(logSpectralDistance(c.audio, y));
    lsd512[meth.name]!.push(logSpectralDistance(c.audio, y, { fftSize: 512, hop: 128 }));
  }
  if (pipelineRefine !== undefined) {
    // Which direct computation the pipeline's output equals, sample for sample (must be the same on every clip).
    const p = outs[`pipeline (refineIterations ${pipelineRefine})`]!;
    const same = Object.keys(outs).filter(
      (k) => !k.startsWith('pipeline') && outs[k]!.every((v, i) => v === p[i]),
    );
    pipelineMatches = pipelineMatches === undefined ? same : pipelineMatches.filter((k) => same.includes(k));
  }
  if ((n + 1) % 50 === 0) {
    const s = ((performance.now() - t0) / 1000).toFixed(0);
    console.error(
      `${n + 1}/${files.length} (${s} s): ${methods.map((x) => `${x.name} ${mean(lsd[x.name]!).toFixed(3)}`).join(', ')}`,
    );
  }
}

// Generated digits: each decoder's audio re-encoded by the pack's front end, one .npy per decoder
// ([N, 1, nMels, T] float32), for the digits classifier (training/vocoder/classify_ts.py).
if (args.generated !== undefined) {
  const { shape, data } = readNpyF32(args.generated);
  const [count, , rows, frames] = shape as [number, number, number, number];
  if (rows !== rep.rows) throw new Error(`${args.generated}: ${rows} mel rows, the pack has ${rep.rows}`);
  mkdirSync(args['generated-out'], { recursive: true });
  const length = rep.samples(frames);
  for (const meth of methods) {
    const out = new Float32Array(count * rows * frames);
    for (let i = 0; i < count; i++) {
      const x = data.slice(i * rows * frames, (i + 1) * rows * frames);
      const y = await meth.run({ audio: new Float32Array(length), x, frames, seed: i });
      out.set(rep.encode(y).subarray(0, rows * frames), i * rows * frames);
    }
    const name = meth.name.startsWith('pipeline') ? 'pipeline' : meth.name;
    writeNpyF32(path.join(args['generated-out'], `${name}.npy`), out, [count, 1, rows, frames]);
  }
  console.error(`re-encoded ${count} generated mels per decoder into ${args['generated-out']}`);
}

function readNpyF32(file: string): { shape: number[]; data: Float32Array } {
  const b = readFileSync(file);
  const headerLen = b[6] === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = b[6] === 1 ? 10 : 12;
  const header = b.subarray(start, start + headerLen).toString('latin1');
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
    throw new Error(`${file}: only little-endian float32 C-order .npy is read`);
  const shape = /'shape':\s*\(([^)]*)\)/
    .exec(header)![1]!
    .split(',')
    .filter((v) => v.trim() !== '')
    .map(Number);
  const bytes = b.subarray(start + headerLen);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { shape, data };
}

function writeNpyF32(file: string, data: Float32Array, shape: number[]): void {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  writeFileSync(
    file,
    Buffer.concat([
      pre,
      Buffer.from(header, 'latin1'),
      Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    ]),
  );
}

// Speed: best of 3 passes over the first 30 clips, each method from a fresh clip (no shared cache).
const sub = files.slice(0, 30).map((f, i) => loadClip(f, i));
const subSeconds = sub.reduce((a, c) => a + c.audio.length / sr, 0);
const best: Record<string, number> = {};
for (const meth of methods) {
  let b = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < 3; pass++) {
    let total = 0;
    for (const c of sub) {
      c.spec = undefined;
      c.melMag = undefined;
      total += (await timed(meth, c)).ms;
    }
    b = Math.min(b, total);
  }
  best[meth.name] = b / 1000 / subSeconds;
}
await vocoder.dispose();
await runtime.dispose();

function mean(a: number[]): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}
const gl = lsd['gl32']!;
const rows = methods.map((meth) => {
  const l = lsd[meth.name]!;
  return {
    decoder: meth.name,
    lsdDb: Number(mean(l).toFixed(3)),
    lsdDb512: Number(mean(lsd512[meth.name]!).toFixed(3)),
    beatsGl32Share: Number((l.filter((v, i) => v < gl[i]!).length / l.length).toFixed(3)),
    secondsPerAudioSecondBestOf3: Number(best[meth.name]!.toFixed(4)),
    secondsPerAudioSecondSinglePass: Number((ms[meth.name]! / 1000 / audioSeconds).toFixed(4)),
  };
});
const result = {
  clips: files.length,
  audioSeconds: Number(audioSeconds.toFixed(1)),
  vocoder: path.relative(root, pack.vocoderPath),
  note: 'LSD n_fft 2048 / hop 512 (lsdDb) and 512 / 128 (lsdDb512) vs the original audio; hybrid-voc = vocoder magnitude as Griffin-Lim target, hybrid-mel = NNLS mel-inverted magnitude; all from the vocoder phase; onnxruntime-node 1 thread; times exclude the analysis (encode)',
  pipelineCheck:
    pipelineMatches === undefined
      ? 'not run (--vocoder given)'
      : pipelineMatches.length > 0
        ? `decodeWindow output identical on every clip to: ${pipelineMatches.join(', ')}`
        : 'MISMATCH: decodeWindow equals none of the direct computations',
  rows,
};
writeFileSync(args.out, `${JSON.stringify(result, null, 1)}\n`);
console.log(JSON.stringify(result, null, 1));
console.table(rows);
