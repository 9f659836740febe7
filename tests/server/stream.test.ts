import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AudioEvent, JobEvent } from '../../src/client/index.ts';
import { GeneratePipeline } from '../../src/pipelines/index.ts';
import type { Runtime } from '../../src/runtime/index.ts';
import type { SonodiffServer } from '../../src/server/index.ts';
import { connect, DEN, equalBits, GEN, newRuntime, registry, sleep, startServer } from './helpers.ts';

let runtime: Runtime;
let server: SonodiffServer;
/** The same clip generated directly by the pipeline: what the stream must reproduce bit for bit. */
let reference: Float32Array;
const CLIP = { className: 'b', seconds: 2.5, seed: 11, steps: 4 };

beforeAll(async () => {
  runtime = newRuntime();
  server = await startServer(runtime, { limits: { maxFramesPerMessage: 1024 } });
  const pipeline = await GeneratePipeline.load(await registry().get(GEN), runtime, { device: 'cpu' });
  const parts: Float32Array[] = [];
  for await (const c of pipeline.generate({ ...CLIP })) parts.push(c.channels[0]!);
  reference = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    reference.set(p, o);
    o += p.length;
  }
  await pipeline.dispose();
});

afterAll(async () => {
  await server.close();
  await runtime.dispose();
});

function assemble(audio: AudioEvent[]): Float32Array {
  const n = audio.reduce((a, e) => a + e.channels[0]!.length, 0);
  const out = new Float32Array(n);
  for (const e of audio) out.set(e.channels[0]!, e.startFrame);
  return out;
}

function expectContiguous(audio: AudioEvent[]): void {
  let pos = 0;
  audio.forEach((e, i) => {
    expect(e.seq).toBe(i);
    expect(e.startFrame).toBe(pos);
    pos += e.channels[0]!.length;
  });
  expect(audio.at(-1)!.last).toBe(true);
  expect(audio.slice(0, -1).every((e) => !e.last)).toBe(true);
}

describe('streaming generation', () => {
  it('delivers the first audio long before the clip is done, sample-exact and contiguous', async () => {
    const client = await connect(server);
    const t0 = performance.now();
    const job = client.startJob({ kind: 'generate', model: GEN, params: CLIP });
    const audio: AudioEvent[] = [];
    const events: JobEvent[] = [];
    let ttfc = 0;
    for await (const e of job) {
      if (e.type === 'audio') {
        if (audio.length === 0) ttfc = performance.now() - t0;
        audio.push(e);
      } else events.push(e);
    }
    const total = performance.now() - t0;
    const result = await job.result;
    console.log(`time to first chunk ${ttfc.toFixed(0)} ms, whole 2.5 s clip ${total.toFixed(0)} ms`);
    expect(result.status).toBe('done');
    expect(ttfc).toBeLessThan(total * 0.6);
    expect(result.firstChunkMs!).toBeLessThan(result.elapsedMs!);
    expectContiguous(audio);
    expect(events[0]).toMatchObject({
      type: 'job.accepted',
      sampleRate: 8000,
      totalFrames: 20000,
      channels: 1,
    });
    expect(events.filter((e) => e.type === 'job.progress').length).toBeGreaterThanOrEqual(3);
    expect(result.frames).toBe(20000);
    expect(equalBits(assemble(audio), reference)).toBe(true);
    await client.close();
  });

  it('resamples to the requested rate and places bars by tempo', async () => {
    const client = await connect(server);
    const job = client.startJob({
      kind: 'generate',
      model: GEN,
      params: { className: 'a', bars: 1, seed: 1 },
      sampleRate: 44100,
      timing: { bpm: 240, timeSignature: [3, 4], anchor: 0 },
    });
    const { sampleRate, channels } = await job.collect();
    const info = await job.accepted;
    // One 3/4 bar at 240 bpm = 0.75 s.
    expect(info.framesPerBar).toBeCloseTo(0.75 * 44100, 6);
    expect(sampleRate).toBe(44100);
    expect(channels[0]!.length).toBe(info.totalFrames);
    expect(Math.abs(channels[0]!.length - 0.75 * 44100)).toBeLessThanOrEqual(6);
    await client.close();
  });

  it('cancels between model calls', async () => {
    const client = await connect(server);
    const job = client.startJob({ kind: 'generate', model: GEN, params: { className: 'c', seconds: 60 } });
    let chunks = 0;
    let cancelAt = 0;
    for await (const e of job) {
      if (e.type === 'audio' && ++chunks === 2) {
        cancelAt = performance.now();
        job.cancel();
      }
    }
    const result = await job.result;
    const stopMs = performance.now() - cancelAt;
    expect(result.status).toBe('cancelled');
    expect(result.frames).toBeLessThan(60 * 8000 * 0.2);
    expect(stopMs).toBeLessThan(3000);
    expect(server.stats().jobs).toBe(0);
    await client.close();
  });

  it('realtime pacing never runs more than the credit ahead of the consumer', async () => {
    const client = await connect(server);
    const credit = 3;
    const job = client.startJob({
      kind: 'generate',
      model: GEN,
      params: { className: 'a', seconds: 2.5, seed: 11, steps: 4 },
      pacing: 'realtime',
      credit,
    });
    let maxAhead = 0;
    let maxWindowAhead = 0;
    let consumed = 0;
    for await (const e of job) {
      if (e.type === 'audio') {
        consumed++;
        maxAhead = Math.max(maxAhead, job.nextSeq - job.consumed);
        await sleep(40); // a slow player
      } else if (e.type === 'job.progress' && e.window !== null) {
        maxWindowAhead = Math.max(maxWindowAhead, e.window - consumed);
      }
    }
    expect((await job.result).status).toBe('done');
    expect(maxAhead).toBeLessThanOrEqual(credit);
    expect(maxAhead).toBeGreaterThanOrEqual(1);
    // The model itself is at most one window past what the credit allows.
    expect(maxWindowAhead).toBeLessThanOrEqual(credit + 1);
    await client.close();
  });
});

describe('jam', () => {
  it('runs endlessly and applies a parameter change at the next bar', async () => {
    const client = await connect(server);
    const timing = { bpm: 240, timeSignature: [4, 4] as const, anchor: 0.5 };
    const job = client.startJob({
      kind: 'jam',
      model: GEN,
      params: { className: 'a', seed: 2 },
      timing,
      credit: 4,
    });
    const audio: AudioEvent[] = [];
    let updated: Extract<JobEvent, { type: 'job.updated' }> | undefined;
    let framesAtUpdate = 0;
    for await (const e of job) {
      if (e.type === 'audio') {
        audio.push(e);
        if (audio.length === 3) {
          framesAtUpdate = e.startFrame + e.channels[0]!.length;
          job.update({ className: 'c' });
        }
        if (updated && e.startFrame > updated.effectiveFrame + 8000) job.cancel();
      } else if (e.type === 'job.updated') updated = e;
    }
    expect(updated).toBeDefined();
    // Bars of 4 quarters at 240 bpm = 8000 frames; the anchor puts bar 1 at quarter 4 = frame 7000.
    expect((updated!.effectiveFrame - 7000) % 8000).toBe(0);
    expect(updated!.bar).toBe((updated!.effectiveFrame - 7000) / 8000 + 1);
    expect(updated!.effectiveFrame).toBeGreaterThanOrEqual(framesAtUpdate);
    expect(updated!.params.className).toBe('c');
    expect((await job.result).status).toBe('cancelled');
    // Contiguous and finite across the switch.
    let pos = 0;
    for (const e of audio) {
      expect(e.startFrame).toBe(pos);
      pos += e.channels[0]!.length;
      expect(e.channels[0]!.every(Number.isFinite)).toBe(true);
    }
    expect(pos).toBeGreaterThan(updated!.effectiveFrame + 8000);
    await client.close();
  });
});

describe('streaming denoise', () => {
  it('returns exactly as many frames as it got, with a bounded reported latency', async () => {
    const client = await connect(server);
    const n = 8000 * 1.5;
    const input = new Float32Array(n).map((_, i) => 0.3 * Math.sin(i * 0.05) + 0.05 * Math.sin(i * 1.7));
    const block = 256;
    const job = client.startJob({
      kind: 'denoise',
      model: DEN,
      sampleRate: 8000,
      channels: 1,
      params: { seed: 3 },
      input: (function* () {
        for (let s = 0; s < n; s += block) yield [input.subarray(s, Math.min(n, s + block))];
      })(),
    });
    const info = await job.accepted;
    const audio: AudioEvent[] = [];
    let maxLag = 0;
    for await (const e of job) {
      if (e.type !== 'audio') continue;
      audio.push(e);
      // Input the pipeline had taken when this output arrived (credit = taken + initial credit);
      // read at receipt, not when this loop gets to the event, which may be later on a busy machine.
      const taken = Math.min(n, (e.inputCreditAtReceipt - info.inputCredit) * block);
      if (!e.last) maxLag = Math.max(maxLag, taken - (e.startFrame + e.channels[0]!.length));
    }
    console.log(`denoise: reported latency ${info.latencyFrames} frames, measured ${maxLag} frames at 8 kHz`);
    expectContiguous(audio);
    const out = assemble(audio);
    expect(out.length).toBe(n);
    expect(out.every(Number.isFinite)).toBe(true);
    // Half a model window of the fixture (63 STFT hops of 32 = 2016 samples, overlap-added by halves).
    expect(info.latencyFrames).toBe(1008);
    // The bound holds up to one input block, and is tight.
    expect(maxLag).toBeLessThanOrEqual(info.latencyFrames + block);
    expect(maxLag).toBeGreaterThan(info.latencyFrames - block);
    await client.close();
  });
});
