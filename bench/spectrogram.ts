/**
 * STFT throughput and Griffin-Lim speed, against native peers run in the same process tree:
 * - sox `spectrogram` (DFT 2048 per column, one column per hop, PNG written to /dev/null);
 * - ffmpeg `showspectrumpic` (window 2·height, one picture of width columns, not encoded);
 * - torch.stft/istft Griffin-Lim in python (when python3 with torch is installed).
 * Times are medians of wall-clock and of CPU time (user + sys; children's CPU via bash `times`),
 * because the machine may be shared. Ratio = peer time / our time (> 1: we are faster).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { griffinLim, powerToDb, spectrogramToPng, stft, stftMagnitude } from '../src/spectrogram/index.ts';
import type { Chart } from './plot.ts';
import type { BenchOptions, BenchResult } from './types.ts';

const SOURCE = path.resolve(import.meta.dirname, '../../shared/data/train/noise/blanket/rain.ogg');
const SPEECH = path.resolve(
  import.meta.dirname,
  '../../shared/data/train/librispeech-train-clean-100/103-1240-0000.flac',
);

function decode(file: string, sampleRate: number, seconds: number): Float32Array {
  const r = spawnSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      file,
      '-t',
      String(seconds),
      '-ac',
      '1',
      '-ar',
      String(sampleRate),
      '-f',
      'f32le',
      '-',
    ],
    { maxBuffer: 1 << 30 },
  );
  if (r.status !== 0) throw new Error(`ffmpeg could not decode ${file}`);
  return new Float32Array(
    r.stdout.buffer.slice(r.stdout.byteOffset, r.stdout.byteOffset + r.stdout.byteLength),
  );
}

interface Timing {
  wall: number;
  cpu: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeOurs(reps: number, fn: () => void): Timing {
  fn(); // warm-up: JIT and FFT plans
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    walls.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1e6);
  }
  return { wall: median(walls), cpu: median(cpus) };
}

/** Runs a shell command `reps` times; CPU from bash's `times` (children's user + sys). */
function timePeer(reps: number, command: string): Timing | undefined {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const r = spawnSync('bash', ['-c', `${command} >/dev/null 2>&1 || exit 3; times`], { encoding: 'utf8' });
    const wall = (performance.now() - t0) / 1000;
    if (r.status !== 0) return undefined;
    const line = r.stdout.trim().split('\n').pop() ?? '';
    const m = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((x) => Number(x[1]) * 60 + Number(x[2]));
    walls.push(wall);
    cpus.push((m[0] ?? Number.NaN) + (m[1] ?? Number.NaN));
  }
  return { wall: median(walls), cpu: median(cpus) };
}

function have(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function torchPython(): string | undefined {
  for (const exe of ['python3', '/usr/bin/python3'])
    if (spawnSync(exe, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return exe;
  return undefined;
}

const f3 = (x: number) => Number(x.toPrecision(3));

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const sr = 44100;
  const seconds = opts.quick ? 10 : 60;
  const reps = opts.quick ? 1 : 5;
  const nFft = 2048;
  const hop = 512;
  const x = decode(SOURCE, sr, seconds);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-bench-spec-'));
  const rows: BenchResult['rows'] = [];
  const notes: string[] = [];
  try {
    const wav = path.join(dir, 'in.wav');
    execFileSync(
      'ffmpeg',
      ['-v', 'error', '-y', '-f', 'f32le', '-ar', String(sr), '-ac', '1', '-i', '-', wav],
      {
        input: new Uint8Array(x.buffer, x.byteOffset, x.byteLength),
      },
    );
    const stftOpts = { nFft, hopLength: hop };
    let frames = 0;
    const width = 1 + Math.floor(x.length / hop);
    const complex = timeOurs(reps, () => {
      frames = stft(x, stftOpts).frames;
    });
    const dbOnly = timeOurs(reps, () => {
      powerToDb(stftMagnitude(x, stftOpts, 2).data, { ref: 'max' });
    });
    const png = timeOurs(reps, () => {
      spectrogramToPng(stftMagnitude(x, stftOpts, 2), { width, height: nFft / 2 });
    });
    const row = (what: string, t: Timing, peer?: Timing) => {
      const r: Record<string, string | number> = {
        case: what,
        'frames/s': Math.round(frames / t.wall),
        '× real time': f3(seconds / t.wall),
        'wall s': f3(t.wall),
        'cpu s': f3(t.cpu),
      };
      if (peer !== undefined) {
        r['peer wall / ours'] = f3(peer.wall / t.wall);
        r['peer cpu / ours'] = f3(peer.cpu / t.cpu);
      }
      return r;
    };
    rows.push(row(`ours: complex STFT ${nFft}/${hop} Hann, ${seconds} s @ 44.1 kHz`, complex));
    rows.push(row('ours: power → dB', dbOnly));

    const soxCmd = `sox '${wav}' -n spectrogram -X ${sr / hop} -x 200000 -y ${nFft / 2 + 1} -o /dev/null`;
    const sox = have('sox', ['--version']) ? timePeer(reps, soxCmd) : undefined;
    const ffCmd = `ffmpeg -v error -i '${wav}' -lavfi showspectrumpic=s=${width}x${nFft / 2}:legend=0 -f null -`;
    const ff = have('ffmpeg', ['-version']) ? timePeer(reps, ffCmd) : undefined;
    rows.push(row('ours: power → dB → PNG (same size as the peers)', png, sox));
    if (sox !== undefined)
      rows.push({ ...row('sox spectrogram (peer)', sox), 'frames/s': Math.round(frames / sox.wall) });
    else notes.push('sox not found: no sox comparison.');
    if (ff !== undefined) {
      rows.push({ ...row('ffmpeg showspectrumpic (peer)', ff), 'frames/s': Math.round(frames / ff.wall) });
      rows.push({
        case: 'ours (dB → PNG) vs ffmpeg showspectrumpic',
        'peer wall / ours': f3(ff.wall / png.wall),
        'peer cpu / ours': f3(ff.cpu / png.cpu),
      });
    } else notes.push('ffmpeg not found: no showspectrumpic comparison.');
    notes.push(
      `Signal: ${seconds} s of rain.ogg (../shared/data/train/noise/blanket) as mono 44.1 kHz; ${frames} frames. Medians of ${reps} runs after one warm-up.`,
      `sox: \`${soxCmd.replace(wav, 'in.wav')}\` — one 2048-point Hann DFT per column at ${sr / hop} columns/s, colour-mapped and written as PNG (to /dev/null); its time includes process start and reading the WAV.`,
      `ffmpeg: \`${ffCmd.replace(wav, 'in.wav')}\` — a 2048-point window (2 × height), ${width} columns over the file, rendered to one RGB frame that is not encoded; includes process start and WAV decode.`,
      'Ours runs in-process on an already decoded Float32Array (no file I/O, no process start); the PNG row includes deflate.',
    );

    // Griffin-Lim: 10 s of speech at 16 kHz, nFft 1024 / hop 256, 32 iterations.
    const glSeconds = opts.quick ? 2 : 10;
    const glIters = opts.quick ? 8 : 32;
    const speech = decode(SPEECH, 16000, glSeconds);
    const glOpts = { nFft: 1024, hopLength: 256 };
    const mag = stftMagnitude(speech, glOpts);
    let sc = 0;
    const gl = timeOurs(opts.quick ? 1 : 3, () => {
      sc = griffinLim(mag, { ...glOpts, iterations: glIters }).spectralConvergence[glIters]!;
    });
    const glRow: Record<string, string | number> = {
      case: `ours: fast Griffin-Lim, ${glIters} it, ${glSeconds} s speech @ 16 kHz, 1024/256 (SC ${sc.toFixed(3)})`,
      'frames/s': Math.round(((glIters + 1) * mag.frames) / gl.wall),
      '× real time': f3(glSeconds / gl.wall),
      'wall s': f3(gl.wall),
      'cpu s': f3(gl.cpu),
    };
    rows.push(glRow);
    const py = opts.quick ? undefined : torchPython();
    if (py !== undefined) {
      const specFile = path.join(dir, 'speech.f32');
      writeFileSync(specFile, new Uint8Array(speech.buffer, speech.byteOffset, speech.byteLength));
      // The same loop as ours (librosa/torchaudio's formulation), timed inside python after import.
      const script = `import sys, time, numpy as np, torch
torch.set_num_threads(1)
x = torch.from_numpy(np.fromfile(sys.argv[1], dtype=np.float32))
w = torch.hann_window(1024)
S = torch.stft(x, 1024, 256, window=w, return_complex=True).abs()
def gl(S, n):
    g = torch.Generator().manual_seed(0)
    ang = torch.exp(2j * torch.pi * torch.rand(S.shape, generator=g))
    prev = torch.zeros_like(ang)
    for _ in range(n):
        y = torch.istft(S * ang, 1024, 256, window=w, length=x.shape[0])
        r = torch.stft(y, 1024, 256, window=w, return_complex=True)
        ang = r - (0.99 / 1.99) * prev
        ang = ang / (ang.abs() + 1e-16)
        prev = r
    return torch.istft(S * ang, 1024, 256, window=w, length=x.shape[0])
gl(S, 2)
ts = []
for _ in range(3):
    t = time.perf_counter(); c = time.process_time(); gl(S, ${glIters}); ts.append((time.perf_counter() - t, time.process_time() - c))
ts.sort()
print(ts[1][0], ts[1][1])`;
      const r = spawnSync(py, ['-c', script, specFile], { encoding: 'utf8' });
      if (r.status === 0) {
        const [wall, cpu] = r.stdout.trim().split(/\s+/).map(Number) as [number, number];
        rows.push({
          case: `torch ${glIters}-iteration GL (peer, 1 thread, float32)`,
          '× real time': f3(glSeconds / wall),
          'wall s': f3(wall),
          'cpu s': f3(cpu),
          'peer wall / ours': f3(wall / gl.wall),
          'peer cpu / ours': f3(cpu / gl.cpu),
        });
        notes.push(
          'Griffin-Lim peer: the same momentum loop written with torch.stft/istft (ATen pocketfft, float32, one thread), timed in python after import; ours is float64 FFTs with float32 storage.',
        );
      } else notes.push(`torch Griffin-Lim peer failed: ${r.stderr.split('\n').slice(-2).join(' ')}`);
    } else
      notes.push(
        opts.quick
          ? 'Quick mode: no Griffin-Lim peer.'
          : 'python3 with torch not found: no Griffin-Lim peer (sox and ffmpeg have none).',
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { title: 'Spectrogram: STFT throughput and Griffin-Lim', rows, notes };
}

/** A short label for a row that compares with a peer. */
function peerLabel(c: string): string {
  if (c.includes('PNG (same size')) return 'dB → PNG vs sox spectrogram';
  if (c.includes('vs ffmpeg')) return 'dB → PNG vs ffmpeg showspectrumpic';
  if (c.startsWith('torch')) return 'Griffin-Lim vs torch';
  return c;
}

/** Peer time ÷ our time (wall and CPU) for every row that has a peer. */
export function charts(res: BenchResult): Chart[] {
  const rows = res.rows.filter((r) => typeof r['peer wall / ours'] === 'number');
  if (rows.length === 0) return [];
  const col = (k: string) => rows.map((r) => (typeof r[k] === 'number' ? (r[k] as number) : undefined));
  return [
    {
      kind: 'bar',
      file: 'speed',
      title: 'Spectrogram and Griffin-Lim speed vs peers',
      subtitle: 'peer time / sonodiff time (> 1: sonodiff faster)',
      yLabel: 'peer / ours (x)',
      categories: rows.map((r) => peerLabel(String(r['case']))),
      series: [
        { name: 'wall time', values: col('peer wall / ours') },
        { name: 'CPU time', values: col('peer cpu / ours') },
      ],
      ref: { value: 1, label: 'peer' },
    },
  ];
}
