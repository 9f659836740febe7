/**
 * Resampler speed and quality against `sox rate -v` (SoX's very-high-quality setting) on the same
 * input in the same run. Input: a multi-tone + noise signal written as raw float32 for sox.
 * Speed ratio = sox wall time / sonodiff wall time (best of 3; sox time includes process start
 * and file I/O, which are small next to the conversion at these lengths).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resample } from '../src/audio/resample.ts';
import { type Converter, measureSweep, measureTones } from '../tests/audio-dsp/measure.ts';
import type { Chart } from './plot.ts';
import type { BenchOptions, BenchResult } from './types.ts';

function testSignal(rate: number, seconds: number): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 48271) % 2147483647;
    const t = i / rate;
    x[i] =
      0.3 * Math.sin(2 * Math.PI * 440 * t) +
      0.2 * Math.sin(2 * Math.PI * 5000 * t) +
      0.1 * (s / 2147483647 - 0.5);
  }
  return x;
}

/** Exact zeros (sox returns them for some stopband tones) print as −∞ rather than −3000. */
function dbText(v: number): string {
  return v < -250 ? '−∞' : v.toFixed(1);
}

function best(times: number, f: () => void): number {
  let b = Number.POSITIVE_INFINITY;
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    f();
    b = Math.min(b, performance.now() - t0);
  }
  return b / 1000;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-bench-rs-'));
  const sox = (x: Float32Array, from: number, to: number): Float32Array => {
    const inFile = path.join(dir, 'in.f32');
    const outFile = path.join(dir, 'out.f32');
    writeFileSync(inFile, x);
    execFileSync('sox', [
      '-t',
      'f32',
      '-r',
      String(from),
      '-c',
      '1',
      inFile,
      '-t',
      'f32',
      '-r',
      String(to),
      outFile,
      'rate',
      '-v',
    ]);
    const b = readFileSync(outFile);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  };
  const ours: Converter = (x, a, b) => resample(x, a, b);
  const pairs: Array<[number, number]> = opts.quick
    ? [[44100, 48000]]
    : [
        [44100, 48000],
        [48000, 44100],
        [48000, 16000],
        [22050, 16000],
        [16000, 48000],
      ];
  const seconds = opts.quick ? 5 : 60;
  const rows: BenchResult['rows'] = [];
  try {
    for (const [a, b] of pairs) {
      const x = testSignal(a, seconds);
      writeFileSync(path.join(dir, 'speed.f32'), x);
      const soxSec = best(3, () =>
        execFileSync('sox', [
          '-t',
          'f32',
          '-r',
          String(a),
          '-c',
          '1',
          path.join(dir, 'speed.f32'),
          '-t',
          'f32',
          '-r',
          String(b),
          path.join(dir, 'speed-out.f32'),
          'rate',
          '-v',
        ]),
      );
      const ourSec = best(opts.quick ? 1 : 3, () => resample(x, a, b));
      const medSec = best(opts.quick ? 1 : 3, () => resample(x, a, b, { quality: 'medium' }));
      const fastSec = best(opts.quick ? 1 : 3, () => resample(x, a, b, { quality: 'fast' }));
      const toneOpts = { count: opts.quick ? 6 : 16, seconds: 0.25 };
      const sweepOpts = { seconds: opts.quick ? 1 : 3 };
      const qo = await measureTones(ours, a, b, toneOpts);
      const qs = await measureTones(sox, a, b, toneOpts);
      // sox's "95 %" is its −3 dB point, so compare flatness over 0–90 % as well.
      const ro = await measureTones(ours, a, b, { ...toneOpts, bandwidth: 0.9 });
      const rs = await measureTones(sox, a, b, { ...toneOpts, bandwidth: 0.9 });
      const so = await measureSweep(ours, a, b, sweepOpts);
      const ss = await measureSweep(sox, a, b, sweepOpts);
      // Presets are measured over their own passbands (90 % / 80 % of the lower Nyquist).
      const qm = await measureTones((y, f, t) => resample(y, f, t, { quality: 'medium' }), a, b, {
        ...toneOpts,
        bandwidth: 0.9,
      });
      const qf = await measureTones((y, f, t) => resample(y, f, t, { quality: 'fast' }), a, b, {
        ...toneOpts,
        bandwidth: 0.8,
      });
      rows.push({
        conversion: `${a} → ${b}`,
        'audio s': seconds,
        'sonodiff s': Number(ourSec.toFixed(3)),
        'sox -v s': Number(soxSec.toFixed(3)),
        'speed vs sox (×)': Number((soxSec / ourSec).toFixed(3)),
        'ripple to 95 % dB (ours/sox)': `${qo.rippleDb.toExponential(1)} / ${qs.rippleDb.toExponential(1)}`,
        'ripple to 90 % dB (ours/sox)': `${ro.rippleDb.toExponential(1)} / ${rs.rippleDb.toExponential(1)}`,
        'stopband dB (ours/sox)': `${dbText(qo.worstStopbandDb)} / ${dbText(qs.worstStopbandDb)}`,
        'sweep alias dB (ours/sox)': `${so.worstAliasDb.toFixed(1)} / ${ss.worstAliasDb.toFixed(1)}`,
        'speed vs sox medium / fast (×)': `${(soxSec / medSec).toFixed(2)} / ${(soxSec / fastSec).toFixed(2)}`,
        'ripple dB medium / fast': `${qm.rippleDb.toExponential(1)} / ${qf.rippleDb.toExponential(1)}`,
        'stopband dB medium / fast': `${dbText(qm.worstStopbandDb)} / ${dbText(qf.worstStopbandDb)}`,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    title: 'Resampling: sonodiff polyphase Kaiser sinc (high; medium/fast presets) vs sox rate -v',
    rows,
    notes: [
      'speed vs sox = sox wall time ÷ sonodiff wall time on the same signal (> 1: sonodiff faster); best of 3.',
      'ripple: peak-to-peak gain of tones from 20 Hz to 95 % (or 90 %) of the lower Nyquist (sox -v is −3 dB at 95 % by design; sonodiff is flat to 95 % and −6 dB at 97.5 %); stopband: worst output power of tones above the new Nyquist (down) or of images of passband tones (up), dB re the tone.',
      'medium = 90 % passband, 95 dB Kaiser design; fast = 80 %, 65 dB; their ripple/stopband are measured over their own passbands (tones to 90 % / 80 % of the lower Nyquist).',
      'The inner products run in a WebAssembly SIMD (f64x2) kernel; the numbers are the same as the plain-JS fallback bit for bit.',
      'sweep alias: linear sweep to 99.5 % of the input Nyquist, worst STFT frame power away from the sweep, dB re the sweep. The same measurement code runs on both outputs.',
    ],
  };
}

/** Speed against sox -v per conversion, for the high preset and the medium / fast ones. */
export function charts(res: BenchResult): Chart[] {
  const rows = res.rows.filter((r) => typeof r['speed vs sox (×)'] === 'number');
  if (rows.length === 0) return [];
  const pair = (r: BenchResult['rows'][number], i: number) => {
    const v = Number(String(r['speed vs sox medium / fast (×)'] ?? '').split('/')[i]);
    return Number.isFinite(v) ? v : undefined;
  };
  return [
    {
      kind: 'bar',
      file: 'speed',
      title: 'Resampling speed vs sox rate -v',
      subtitle: 'sox wall time / sonodiff wall time on the same 60 s signal (> 1: sonodiff faster)',
      yLabel: 'speed vs sox (x)',
      categories: rows.map((r) => String(r['conversion'])),
      series: [
        { name: 'sonodiff high', values: rows.map((r) => r['speed vs sox (×)'] as number) },
        { name: 'sonodiff medium', values: rows.map((r) => pair(r, 0)) },
        { name: 'sonodiff fast', values: rows.map((r) => pair(r, 1)) },
      ],
      ref: { value: 1, label: 'sox -v' },
    },
  ];
}
