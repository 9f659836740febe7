/**
 * Tempo-locked loops on the tiny-mel-loops fixture (the loops pack's representation and IO: 16 kHz
 * mel, hop 256, tags + bpm/key/bars controls, circular network with a beat grid from bpm).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AudioChunk,
  conditionFor,
  decodeLoop,
  type Feeds,
  GeneratePipeline,
  loadPack,
  type ModelPack,
  type ModelSession,
  melFilterbank,
  melToLinear,
  planLoop,
  Runtime,
  representationFor,
  type SessionOptions,
  unconditionalFor,
} from '../../src/index.ts';
import { isSeamless, seamReport } from './loop-metrics.ts';

const packs = path.resolve(import.meta.dirname, '../fixtures/packs');

/** A runtime that records every model call's feeds. */
class RecordingRuntime extends Runtime {
  readonly calls: Feeds[] = [];
  override async load(source: string | Uint8Array, options?: SessionOptions): Promise<ModelSession> {
    const session = await super.load(source, options);
    const run = session.run.bind(session);
    session.run = (feeds, outputs) => {
      this.calls.push(feeds);
      return run(feeds, outputs);
    };
    return session;
  }
}

const runtime = new RecordingRuntime();
let loops: ModelPack;
let pipeline: GeneratePipeline;

beforeAll(async () => {
  loops = await loadPack(path.join(packs, 'tiny-mel-loops'));
  pipeline = await GeneratePipeline.load(loops, runtime, { device: 'cpu' });
});
afterAll(async () => {
  await pipeline.dispose();
  await runtime.dispose();
});

async function mono(it: AsyncIterable<AudioChunk>): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for await (const c of it) parts.push(c.channels[0]!);
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('mel decoding', () => {
  it('leaves the linear bins under 20 Hz empty and tapers them up to 40 Hz (16 kHz, n_fft 1024)', () => {
    const rep = representationFor(loops.manifest);
    const frames = 8;
    const x = new Float32Array(rep.rows * frames).fill(0.5); // a loud, flat mel in every band
    const { magnitude } = rep.spectrum!(x, frames) as {
      kind: 'magnitude';
      magnitude: { bins: number; data: Float32Array };
    };
    // The same mel inverted without the low-band shaping.
    const sp = loops.manifest.spectrogram!;
    const fb = melFilterbank({
      sampleRate: 16000,
      nFft: sp.nFft,
      nMels: sp.nMels!,
      fMin: sp.fMin ?? 0,
      fMax: sp.fMax ?? 8000,
      scale: 'slaney',
      norm: 'slaney',
    });
    const mel = new Float32Array(frames * rep.rows).fill(Math.exp(0.5 / sp.scale! + sp.shift!));
    const raw = melToLinear({ frames, bins: rep.rows, data: mel }, fb, { power: 1 });
    const { bins, data } = magnitude;
    expect(raw.bins).toBe(bins);
    for (let f = 0; f < frames; f++) {
      const at = (b: number) => data[f * bins + b]!;
      const rawAt = (b: number) => raw.data[f * bins + b]!;
      expect(at(0)).toBe(0);
      expect(at(1)).toBe(0); // 15.6 Hz
      expect(rawAt(2)).toBeGreaterThan(0);
      expect(at(2) / rawAt(2)).toBeCloseTo((31.25 / 40) ** 2, 5); // 31.3 Hz
      expect(at(3)).toBe(rawAt(3)); // 46.9 Hz: untouched
      expect(at(100)).toBe(rawAt(100));
    }
  });
});

describe('planLoop', () => {
  it('gives L = round(bars·4·60/bpm·rate) samples, T a multiple of 4 frames, and the tempo T frames hold', () => {
    const rep = representationFor(loops.manifest);
    const p = planLoop(loops.manifest, rep, { controls: { bpm: 97, bars: 1 } });
    expect(p.samples).toBe(Math.round(((1 * 4 * 60) / 97) * 16000));
    expect(p.samples).toBe(39588);
    expect(p.frames).toBe(156); // round(39588 / 256 / 4) · 4
    expect(p.modelBpm).toBeCloseTo((1 * 4 * 60 * 16000) / (156 * 256), 9);
    // Defaults: 2 bars at 120 BPM = 64000 samples; 250 frames rounds to 252.
    const d = planLoop(loops.manifest, rep, {});
    expect([d.samples, d.frames]).toEqual([64000, 252]);
    expect(d.modelBpm).toBeCloseTo((2 * 4 * 60 * 16000) / (252 * 256), 9);
    // A length in seconds that is whole bars (a server job's `bars`) sets the bars control.
    const s = planLoop(loops.manifest, rep, { seconds: (3 * 240) / 150, controls: { bpm: 150 } });
    expect(s.controls['bars']).toBe(3);
    expect(planLoop(loops.manifest, rep, { seconds: 1.1, controls: { bpm: 150 } }).controls['bars']).toBe(
      undefined,
    );
    expect(() => planLoop(loops.manifest, rep, { seconds: -1 })).toThrow(/seconds/);
  });
});

describe('classifier-free guidance with structural controls', () => {
  it('keeps guided: false controls (bpm, bars) in the unconditional pass and drops the rest', () => {
    const m = loops.manifest;
    const cond = conditionFor(m, {
      tags: ['drums', 'keys'],
      controls: { bpm: 125, key: 'A minor', bars: 3 },
    });
    expect(Array.from(cond.controls!)).toEqual([
      Math.fround(55 / 110),
      Math.fround(20 / 24),
      Math.fround(2 / 3),
    ]);
    const u = unconditionalFor(m, cond);
    // bpm and bars as in the conditional pass; key back to index 0 = "any"; no tags.
    expect(Array.from(u.controls!)).toEqual([Math.fround(55 / 110), 0, Math.fround(2 / 3)]);
    expect(Array.from(u.tags!)).toEqual([0, 0, 0, 0]);
    // Without `guided`, controls are zeroed in the unconditional pass as before.
    const plain = structuredClone(m);
    for (const spec of Object.values(plain.conditioning!.controls!)) delete spec.guided;
    expect(Array.from(unconditionalFor(plain, cond).controls!)).toEqual([0, 0, 0]);
  });

  it('feeds the model the effective tempo in both passes', async () => {
    runtime.calls.length = 0;
    await mono(
      pipeline.generate({
        tags: ['bass'],
        controls: { bpm: 97, bars: 1, key: 'C# minor' },
        seed: 4,
        steps: 2,
      }),
    );
    const bpmEff = (4 * 60 * 16000) / (156 * 256);
    const first = runtime.calls[0]!;
    expect(first['controls']!.dims).toEqual([2, 3]);
    expect(first['sample']!.dims).toEqual([2, 1, 80, 156]);
    const c = Array.from(first['controls']!.data as Float32Array);
    const bpm = Math.fround((bpmEff - 70) / 110);
    expect(c).toEqual([bpm, Math.fround(4 / 24), 0, bpm, 0, 0]);
    expect(Array.from(first['tags']!.data as Float32Array)).toEqual([0, 1, 0, 0, 0, 0, 0, 0]);
  });
});

describe('tempo-locked loops', () => {
  it('makes a 1-bar loop at 97 BPM of exactly L samples with an invisible seam', async () => {
    const x = await mono(pipeline.generate({ tags: ['drums'], controls: { bpm: 97, bars: 1 }, seed: 2 }));
    expect(x.length).toBe(39588);
    expect(x.every(Number.isFinite)).toBe(true);
    const r = seamReport(x);
    expect(isSeamless(r), JSON.stringify(r)).toBe(true);
    // The measure has teeth: the same model's one-shot clip of the same length does not wrap cleanly.
    const oneShot = await mono(
      pipeline.generate({
        tags: ['drums'],
        controls: { bpm: 97, bars: 1 },
        seed: 2,
        loop: false,
        seconds: 39588 / 16000,
      }),
    );
    expect(oneShot.length).toBe(39588);
    expect(isSeamless(seamReport(oneShot))).toBe(false);
    // Deterministic per seed.
    const again = await mono(pipeline.generate({ tags: ['drums'], controls: { bpm: 97, bars: 1 }, seed: 2 }));
    expect(Buffer.from(again.buffer).equals(Buffer.from(x.buffer))).toBe(true);
  });

  it('loops by default (defaults.loop), bars by default, and rejects loops longer than a window', async () => {
    const x = await mono(pipeline.generate({ controls: { bpm: 180, bars: 1 }, seed: 1, steps: 1 }));
    expect(x.length).toBe(Math.round((240 / 180) * 16000));
    await expect(mono(pipeline.generate({ controls: { bpm: 70 }, seconds: 20, seed: 1 }))).rejects.toThrow(
      /loop can be at most one model window/,
    );
    await expect(mono(pipeline.generate({ controls: { key: 'H major' } }))).rejects.toThrow(
      /key must be one of/,
    );
    await expect(mono(pipeline.generate({ controls: { bpm: 200 } }))).rejects.toThrow(/bpm must be a number/);
  });

  it('samples a circular network in place, so the music stays on its beat grid', async () => {
    // The same pack declared not circular: the sampler rolls the state before every call instead.
    const rolling = await GeneratePipeline.load(
      { ...loops, manifest: { ...loops.manifest, io: { ...loops.manifest.io, circular: false } } },
      runtime,
      { device: 'cpu' },
    );
    const firstSample = async (p: GeneratePipeline): Promise<Float32Array> => {
      runtime.calls.length = 0;
      await mono(p.generate({ tags: ['drums'], controls: { bpm: 120, bars: 1 }, seed: 5, steps: 2 }));
      return (runtime.calls[0]!['sample']!.data as Float32Array).slice();
    };
    try {
      const inPlace = await firstSample(pipeline);
      const rolled = await firstSample(rolling);
      const frames = 124; // 1 bar at 120 BPM: 4·round(125 / 4)
      const rows = inPlace.length / 2 / frames; // conditional + unconditional halves of the batch
      const rollOf = (x: Float32Array, s: number) =>
        x.map((_, i) => {
          const t = i % frames;
          return x[i - t + ((t - s + frames) % frames)]!;
        });
      const shifts = Array.from({ length: frames }, (_, s) => s).filter((s) =>
        rollOf(inPlace, s).every((v, i) => v === rolled[i]),
      );
      expect(rows).toBe(80);
      // The rolling pack saw the very same initial noise, rolled along time by a nonzero offset.
      expect(shifts.length).toBe(1);
      expect(shifts[0]).not.toBe(0);
    } finally {
      await rolling.dispose();
    }
    // Without rolling the network's own wrap-around keeps the seam clean.
    const x = await mono(pipeline.generate({ tags: ['drums'], controls: { bpm: 120, bars: 1 }, seed: 5 }));
    expect(isSeamless(seamReport(x)), JSON.stringify(seamReport(x))).toBe(true);
  });

  it('loops waveform models by circular resampling of the small remainder', async () => {
    const rep = representationFor({ ...loops.manifest, representation: 'waveform' });
    const n = 4000;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.sin((2 * Math.PI * 20 * i) / n);
    const y = await decodeLoop(rep, undefined, x, n, 4040, 0, 16000);
    expect(y.length).toBe(4040);
    // Still 20 whole cycles: the seam is as smooth as the rest.
    let err = 0;
    for (let i = 0; i < y.length; i++)
      err = Math.max(err, Math.abs(y[i]! - Math.sin((2 * Math.PI * 20 * i) / 4040)));
    expect(err).toBeLessThan(1e-3);
  });
});
