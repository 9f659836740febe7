/**
 * Parity: the TypeScript sampler + ONNX model against the PyTorch reference sampler + PyTorch
 * weights (tests/fixtures/parity/<id>.json, written by training/parity/pipeline_parity.py with
 * the same Philox noise). Same seed, steps and sampler → the same final state within 1e-3.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type Condition,
  createModelDenoiser,
  loadPack,
  planSampling,
  Runtime,
  sample,
} from '../../src/index.ts';

const root = path.resolve(import.meta.dirname, '../..');
const dir = path.join(root, 'tests/fixtures/parity');
// Sampler cases only; features-*.json belong to features.test.ts.
const cases = existsSync(dir)
  ? readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('features-'))
  : [];
const runtime = new Runtime();
afterAll(() => runtime.dispose());

interface ParityCase {
  model: string;
  seed: number;
  steps: number;
  sampler: string;
  className?: string;
  guidance?: number;
  shape: number[];
  output: number[];
}

describe.skipIf(cases.length === 0)('TypeScript pipeline vs PyTorch reference sampler', () => {
  for (const file of cases) {
    it(`${file}: same final state within 1e-3`, async () => {
      const c = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as ParityCase;
      const pack = await loadPack(path.join(root, 'models', c.model));
      const m = pack.manifest;
      const session = await runtime.load(pack.modelPath, { device: 'cpu' });
      const plan = planSampling(m, c.steps, c.sampler);
      const cls = c.className !== undefined ? m.conditioning!.classes!.indexOf(c.className) : undefined;
      const cond: Condition = cls !== undefined ? { classIndex: cls } : {};
      const result = await sample<Condition>({
        denoiser: createModelDenoiser(session, m),
        shape: c.shape,
        levels: plan.levels,
        sampler: plan.sampler,
        prediction: plan.prediction,
        initNoiseScale: plan.initNoiseScale,
        seed: c.seed,
        cond: [cond],
        ...(c.guidance !== undefined && c.guidance !== 1
          ? { guidance: { scale: c.guidance, uncond: [{ classIndex: m.conditioning!.nullClass! }] } }
          : {}),
      });
      let maxDiff = 0;
      for (let i = 0; i < c.output.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs(result.x[i]! - c.output[i]!));
      expect(result.x.length).toBe(c.output.length);
      console.log(`${file}: max |TS − PyTorch| = ${maxDiff.toExponential(2)}`);
      expect(maxDiff).toBeLessThan(1e-3);
      await session.dispose();
    });
  }
});
