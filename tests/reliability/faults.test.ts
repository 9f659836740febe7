/**
 * Faults on the server side: a client that vanishes mid-stream, a model run that throws, a runtime
 * worker that dies, broken ONNX files, and garbage on the socket. Each fault ends at most the jobs it
 * touches with a clear error; the server, the other jobs and later jobs go on.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry } from '../../src/packs/index.ts';
import { GeneratePipeline } from '../../src/pipelines/index.ts';
import { encodeFrame } from '../../src/protocol/index.ts';
import { float32Tensor, Runtime } from '../../src/runtime/index.ts';
import { createServer, type SonodiffServer } from '../../src/server/index.ts';
import { mutate, mutationsArb, ROOT } from './fuzz-helpers.ts';
import { RawClient } from './raw-client.ts';

const fixtures = path.join(ROOT, 'tests/fixtures/packs');
const GEN = 'tiny-mel-generate';
const DEN = 'tiny-stft-denoise';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-faults-'));
const packs = path.join(tmp, 'packs');
let runtime: Runtime;
let server: SonodiffServer;
const logLines: string[] = [];

/** A copy of fixture pack `from` named `id`, with manifest edits and optionally other ONNX bytes. */
/** The manifest fields these tests edit. */
interface ManifestJson {
  [key: string]: unknown;
  spectrogram: { nMels: number };
  io: { inputs: Record<string, string> };
}

function makePack(id: string, from: string, edit: (m: ManifestJson) => void, onnx?: Uint8Array): void {
  const dir = path.join(packs, id);
  mkdirSync(dir, { recursive: true });
  const m = JSON.parse(readFileSync(path.join(fixtures, from, 'sonodiff.json'), 'utf8')) as ManifestJson;
  m['id'] = id;
  edit(m);
  writeFileSync(path.join(dir, 'sonodiff.json'), JSON.stringify(m, null, 2));
  if (onnx) writeFileSync(path.join(dir, 'model.onnx'), onnx);
  else copyFileSync(path.join(fixtures, from, 'model.onnx'), path.join(dir, 'model.onnx'));
}

beforeAll(async () => {
  for (const p of [GEN, DEN]) makePack(p, p, () => {});
  // The model's class embedding has 4 rows (3 classes + null): class index 7 makes the run fail,
  // classes a–c (and the null class 3 that guidance uses) run.
  makePack('runfail', GEN, (m) => {
    m['conditioning'] = { classes: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], nullClass: 3 };
  });
  const good = readFileSync(path.join(fixtures, GEN, 'model.onnx'));
  makePack(
    'corrupt-onnx',
    GEN,
    () => {},
    Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24),
  );
  makePack('truncated-onnx', GEN, () => {}, good.subarray(0, Math.floor(good.length / 2)));
  makePack('wrong-shape', GEN, (m) => {
    m.spectrogram.nMels = 20; // the model's sample input is [b, 1, 16, t]
  });
  makePack('wrong-io', GEN, (m) => {
    m.io.inputs['class'] = 'labels';
  });
  runtime = new Runtime({ workers: 1 });
  server = await createServer({
    port: 0,
    registry: new ModelRegistry({ dirs: [packs], env: {} }),
    runtime,
    device: 'cpu',
    webDir: null,
    limits: { resumeTimeoutMs: 600, maxFramesPerMessage: 1024, maxMessagesPerSecond: 10_000 },
    log: (l) => logLines.push(l),
  });
});

afterAll(async () => {
  await server?.close();
  await runtime?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilStats(pred: (s: ReturnType<SonodiffServer['stats']>) => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!pred(server.stats())) {
    if (Date.now() > end) throw new Error(`stats never matched: ${JSON.stringify(server.stats())}`);
    await sleep(20);
  }
  return server.stats();
}

function generate(c: RawClient, job: number, model: string, params: Record<string, unknown>, extra = {}) {
  c.send({ type: 'job.start', job, kind: 'generate', model, params, ...extra });
}

/** The terminal message of a job: job.done, job.cancelled or a terminal error. */
function terminal(c: RawClient, job: number) {
  return c.until(() =>
    c.log.find(
      (m) =>
        (m.type === 'job.done' || m.type === 'job.cancelled' || (m.type === 'error' && m.terminal)) &&
        (m as { job?: number }).job === job,
    ),
  );
}

describe('faults: clients that vanish', () => {
  it('a client dropped mid-stream: the job is kept for resume, then freed when the session expires', async () => {
    const c = await RawClient.hello(server.wsUrl);
    // Realtime with little credit: the job waits on the client, as a player would.
    generate(c, 1, GEN, { className: 'a', seconds: 30 }, { pacing: 'realtime', credit: 2 });
    await c.until(() => c.frames(1).length >= 1);
    c.drop();
    const kept = await untilStats((s) => s.connections === 0);
    expect(kept.sessions).toBe(1);
    expect(kept.jobs).toBe(1);
    const freed = await untilStats((s) => s.sessions === 0 && s.jobs === 0, 5000);
    expect(freed).toEqual({ connections: 0, sessions: 0, jobs: 0, jobsComputing: 0, turnsWaiting: 0 });
  });

  it('a client dropped in the middle of a denoise input stream frees the job and its model turn', async () => {
    const c = await RawClient.hello(server.wsUrl);
    c.send({ type: 'job.start', job: 1, kind: 'denoise', model: DEN, sampleRate: 8000, channels: 1 });
    await c.until(() => c.find('job.accepted', 1));
    for (let seq = 0; seq < 3; seq++) {
      const ch = Float32Array.from({ length: 1024 }, (_, i) => 0.3 * Math.sin(0.05 * (i + seq * 1024)));
      c.ws.send(
        encodeFrame({
          kind: 'in',
          job: 1,
          seq,
          sampleRate: 8000,
          startFrame: seq * 1024,
          last: false,
          replay: false,
          channels: [ch],
        }),
      );
    }
    await c.until(() => c.log.filter((m) => m.type === 'ack').length === 3);
    c.drop();
    await untilStats((s) => s.connections === 0);
    const freed = await untilStats((s) => s.sessions === 0 && s.jobs === 0, 5000);
    expect(freed.jobsComputing).toBe(0);
    expect(freed.turnsWaiting).toBe(0);
  });

  it('300 garbage messages on one socket get errors; the server keeps serving others', async () => {
    const bad = await RawClient.hello(server.wsUrl);
    const valid = encodeFrame({
      kind: 'in',
      job: 1,
      seq: 0,
      sampleRate: 8000,
      startFrame: 0,
      last: false,
      replay: false,
      channels: [new Float32Array(64)],
    });
    const text = Buffer.from(
      JSON.stringify({ type: 'job.start', job: 1, kind: 'generate', model: GEN, params: { className: 'a' } }),
    );
    const inputs = fc.sample(fc.tuple(fc.boolean(), mutationsArb), { numRuns: 300, seed: 42 });
    for (const [binary, edits] of inputs) {
      if (binary) bad.ws.send(mutate(valid, edits), { binary: true });
      else bad.ws.send(Buffer.from(mutate(text, edits)).toString('utf8'));
    }
    await bad.until(
      () => bad.log.filter((m) => m.type === 'error').length >= 200 || bad.closeCode !== undefined,
    );
    const errors = bad.log.filter((m) => m.type === 'error');
    expect(errors.length).toBeGreaterThanOrEqual(200);
    expect(errors.every((e) => e.type === 'error' && e.message.length > 0)).toBe(true);
    // Every answer names what was wrong; none is an internal failure of the server.
    const codes = new Set(errors.map((e) => (e as { code: string }).code));
    expect(codes.has('INTERNAL')).toBe(false);
    expect(codes.has('BAD_FRAME') && codes.has('BAD_MESSAGE')).toBe(true);
    const good = await RawClient.hello(server.wsUrl);
    generate(good, 1, GEN, { className: 'b', seconds: 0.5, seed: 1 });
    expect((await terminal(good, 1)).type).toBe('job.done');
    await bad.close();
    await good.close();
  });
});

describe('faults: models that fail', () => {
  it('a model run that throws fails that job only; a concurrent job and the next job on the same model succeed', async () => {
    const a = await RawClient.hello(server.wsUrl);
    const b = await RawClient.hello(server.wsUrl);
    generate(a, 1, 'runfail', { className: 'h', seconds: 1 });
    generate(b, 1, GEN, { className: 'a', seconds: 2, seed: 3 });
    const failed = await terminal(a, 1);
    expect(failed).toMatchObject({ type: 'error', code: 'MODEL_ERROR', terminal: true, job: 1 });
    expect((failed as { message: string }).message).toMatch(
      /model run failed: .*(indices|out of|bounds|range)/i,
    );
    expect((await terminal(b, 1)).type).toBe('job.done');
    generate(a, 2, 'runfail', { className: 'a', seconds: 0.5 });
    expect((await terminal(a, 2)).type).toBe('job.done');
    expect(server.stats().jobs).toBe(0);
    await a.close();
    await b.close();
  });

  it.each([
    ['corrupt-onnx', /failed to load: .*cannot load model/],
    ['truncated-onnx', /failed to load: .*cannot load model/],
    [
      'wrong-shape',
      /failed to load: .*input "sample" has shape \[b, 1, 16, t\] but the manifest gives \[batch, 1, 20, frames\]/,
    ],
    ['wrong-io', /failed to load: .*has no input "labels"/],
  ])('%s: the job fails at load with a clear MODEL_ERROR', async (model, message) => {
    const c = await RawClient.hello(server.wsUrl);
    generate(c, 1, model, { className: 'a', seconds: 0.5 });
    const t = await terminal(c, 1);
    expect(t).toMatchObject({ type: 'error', code: 'MODEL_ERROR', terminal: true });
    expect((t as { message: string }).message).toMatch(message);
    expect((t as { message: string }).message).not.toContain('\n');
    // No audio went out for it, and the server still serves the good model.
    expect(c.frames(1)).toHaveLength(0);
    generate(c, 2, GEN, { className: 'c', seconds: 0.5 });
    expect((await terminal(c, 2)).type).toBe('job.done');
    await c.close();
  });

  it('broken ONNX files are refused by Runtime.load with ERR_MODEL naming the file', async () => {
    for (const id of ['corrupt-onnx', 'truncated-onnx']) {
      const file = path.join(packs, id, 'model.onnx');
      await expect(runtime.load(file, { device: 'cpu' })).rejects.toMatchObject({
        code: 'ERR_MODEL',
        message: expect.stringMatching(new RegExp(`^${file}: cannot load model: `)),
      });
    }
    const registry = new ModelRegistry({ dirs: [packs], env: {} });
    await expect(
      GeneratePipeline.load(await registry.get('wrong-shape'), runtime, { device: 'cpu' }),
    ).rejects.toMatchObject({
      code: 'ERR_MODEL',
    });
  });
});

/** The runtime's worker threads (private; reached here only to kill one). */
function workersOf(rt: Runtime): Array<{ dead: boolean; worker: { terminate(): Promise<number> } }> {
  return (rt as unknown as { workers: Array<{ dead: boolean; worker: { terminate(): Promise<number> } }> })
    .workers;
}

describe('faults: the runtime worker dies', () => {
  // Ending a worker thread while onnxruntime runs on it aborts the whole process ("terminate called
  // after throwing an instance of 'Napi::Error'", 6 of 8 tries): these tests kill it between calls,
  // and check that dispose() no longer does it mid-call (docs/reliability.md).
  it('after the worker dies, the same session handle and new handles run on a new worker', async () => {
    const rt = new Runtime({ workers: 1 });
    try {
      const model = path.join(ROOT, 'tests/fixtures/onnx/heavy-conv.onnx');
      const s = await rt.load(model, { device: 'cpu' });
      const x = float32Tensor(new Float32Array(4096).fill(0.1), [1, 1, 4096]);
      const before = (await s.run({ x }))['y']!.data as Float32Array;
      const dying = workersOf(rt)[0]!;
      await dying.worker.terminate();
      expect(dying.dead).toBe(true);
      const after = (await s.run({ x }))['y']!.data as Float32Array;
      expect(Buffer.from(after.buffer).equals(Buffer.from(before.buffer))).toBe(true);
      expect(workersOf(rt).filter((w) => !w.dead)).toHaveLength(1);
      expect(workersOf(rt)[0]).not.toBe(dying);
      // A new handle shares the revived session; disposing the old one does not release it.
      const s2 = await rt.load(model, { device: 'cpu' });
      await s.dispose();
      expect(((await s2.run({ x }))['y']!.data as Float32Array).length).toBe(4096);
      await s2.dispose();
    } finally {
      await rt.dispose();
    }
  });

  it('dispose() during a model call lets the call finish instead of aborting the process', async () => {
    const rt = new Runtime({ workers: 1 });
    const s = await rt.load(path.join(ROOT, 'tests/fixtures/onnx/heavy-conv.onnx'), { device: 'cpu' });
    const x = float32Tensor(new Float32Array(200_000).fill(0.1), [1, 1, 200_000]);
    const inFlight = s.run({ x });
    await sleep(5);
    await rt.dispose();
    expect(((await inFlight)['y']!.data as Float32Array).length).toBe(200_000);
    await expect(s.run({ x })).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
  });

  it('a server whose worker died between model turns finishes the job on a new worker', async () => {
    const c = await RawClient.hello(server.wsUrl);
    // Realtime with two frames of credit: the job parks between model turns, waiting on the client.
    generate(c, 1, GEN, { className: 'a', seconds: 3, seed: 5 }, { pacing: 'realtime', credit: 2 });
    await c.until(() => c.frames(1).length >= 2);
    await untilStats((s) => s.jobsComputing === 0);
    const old = workersOf(runtime).find((w) => !w.dead)!;
    await old.worker.terminate();
    c.send({ type: 'credit', job: 1, limit: 1000 });
    const t = await terminal(c, 1);
    expect(t).toMatchObject({ type: 'job.done', frames: 24_000 });
    expect(workersOf(runtime).some((w) => !w.dead && w !== old)).toBe(true);
    // Contiguous audio across the crash.
    let pos = 0;
    for (const { frame } of c.frames(1)) {
      expect(frame.startFrame).toBe(pos);
      pos += frame.channels[0]!.length;
    }
    expect(pos).toBe(24_000);
    generate(c, 2, GEN, { className: 'b', seconds: 0.5 });
    expect((await terminal(c, 2)).type).toBe('job.done');
    expect(server.stats().jobs).toBe(0);
    await c.close();
  });
});
