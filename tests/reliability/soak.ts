/**
 * Load and soak on loopback: many clients connect, stream and disconnect (cleanly, by vanishing, or
 * after sending garbage) against one in-process server with the tiny fixture packs, for a fixed time.
 * Reports the RSS slope (least-squares MB/min over samples after a warm-up), open file descriptors
 * before and after (/proc/self/fd), and frame latencies. Bounded in clients and time; stops by itself.
 *
 *   node --expose-gc tests/reliability/soak.ts [seconds=90] [concurrency=8]
 *
 * The test (soak.test.ts) runs a 15-second version.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ModelRegistry } from '../../src/packs/index.ts';
import { encodeFrame } from '../../src/protocol/index.ts';
import { Runtime } from '../../src/runtime/index.ts';
import { createServer, type ServerStats } from '../../src/server/index.ts';
import { RawClient } from './raw-client.ts';

const PACKS = path.resolve(import.meta.dirname, '../fixtures/packs');
const GEN = 'tiny-mel-generate';
const DEN = 'tiny-stft-denoise';

export interface SoakOptions {
  durationMs: number;
  /** Clients alive at once. */
  concurrency: number;
  /** Sessions of dropped clients expire after this (so they are gone by the end). */
  resumeTimeoutMs?: number;
  seed?: number;
  /** Load before measuring starts (JIT, onnxruntime arenas and pools warm up). Default 20 % of the run.
   * Client counts by kind and latencies include it; fds, RSS and `clients` do not. */
  warmupMs?: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  seconds: number;
  clients: number;
  byKind: Record<string, number>;
  jobsDone: number;
  jobsFailed: number;
  framesReceived: number;
  framesSent: number;
  /** Least-squares slope of RSS (sampled each second after a GC when exposed) over the measured run. */
  rssSlopeMbPerMin: number;
  /** The same over the second half only: near 0 when growth was warm-up that levelled off. */
  rssSlopeSecondHalfMbPerMin: number;
  rssStartMb: number;
  rssEndMb: number;
  rssMaxMb: number;
  heapUsedEndMb: number;
  /** ArrayBuffers and other memory outside the JS heap at the end. */
  externalEndMb: number;
  /** V8's committed heap at the first and last sample (RSS growth not explained by it is native). */
  heapTotalStartMb: number;
  heapTotalEndMb: number;
  fdsBefore: number;
  fdsAfter: number;
  /** Input frame sent → its ack received (denoise streams), ms. */
  ackP50Ms: number;
  ackP99Ms: number;
  /** Gap between consecutive output frames of one job, ms. */
  gapP50Ms: number;
  gapP99Ms: number;
  /** job.start → first output frame, ms. */
  firstFrameP99Ms: number;
  statsAfter: ServerStats;
  clientErrors: string[];
}

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

function rssMb(): number {
  // VmRSS from /proc: the same figure `ps` shows, without process.memoryUsage()'s heap walk.
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 2 ** 20;
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Kind = 'generate' | 'generate-drop' | 'denoise' | 'denoise-drop' | 'garbage';

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => {});
  const random = rng(opts.seed ?? 1);
  const gc = (globalThis as { gc?: () => void }).gc;
  const runtime = new Runtime({ workers: 1 });
  const server = await createServer({
    port: 0,
    registry: new ModelRegistry({ dirs: [PACKS], env: {} }),
    runtime,
    device: 'cpu',
    webDir: null,
    maxJobs: 2,
    limits: { resumeTimeoutMs: opts.resumeTimeoutMs ?? 1500, maxFramesPerMessage: 1024 },
  });
  const acks: number[] = [];
  const gaps: number[] = [];
  const firsts: number[] = [];
  const byKind: Record<string, number> = {};
  const clientErrors: string[] = [];
  let jobsDone = 0;
  let jobsFailed = 0;
  let framesReceived = 0;
  let framesSent = 0;
  let clients = 0;

  const terminalOf = (c: RawClient, job: number) =>
    c.log.find(
      (m) =>
        (m.type === 'job.done' || m.type === 'job.cancelled' || (m.type === 'error' && m.terminal)) &&
        (m as { job?: number }).job === job,
    );

  const recordFrames = (c: RawClient, job: number, t0: number) => {
    const fs = c.frames(job);
    framesReceived += fs.length;
    if (fs.length > 0) firsts.push(fs[0]!.at - t0);
    for (let i = 1; i < fs.length; i++) gaps.push(fs[i]!.at - fs[i - 1]!.at);
  };

  async function generateClient(drop: boolean): Promise<void> {
    const c = await RawClient.hello(server.wsUrl);
    const t0 = performance.now();
    const seconds = 0.5 + Math.floor(random() * 4) * 0.5;
    c.send({
      type: 'job.start',
      job: 1,
      kind: 'generate',
      model: GEN,
      params: {
        className: 'abc'[Math.floor(random() * 3)]!,
        seconds,
        seed: Math.floor(random() * 1000),
        steps: 2,
      },
      ...(drop ? { pacing: 'realtime', credit: 3 } : {}),
    });
    if (drop) {
      await c.until(() => c.frames(1).length >= 1 || terminalOf(c, 1), 30_000);
      await sleep(random() * 200);
      recordFrames(c, 1, t0);
      c.drop();
      return;
    }
    const t = await c.until(() => terminalOf(c, 1), 60_000);
    if (t.type === 'job.done') jobsDone++;
    else jobsFailed++;
    recordFrames(c, 1, t0);
    await c.close();
  }

  async function denoiseClient(drop: boolean): Promise<void> {
    const c = await RawClient.hello(server.wsUrl);
    const t0 = performance.now();
    c.send({
      type: 'job.start',
      job: 1,
      kind: 'denoise',
      model: DEN,
      sampleRate: 8000,
      channels: 1,
      params: { steps: 2 },
    });
    const acc = await c.until(() => c.find('job.accepted', 1) ?? terminalOf(c, 1), 30_000);
    if (acc.type !== 'job.accepted') {
      jobsFailed++;
      await c.close();
      return;
    }
    const total = 4 + Math.floor(random() * 12);
    const stopAt = drop ? 1 + Math.floor(random() * (total - 1)) : total;
    const sentAt: number[] = [];
    let limit = acc.inputCredit;
    for (let seq = 0; seq < stopAt; seq++) {
      // Flow control: the credit limit only grows; wait for it.
      await c.until(() => {
        for (const m of c.log) if (m.type === 'credit' && m.job === 1) limit = Math.max(limit, m.limit);
        return seq < limit || terminalOf(c, 1);
      }, 30_000);
      if (terminalOf(c, 1)) break;
      const ch = Float32Array.from(
        { length: 512 },
        (_, i) => 0.3 * Math.sin(0.07 * (seq * 512 + i)) + 0.05 * (random() - 0.5),
      );
      c.ws.send(
        encodeFrame({
          kind: 'in',
          job: 1,
          seq,
          sampleRate: 8000,
          startFrame: seq * 512,
          last: seq === total - 1,
          replay: false,
          channels: [ch],
        }),
      );
      sentAt[seq] = performance.now();
      framesSent++;
    }
    if (drop) {
      await sleep(random() * 100);
      c.drop();
    } else {
      const t = await c.until(() => terminalOf(c, 1), 60_000);
      if (t.type === 'job.done') jobsDone++;
      else jobsFailed++;
      await c.close();
    }
    c.log.forEach((m, i) => {
      if (m.type === 'ack' && sentAt[m.seq] !== undefined) acks.push(c.times[i]! - sentAt[m.seq]!);
    });
    recordFrames(c, 1, t0);
  }

  async function garbageClient(): Promise<void> {
    const c = await RawClient.hello(server.wsUrl);
    for (let i = 0; i < 5; i++) {
      const b = new Uint8Array(8 + Math.floor(random() * 64)).map(() => Math.floor(random() * 256));
      if (random() < 0.5) c.ws.send(b, { binary: true });
      else
        c.ws.send(
          `{"type":"job.start","job":${i + 1},"kind":"generate","model":"${random() < 0.5 ? GEN : 'x/../y'}","params":${random() < 0.5 ? '{}' : '['}}`,
        );
    }
    await sleep(50 + random() * 200);
    if (random() < 0.5) c.drop();
    else await c.close();
  }

  async function worker(end: number): Promise<void> {
    while (performance.now() < end) {
      const r = random();
      const kind: Kind =
        r < 0.35
          ? 'generate'
          : r < 0.5
            ? 'generate-drop'
            : r < 0.75
              ? 'denoise'
              : r < 0.88
                ? 'denoise-drop'
                : 'garbage';
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      clients++;
      try {
        if (kind === 'generate' || kind === 'generate-drop') await generateClient(kind === 'generate-drop');
        else if (kind === 'denoise' || kind === 'denoise-drop') await denoiseClient(kind === 'denoise-drop');
        else await garbageClient();
      } catch (err) {
        if (clientErrors.length < 20) clientErrors.push(`${kind}: ${(err as Error).message}`);
      }
    }
  }

  const quiet = async () => {
    const by = Date.now() + (opts.resumeTimeoutMs ?? 1500) + 10_000;
    while (Date.now() < by) {
      const s = server.stats();
      if (s.connections === 0 && s.sessions === 0 && s.jobs === 0) return;
      await sleep(50);
    }
  };
  const warmupMs = opts.warmupMs ?? opts.durationMs * 0.2;
  const warmEnd = performance.now() + warmupMs;
  await Promise.all(Array.from({ length: opts.concurrency }, () => worker(warmEnd)));
  await quiet();
  gc?.();
  const fdsBefore = fdCount();
  log(`warm-up done: ${clients} clients, ${fdsBefore} fds, ${rssMb().toFixed(1)} MB RSS`);
  const warmupClients = clients;
  const samples: Array<{ t: number; rss: number; heapTotal: number }> = [];
  const start = performance.now();
  const sampler = setInterval(() => {
    gc?.();
    samples.push({
      t: (performance.now() - start) / 60_000,
      rss: rssMb(),
      heapTotal: process.memoryUsage().heapTotal / 2 ** 20,
    });
  }, 1000);
  await Promise.all(Array.from({ length: opts.concurrency }, () => worker(start + opts.durationMs)));
  clearInterval(sampler);
  log(
    `load phase done after ${((performance.now() - start) / 1000).toFixed(1)} s, ${clients - warmupClients} clients`,
  );
  // Let dropped sessions expire, then count what is left while the server still runs.
  await quiet();
  gc?.();
  await sleep(200);
  const fdsAfter = fdCount();
  const statsAfter = server.stats();
  await server.close();
  await runtime.dispose();
  const slopeOf = (xs: typeof samples) =>
    xs.length >= 3
      ? slope(
          xs.map((s) => s.t),
          xs.map((s) => s.rss),
        )
      : Number.NaN;
  const rssSlope = slopeOf(samples);
  const secondHalf = slopeOf(samples.slice(Math.floor(samples.length / 2)));
  const mem = process.memoryUsage();
  return {
    seconds: opts.durationMs / 1000,
    clients: clients - warmupClients,
    byKind,
    jobsDone,
    jobsFailed,
    framesReceived,
    framesSent,
    rssSlopeMbPerMin: rssSlope,
    rssSlopeSecondHalfMbPerMin: secondHalf,
    rssStartMb: samples[0]?.rss ?? Number.NaN,
    rssEndMb: samples.at(-1)?.rss ?? Number.NaN,
    rssMaxMb: Math.max(...samples.map((s) => s.rss)),
    heapUsedEndMb: mem.heapUsed / 2 ** 20,
    externalEndMb: mem.external / 2 ** 20,
    heapTotalStartMb: samples[0]?.heapTotal ?? Number.NaN,
    heapTotalEndMb: samples.at(-1)?.heapTotal ?? Number.NaN,
    fdsBefore,
    fdsAfter,
    ackP50Ms: percentile(acks, 50),
    ackP99Ms: percentile(acks, 99),
    gapP50Ms: percentile(gaps, 50),
    gapP99Ms: percentile(gaps, 99),
    firstFrameP99Ms: percentile(firsts, 99),
    statsAfter,
    clientErrors,
  };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === import.meta.filename) {
  const seconds = Number(process.argv[2] ?? 90);
  const concurrency = Number(process.argv[3] ?? 8);
  const report = await runSoak({ durationMs: seconds * 1000, concurrency, log: (l) => console.error(l) });
  console.log(
    JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v), 2),
  );
}
