import { readFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { float32Tensor, Runtime, SonodiffError } from '../../src/index.ts';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/onnx');
const tiny = path.join(fixtures, 'tiny-denoiser.onnx');
const heavy = path.join(fixtures, 'heavy-conv.onnx');

const runtime = new Runtime({ workers: 1 });
afterAll(() => runtime.dispose());

function fixedInput(): Float32Array {
  return Float32Array.from({ length: 64 }, (_, n) => Math.sin(0.3 * n));
}

describe('Runtime', () => {
  it('runs a model in a worker and matches the PyTorch reference output', async () => {
    const s = await runtime.load(tiny, { device: 'cpu' });
    expect(s.device).toBe('cpu');
    expect(s.inputNames).toEqual(['x', 't']);
    const out = await s.run({
      x: float32Tensor(fixedInput(), [1, 1, 64]),
      t: float32Tensor(Float32Array.of(0.5), [1]),
    });
    const expected = JSON.parse(readFileSync(path.join(fixtures, 'tiny-denoiser.expected.json'), 'utf8')) as {
      output: number[];
    };
    const y = out['out']!.data as Float32Array;
    expect(out['out']!.dims).toEqual([1, 1, 64]);
    let maxErr = 0;
    for (let i = 0; i < 64; i++) maxErr = Math.max(maxErr, Math.abs(y[i]! - expected.output[i]!));
    expect(maxErr).toBeLessThan(1e-5);
    await s.dispose();
  });

  it('auto falls back to CPU and reports why CUDA and WebGPU did not start', async () => {
    const s = await runtime.load(tiny, { device: 'auto' });
    // This machine has no GPU; on one that has, auto picks it and this test still holds for `skipped`.
    if (s.device === 'cpu') {
      expect(s.skipped.map((p) => p.device)).toEqual(['cuda', 'webgpu']);
      for (const p of s.skipped) expect(p.reason.length).toBeGreaterThan(5);
    }
    await s.dispose();
  });

  it('an explicitly requested device that cannot start is an error, not a fallback', async () => {
    const probes = await runtime.probeDevices();
    const cpu = probes.find((p) => p.device === 'cpu');
    expect(cpu?.available).toBe(true);
    const cuda = probes.find((p) => p.device === 'cuda');
    if (cuda && !cuda.available) {
      await expect(runtime.load(tiny, { device: 'cuda' })).rejects.toMatchObject({ code: 'ERR_DEVICE' });
    }
  });

  it('shares one session between handles of the same model', async () => {
    const a = await runtime.load(tiny, { device: 'cpu' });
    const b = await runtime.load(tiny, { device: 'cpu' });
    expect(b.loadMs).toBe(a.loadMs);
    await a.dispose();
    // b still works after a is disposed.
    const out = await b.run({
      x: float32Tensor(fixedInput(), [1, 1, 64]),
      t: float32Tensor(Float32Array.of(0), [1]),
    });
    expect(out['out']!.data.length).toBe(64);
    await b.dispose();
  });

  it('rejects bad arguments and bad models clearly', async () => {
    await expect(runtime.load(path.join(fixtures, 'missing.onnx'))).rejects.toMatchObject({
      code: 'ERR_MODEL',
    });
    await expect(runtime.load(Uint8Array.from([1, 2, 3, 4]), { device: 'cpu' })).rejects.toBeInstanceOf(
      SonodiffError,
    );
    await expect(runtime.load(tiny, { device: 'tpu' as never })).rejects.toThrow(RangeError);
    const s = await runtime.load(tiny, { device: 'cpu' });
    await expect(s.run({ x: float32Tensor(fixedInput(), [1, 1, 64]) })).rejects.toThrow(/missing input "t"/);
    // Wrong rank: the model run fails with a clear error and the worker survives.
    await expect(
      s.run({ x: float32Tensor(fixedInput(), [64]), t: float32Tensor(Float32Array.of(0), [1]) }),
    ).rejects.toMatchObject({ code: 'ERR_MODEL' });
    const ok = await s.run({
      x: float32Tensor(fixedInput(), [1, 1, 64]),
      t: float32Tensor(Float32Array.of(0), [1]),
    });
    expect(ok['out']!.dims).toEqual([1, 1, 64]);
    await s.dispose();
  });

  it('keeps the event loop responsive while a model runs', async () => {
    const s = await runtime.load(heavy, { device: 'cpu' });
    const n = 200_000;
    const x = float32Tensor(new Float32Array(n).fill(0.1), [1, 1, n]);
    const t0 = performance.now();
    await s.run({ x });
    const callMs = performance.now() - t0;
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    // A timer keeps the loop busy so delay is sampled throughout.
    const ticker = setInterval(() => {}, 1);
    for (let i = 0; i < 4; i++) await s.run({ x });
    clearInterval(ticker);
    h.disable();
    const p99 = h.percentile(99) / 1e6;
    // The model call is long (tens of ms or more); the loop delay stays far below it.
    expect(callMs).toBeGreaterThan(20);
    expect(p99).toBeLessThan(Math.max(20, callMs / 2));
    await s.dispose();
  });
});
