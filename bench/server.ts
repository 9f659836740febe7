/**
 * Server load: N clients on loopback each stream one generation (pacing asap) at the same time
 * through one `sonodiff serve` instance sharing one model. Reports aggregate real-time factor (how many
 * real-time streams the machine holds), time to first frame and inter-frame gaps p50/p99, and
 * resident memory per concurrent stream. Server and clients share this process (loopback only).
 */
import { SonodiffClient } from '../src/client/index.ts';
import { ModelRegistry, Runtime } from '../src/index.ts';
import { createServer } from '../src/server/index.ts';
import type { Chart } from './plot.ts';
import type { BenchOptions, BenchResult } from './types.ts';

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const registry = new ModelRegistry({ env: {} });
  const model = 'digits';
  try {
    await registry.get(model);
  } catch {
    return { title: 'Server: concurrent streams', rows: [], notes: ['The digits model is not installed.'] };
  }
  const runtime = new Runtime({ workers: 1 });
  const server = await createServer({ port: 0, registry, runtime, device: 'cpu', webDir: null, maxJobs: 2 });
  const rows: BenchResult['rows'] = [];
  const seconds = opts.quick ? 1 : 4;
  try {
    // Warm the model once so load time does not count against the first row.
    const warm = new SonodiffClient({ url: server.url });
    await warm.connect();
    await warm
      .startJob({
        kind: 'generate',
        model,
        params: { className: 'one', seconds: 1, seed: 0, steps: 4 },
        pacing: 'asap',
      })
      .collect();
    await warm.close();
    for (const n of opts.quick ? [1] : [1, 2, 4, 8]) {
      global.gc?.();
      const rss0 = process.memoryUsage().rss;
      let rssPeak = rss0;
      const sampler = setInterval(() => {
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      }, 50);
      const firsts: number[] = [];
      const gaps: number[] = [];
      let frames = 0;
      let rate = 8000;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const c = new SonodiffClient({ url: server.url });
          await c.connect();
          const job = c.startJob({
            kind: 'generate',
            model,
            params: { className: 'seven', seconds, seed: i + 1 },
            pacing: 'asap',
          });
          const start = performance.now();
          let last = -1;
          for await (const e of job) {
            if (e.type !== 'audio') continue;
            const now = performance.now();
            if (last < 0) firsts.push(now - start);
            else gaps.push(now - last);
            last = now;
            frames += e.channels[0]!.length;
            rate = e.sampleRate;
          }
          await c.close();
        }),
      );
      const wall = (performance.now() - t0) / 1000;
      clearInterval(sampler);
      firsts.sort((a, b) => a - b);
      gaps.sort((a, b) => a - b);
      const aggregate = frames / rate / wall;
      rows.push({
        streams: n,
        'audio s each': seconds,
        'wall s': Number(wall.toFixed(2)),
        'aggregate × real time': Number(aggregate.toFixed(2)),
        'real-time streams held': Math.floor(aggregate),
        'first frame p50 ms': Math.round(pct(firsts, 50)),
        'first frame p99 ms': Math.round(pct(firsts, 99)),
        'frame gap p50 ms': gaps.length ? Math.round(pct(gaps, 50)) : '',
        'frame gap p99 ms': gaps.length ? Math.round(pct(gaps, 99)) : '',
        'RSS peak − idle MB per stream': Number(((rssPeak - rss0) / 2 ** 20 / n).toFixed(1)),
      });
    }
  } finally {
    await server.close();
    await runtime.dispose();
  }
  return {
    title: 'Server: concurrent generation streams on loopback (digits model)',
    rows,
    notes: [
      'Each client streams one clip with pacing "asap"; the server runs at most 2 jobs at once and serves them round-robin, one model window per turn.',
      '"real-time streams held" = floor(aggregate audio seconds per wall second): how many listeners in realtime pacing the machine keeps fed.',
      'Frame gaps are between consecutive audio frames of one stream; first frame is from job start to its first audio frame.',
      'Server and clients share this process; RSS per stream is the peak growth over the idle server divided by the number of streams.',
    ],
  };
}

const num = (v: string | number | undefined) => (typeof v === 'number' ? v : undefined);

/** Frame latency (first frame and inter-frame gap, p50/p99) against the number of concurrent streams. */
export function charts(res: BenchResult): Chart[] {
  const rows = res.rows.filter((r) => typeof r['streams'] === 'number');
  if (rows.length === 0) return [];
  const series = (col: string) => ({ name: col.replace(/ ms$/, ''), values: rows.map((r) => num(r[col])) });
  return [
    {
      kind: 'line',
      file: 'latency',
      title: 'Server: frame latency vs concurrent streams',
      subtitle: 'digits model, loopback, pacing asap, at most 2 jobs at once',
      xLabel: 'concurrent streams',
      yLabel: 'ms',
      categories: rows.map((r) => String(r['streams'])),
      series: ['first frame p50 ms', 'first frame p99 ms', 'frame gap p50 ms', 'frame gap p99 ms'].map(
        series,
      ),
    },
  ];
}
