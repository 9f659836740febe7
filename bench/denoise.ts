/**
 * Denoising quality and speed: sonodiff's denoise model against the tools a user would reach for
 * instead — sox noisered (noise profile from a noise-only lead-in), ffmpeg afftdn (defaults and
 * tuned) and ffmpeg anlmdn (s=1000) — on eval/ speech mixed with eval/ noise at 0/5/10 dB, and on
 * excerpts of the eval/ music clips mixed the same way (a second table). Every output is aligned to the clean signal by
 * cross-correlation before scoring (peers add delays). All figures come from this one run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  alignSignals,
  DenoisePipeline,
  encodeWav,
  estoi,
  logSpectralDistance,
  ModelRegistry,
  type PcmAudio,
  Runtime,
  readAudio,
  readWav,
  resampleAudio,
  segmentalSnr,
  siSdr,
  toMono,
} from '../src/index.ts';
import type { Chart } from './plot.ts';
import type { BenchOptions, BenchResult } from './types.ts';

const root = path.resolve(import.meta.dirname, '..');
const evalDir = path.resolve(root, '../shared/data/eval');
const LEAD_IN = 0.5;
/** The music in eval/music-and-speech-clips (the folder also holds speech, a robin and a whale). */
const MUSIC = [
  'Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra).ogg',
  'Karissa_Hobbs_-_Lets_Go_Fishin.ogg',
  'Kevin_MacLeod_-_P_I_Tchaikovsky_Dance_of_the_Sugar_Plum_Fairy.ogg',
  'Kevin_MacLeod_-_Vibe_Ace.ogg',
  'sorohanro_-_solo-trumpet-06.ogg',
];
const MUSIC_SECONDS = 10;
const MUSIC_OFFSET = 10;

/** A small seeded generator for noise offsets (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function mono(file: string, rate: number): Promise<Float32Array> {
  const a = (await readAudio(file)).audio;
  const m = toMono(a);
  return (m.sampleRate === rate ? m : resampleAudio(m, rate)).channels[0]!;
}

function energy(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return s;
}

/** Noisy = lead-in of noise, then clean + noise scaled to `snr` dB over the clean part. */
function mix(clean: Float32Array, noise: Float32Array, snr: number, rate: number, rand: () => number) {
  const lead = Math.round(LEAD_IN * rate);
  const n = clean.length + lead;
  const start = Math.floor(rand() * Math.max(1, noise.length - n));
  const seg = new Float32Array(n);
  for (let i = 0; i < n; i++) seg[i] = noise[(start + i) % noise.length]!;
  const gain = Math.sqrt(energy(clean) / (energy(seg.subarray(lead)) * 10 ** (snr / 10)));
  const noisy = new Float32Array(n);
  for (let i = 0; i < n; i++) noisy[i] = gain * seg[i]! + (i >= lead ? clean[i - lead]! : 0);
  // Keep headroom: peers read 32-bit float WAV, so no clipping either way.
  return { noisy, lead };
}

interface Method {
  name: string;
  run: (noisyFile: string, outFile: string, noisy: PcmAudio, lead: number) => Promise<Float32Array>;
}

function tool(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function readOut(file: string): Float32Array {
  return readWav(readFileSync(file)).audio.channels[0]!;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const rate = 16000;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-bench-denoise-'));
  const registry = new ModelRegistry({ env: {} });
  let pack: Awaited<ReturnType<ModelRegistry['get']>>;
  let real = true;
  try {
    pack = await registry.get('denoise');
  } catch {
    real = false;
    pack = await new ModelRegistry({ dirs: [path.join(root, 'tests/fixtures/packs')], env: {} }).get(
      'tiny-stft-denoise',
    );
  }
  const runtime = new Runtime();
  const den = await DenoisePipeline.load(pack, runtime, { device: 'cpu' });
  const methods: Method[] = [
    ...[pack.manifest.defaults.steps, ...(opts.quick ? [] : [4])].map(
      (steps): Method => ({
        name: `sonodiff ${pack.manifest.id} (${steps} step${steps === 1 ? '' : 's'})`,
        run: async (_f, _o, noisy) => {
          const parts: Float32Array[] = [];
          for await (const c of den.denoise(noisy, { seed: 0, steps })) parts.push(c.channels[0]!);
          const out = new Float32Array(noisy.channels[0]!.length);
          let o = 0;
          for (const p of parts) {
            out.set(p, o);
            o += p.length;
          }
          return out;
        },
      }),
    ),
    {
      name: 'sox noisered 0.21 (profile from lead-in)',
      run: async (f, o, _n, lead) => {
        const prof = `${o}.prof`;
        tool('sox', [f, '-n', 'trim', '0', `${lead}s`, 'noiseprof', prof]);
        tool('sox', [f, '-e', 'floating-point', '-b', '32', o, 'noisered', prof, '0.21']);
        return readOut(o);
      },
    },
    {
      name: 'ffmpeg afftdn (defaults)',
      run: async (f, o) => {
        tool('ffmpeg', ['-v', 'error', '-y', '-i', f, '-af', 'afftdn', '-c:a', 'pcm_f32le', o]);
        return readOut(o);
      },
    },
    {
      name: 'ffmpeg afftdn nr=20:nf=-40:tn=1',
      run: async (f, o) => {
        tool('ffmpeg', [
          '-v',
          'error',
          '-y',
          '-i',
          f,
          '-af',
          'afftdn=nr=20:nf=-40:tn=1',
          '-c:a',
          'pcm_f32le',
          o,
        ]);
        return readOut(o);
      },
    },
    {
      name: 'ffmpeg anlmdn s=1000',
      run: async (f, o) => {
        tool('ffmpeg', ['-v', 'error', '-y', '-i', f, '-af', 'anlmdn=s=1000', '-c:a', 'pcm_f32le', o]);
        return readOut(o);
      },
    },
  ];

  // Speech: eval utterances × eval noises (cycled) × SNRs.
  const speakers = readdirSync(path.join(evalDir, 'librispeech-test-other'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const utterances = speakers.flatMap((s) =>
    readdirSync(path.join(evalDir, 'librispeech-test-other', s))
      .filter((f) => f.endsWith('.flac'))
      .sort()
      .slice(0, opts.quick ? 1 : 2)
      .map((f) => path.join(evalDir, 'librispeech-test-other', s, f)),
  );
  const noiseFiles = [
    'noise/speech-commands/running_tap.wav',
    'noise/speech-commands/exercise_bike.wav',
    'noise/blanket/coffee-shop.ogg',
    'noise/blanket/city.ogg',
  ].map((f) => path.join(evalDir, f));
  const noises = await Promise.all(noiseFiles.map((f) => mono(f, rate)));
  const snrs = opts.quick ? [5] : [0, 5, 10];
  const uttList = opts.quick ? utterances.slice(0, 1) : utterances.slice(0, 12);
  const rand = rng(1234);

  type Acc = {
    sisdr: number[];
    estoi: number[];
    segsnr: number[];
    lsd: number[];
    seconds: number;
    wall: number;
  };
  const score = (clean: Float32Array, out: Float32Array, r: number) => {
    const al = alignSignals(clean, out, { maxLag: Math.round(0.1 * r) });
    return {
      sisdr: siSdr(al.reference, al.other),
      estoi: estoi(al.reference, al.other, r),
      segsnr: segmentalSnr(al.reference, al.other),
      lsd: logSpectralDistance(al.reference, al.other),
    };
  };

  /** Mixes every clip with the eval noises (cycled) at every SNR, runs every method, scores. */
  const evaluate = async (clips: Float32Array[]) => {
    const acc = new Map<string, Acc>();
    const add = (
      key: string,
      v: Omit<Acc, 'sisdr' | 'estoi' | 'segsnr' | 'lsd'> & Record<string, number>,
    ) => {
      let a = acc.get(key);
      if (!a) acc.set(key, (a = { sisdr: [], estoi: [], segsnr: [], lsd: [], seconds: 0, wall: 0 }));
      a.sisdr.push(v['sisdr']!);
      a.estoi.push(v['estoi']!);
      a.segsnr.push(v['segsnr']!);
      a.lsd.push(v['lsd']!);
      a.seconds += v.seconds;
      a.wall += v.wall;
    };
    let k = 0;
    for (const clean of clips) {
      for (const snr of snrs) {
        const noise = noises[k++ % noises.length]!;
        const { noisy, lead } = mix(clean, noise, snr, rate, rand);
        const noisyFile = path.join(tmp, 'noisy.wav');
        writeFileSync(noisyFile, encodeWav({ sampleRate: rate, channels: [noisy] }, { encoding: 'float32' }));
        add(`${snr}|input (noisy)`, { ...score(clean, noisy.subarray(lead), rate), seconds: 0, wall: 0 });
        for (const m of methods) {
          const t0 = performance.now();
          const out = await m.run(
            noisyFile,
            path.join(tmp, 'out.wav'),
            { sampleRate: rate, channels: [noisy] },
            lead,
          );
          const wall = (performance.now() - t0) / 1000;
          add(`${snr}|${m.name}`, {
            ...score(clean, out.subarray(lead), rate),
            seconds: noisy.length / rate,
            wall,
          });
        }
      }
    }
    return acc;
  };

  const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
  const tableRows = (acc: Map<string, Acc>): BenchResult['rows'] => {
    const rows: BenchResult['rows'] = [];
    for (const snr of snrs) {
      const base = acc.get(`${snr}|input (noisy)`)!;
      const peers = methods
        .filter((m) => !m.name.startsWith('sonodiff'))
        .map((m) => mean(acc.get(`${snr}|${m.name}`)!.sisdr) - mean(base.sisdr));
      const bestPeer = Math.max(...peers);
      for (const name of ['input (noisy)', ...methods.map((m) => m.name)]) {
        const a = acc.get(`${snr}|${name}`)!;
        const imp = mean(a.sisdr) - mean(base.sisdr);
        rows.push({
          'SNR dB': snr,
          method: name,
          'SI-SDR dB': Number(mean(a.sisdr).toFixed(2)),
          'SI-SDRi dB': Number(imp.toFixed(2)),
          'SI-SDRi ÷ best peer':
            name.startsWith('sonodiff') && bestPeer > 0 ? Number((imp / bestPeer).toFixed(2)) : '',
          ESTOI: Number(mean(a.estoi).toFixed(3)),
          'segSNR dB': Number(mean(a.segsnr).toFixed(2)),
          'LSD dB': Number(mean(a.lsd).toFixed(2)),
          '× real time': a.wall > 0 ? Number((a.seconds / a.wall).toFixed(1)) : '',
        });
      }
    }
    return rows;
  };

  // Speech: eval utterances × eval noises (cycled) × SNRs.
  const speech: Float32Array[] = [];
  for (const utt of uttList) {
    const clean = await mono(utt, rate);
    speech.push(opts.quick ? clean.slice(0, 2 * rate) : clean);
  }
  const rows = tableRows(await evaluate(speech));

  // Music: excerpts of the eval music clips (not the speech, birdsong or whale clips in that folder),
  // mixed and scored the same way.
  const musicDir = path.join(evalDir, 'music-and-speech-clips');
  const musicFiles = opts.quick ? MUSIC.slice(-1) : MUSIC;
  const music: Float32Array[] = [];
  for (const f of musicFiles) {
    const x = await mono(path.join(musicDir, f), rate);
    const len = Math.round((opts.quick ? 2 : MUSIC_SECONDS) * rate);
    const offset = Math.round(MUSIC_OFFSET * rate);
    const from = x.length >= offset + len ? offset : 0;
    music.push(x.slice(from, from + len));
  }
  const musicRows = tableRows(await evaluate(music));
  const levels = music.map((x) => 10 * Math.log10(energy(x) / x.length + 1e-20));

  await den.dispose();
  await runtime.dispose();
  rmSync(tmp, { recursive: true, force: true });
  const notes = [
    `Speech: ${uttList.length} eval/librispeech-test-other utterance(s) (first ${opts.quick ? 1 : 2} per speaker), each at ${snrs.join('/')} dB with eval noises cycled (running_tap, exercise_bike, coffee-shop, city); a ${LEAD_IN} s noise-only lead-in precedes each mix (sox builds its profile from it) and is excluded from scoring.`,
    'Scores after aligning each output to the clean speech by cross-correlation (±100 ms). SI-SDRi = output SI-SDR − input SI-SDR; "÷ best peer" divides sonodiff\'s improvement by the best peer\'s at that SNR.',
    'Real time factors include process start for sox/ffmpeg (they read and write files) and nothing else for sonodiff (in-process, model loaded once).',
  ];
  if (!real)
    notes.unshift(
      'The denoise model is not installed: the untrained tiny fixture stood in, so these rows only show the harness works.',
    );
  const musicNotes = [
    `${music.length} excerpt(s) of ${opts.quick ? 2 : MUSIC_SECONDS} s (from ${MUSIC_OFFSET} s into clips long enough, else from the start) of eval/music-and-speech-clips: ${musicFiles.map((f) => f.replace(/\.ogg$/, '')).join(', ')}; downmixed to mono 16 kHz at their own level (${Math.max(...levels).toFixed(0)} to ${Math.min(...levels).toFixed(0)} dBFS RMS, inside the −40 to −15 dBFS the model was trained on), each at ${snrs.join('/')} dB with the same eval noises cycled and the same ${LEAD_IN} s lead-in, alignment and scoring as the speech table. The speech, robin and humpback clips in that folder are left out.`,
    'The shipped denoise model was trained on speech, then fine-tuned with 40 % music targets (synthetic: sonic-pi samples and composed loops; models/denoise/README.md); these clips are real recordings it never saw. ESTOI is a speech-intelligibility measure (envelope correlation in one-third-octave bands up to 4.3 kHz): on music it only indicates how much of the band envelopes survives and is not a quality score; SI-SDR, segSNR and LSD are signal measures and apply as they are.',
  ];
  return {
    title: 'Denoise: sonodiff vs sox noisered, ffmpeg afftdn and anlmdn (eval speech + eval noise)',
    rows,
    notes,
    tables: [
      {
        title: 'Music: the same methods on eval music excerpts + eval noise',
        rows: musicRows,
        notes: musicNotes,
      },
    ],
  };
}

/** Legend names without the settings in parentheses (the table keeps them). */
function shortName(m: string): string {
  const steps = /\((\d+) steps?\)/.exec(m);
  if (m.startsWith('sonodiff') && steps) return `sonodiff ${steps[1]} step${steps[1] === '1' ? '' : 's'}`;
  if (m.startsWith('sox noisered')) return 'sox noisered';
  if (m.startsWith('ffmpeg afftdn (defaults)')) return 'afftdn';
  if (m.startsWith('ffmpeg afftdn')) return 'afftdn tuned';
  return m.replace(/^ffmpeg /, '').replace(/\s.*$/, '');
}

function sisdriChart(
  file: string,
  title: string,
  subtitle: string,
  rows: BenchResult['rows'],
): Chart | undefined {
  const snrs = [...new Set(rows.map((r) => r['SNR dB']).filter((v) => typeof v === 'number'))] as number[];
  const methods = [...new Set(rows.map((r) => String(r['method'])))].filter((m) => !m.startsWith('input'));
  if (snrs.length === 0 || methods.length === 0) return undefined;
  const at = (snr: number, m: string) => {
    const v = rows.find((r) => r['SNR dB'] === snr && r['method'] === m)?.['SI-SDRi dB'];
    return typeof v === 'number' ? v : undefined;
  };
  return {
    kind: 'bar',
    file,
    title,
    subtitle,
    yLabel: 'SI-SDR improvement (dB)',
    categories: snrs.map((s) => `input SNR ${s} dB`),
    series: methods.map((m) => ({ name: shortName(m), values: snrs.map((s) => at(s, m)) })),
  };
}

/** SI-SDR improvement per input SNR and method, for speech and for music. */
export function charts(res: BenchResult): Chart[] {
  const music = res.tables?.find((t) => t.title.startsWith('Music'));
  return [
    sisdriChart(
      'speech',
      'Denoise speech: SI-SDR improvement',
      'eval speech + eval noise; higher is better',
      res.rows,
    ),
    music &&
      sisdriChart(
        'music',
        'Denoise music: SI-SDR improvement',
        'eval music excerpts + eval noise; higher is better',
        music.rows,
      ),
  ].filter((c): c is Chart => c !== undefined);
}
