import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  GeneratePipeline,
  importDiffusersFolder,
  loadPack,
  ModelRegistry,
  Runtime,
} from '../../src/index.ts';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/diffusers');
const runtime = new Runtime();
afterAll(() => runtime.dispose());

async function generate(p: GeneratePipeline, seed: number, seconds: number) {
  const parts: Float32Array[] = [];
  for await (const c of p.generate({ seed, seconds, steps: 4 })) parts.push(c.channels[0]!);
  return Float32Array.from(parts.flatMap((x) => Array.from(x)));
}

describe('diffusers ONNX folders', () => {
  it('imports a UNet1D (DanceDiffusion-style) folder as a waveform pack and generates with it', async () => {
    const pack = await importDiffusersFolder(path.join(fixtures, 'tiny-dance'));
    expect(pack.manifest).toMatchObject({
      id: 'tiny-dance',
      representation: 'waveform',
      sampleRate: 8000,
      prediction: 'v_prediction',
      io: { inputs: { sample: 'sample', timestep: 'timestep' }, output: 'out_sample', windowLength: 2048 },
    });
    expect(pack.manifest.defaults.sampler).toBe('ddim');
    const p = await GeneratePipeline.load(pack, runtime, { device: 'cpu' });
    const a = await generate(p, 1, 0.2);
    expect(a.length).toBe(1600);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(Array.from(await generate(p, 1, 0.2))).toEqual(Array.from(a));
    await p.dispose();
  });

  it('imports a UNet2D + mel config (AudioDiffusion-style) folder with an int64 timestep', async () => {
    const pack = await loadPack(path.join(fixtures, 'tiny-audio-diffusion'));
    expect(pack.manifest.representation).toBe('mel');
    expect(pack.manifest.spectrogram).toMatchObject({
      nMels: 16,
      power: 2,
      compression: 'log10',
      scale: 0.25,
    });
    expect(pack.manifest.defaults.sampler).toBe('ddpm');
    const p = await GeneratePipeline.load(pack, runtime, { device: 'cpu' });
    const a = await generate(p, 3, 0.25);
    expect(a.length).toBe(2000);
    expect(a.every(Number.isFinite)).toBe(true);
    await p.dispose();
  });

  it('is found by the registry beside sonodiff packs', async () => {
    const reg = new ModelRegistry({ dirs: [fixtures], env: {} });
    const ids = (await reg.list()).map((p) => p.manifest.id);
    expect(ids).toEqual(expect.arrayContaining(['tiny-audio-diffusion', 'tiny-dance']));
    expect(await reg.problems()).toEqual([]);
  });
});
