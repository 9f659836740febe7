/**
 * Mel decoding through a pack's neural vocoder (io.vocoder), on tiny-mel-vocoder: the generator of
 * tiny-mel-generate plus a vocoder.onnx with the vocoder signature (mel [B, M, T] → spec [B, 2, F, T]).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AudioChunk,
  decodeLoop,
  decodeWindow,
  float32Tensor,
  GeneratePipeline,
  griffinLim,
  istft,
  loadPack,
  type ModelPack,
  type ModelSession,
  NeuralVocoder,
  Runtime,
  representationFor,
  type SessionOptions,
  type Spectrogram,
  stftMagnitude,
} from '../../src/index.ts';

const root = path.resolve(import.meta.dirname, '../..');
const packs = path.join(root, 'tests/fixtures/packs');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-vocoder-'));

/** Counts sessions loaded and disposed, to check that pipelines release both of theirs. */
class CountingRuntime extends Runtime {
  loaded = 0;
  released = 0;
  override async load(source: string | Uint8Array, options?: SessionOptions): Promise<ModelSession> {
    const session = await super.load(source, options);
    this.loaded++;
    const dispose = session.dispose.bind(session);
    session.dispose = () => {
      this.released++;
      return dispose();
    };
    return session;
  }
}

const runtime = new CountingRuntime();
let pack: ModelPack;
let withVocoder: GeneratePipeline;
let plain: GeneratePipeline;

beforeAll(async () => {
  pack = await loadPack(path.join(packs, 'tiny-mel-vocoder'));
  withVocoder = await GeneratePipeline.load(pack, runtime, { device: 'cpu' });
  plain = await GeneratePipeline.load(await loadPack(path.join(packs, 'tiny-mel-generate')), runtime, {
    device: 'cpu',
  });
});
afterAll(async () => {
  await withVocoder.dispose();
  await plain.dispose();
  await runtime.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** The fixture pack with io.vocoder.refineIterations set. */
function refinedPack(refineIterations: number): ModelPack {
  const io = pack.manifest.io;
  return {
    ...pack,
    manifest: { ...pack.manifest, io: { ...io, vocoder: { ...io.vocoder!, refineIterations } } },
  };
}

async function collect(
  it: AsyncIterable<AudioChunk>,
): Promise<{ chunks: AudioChunk[]; audio: Float32Array }> {
  const chunks: AudioChunk[] = [];
  for await (const c of it) chunks.push(c);
  const audio = new Float32Array(chunks.reduce((a, c) => a + c.channels[0]!.length, 0));
  for (const c of chunks) audio.set(c.channels[0]!, c.startFrame);
  return { chunks, audio };
}

function same(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

describe('neural vocoder', () => {
  it('is the default decoder of a pack that has one; Griffin-Lim stays selectable', () => {
    expect(pack.vocoderPath).toBe(path.join(packs, 'tiny-mel-vocoder', 'vocoder.onnx'));
    expect(withVocoder.decoderFor()).toBe('vocoder');
    expect(withVocoder.decoderFor('griffinlim')).toBe('griffinlim');
    expect(plain.decoderFor()).toBe('griffinlim');
    expect(() => plain.decoderFor('vocoder')).toThrow(/has no vocoder/);
    expect(() => withVocoder.decoderFor('wavenet')).toThrow(/decoder must be one of vocoder, griffinlim/);
  });

  it('decodes a window as the iSTFT of the vocoder’s output', async () => {
    const rep = representationFor(pack.manifest);
    const tone = new Float32Array(2048).map((_, i) => 0.3 * Math.sin(i * 0.2) + 0.1 * Math.sin(i * 1.3));
    const x = rep.encode(tone);
    const frames = x.length / rep.rows;
    const vocoder = (await NeuralVocoder.load(pack, runtime, { device: 'cpu' }))!;
    try {
      const audio = await decodeWindow(rep, vocoder, x, frames, rep.samples(frames), 0);
      // By hand: run the ONNX file, lay [2, F, T] out as frames × bins, iSTFT with the pack's settings.
      const session = await runtime.load(pack.vocoderPath!, { device: 'cpu' });
      const out = (await session.run({ mel: float32Tensor(x, [1, 16, frames]) }))['spec']!;
      await session.dispose();
      expect(out.dims).toEqual([1, 2, 129, frames]);
      const d = out.data as Float32Array;
      const n = 129 * frames;
      const re = new Float32Array(n);
      const im = new Float32Array(n);
      for (let k = 0; k < 129; k++) {
        for (let f = 0; f < frames; f++) {
          re[f * 129 + k] = d[k * frames + f]!;
          im[f * 129 + k] = d[n + k * frames + f]!;
        }
      }
      const s = pack.manifest.spectrogram!;
      const want = istft(
        { frames, bins: 129, re, im },
        { nFft: s.nFft, hopLength: s.hopLength, winLength: s.winLength, window: s.window, center: s.center },
      ).slice(0, rep.samples(frames));
      expect(audio.length).toBe(want.length);
      expect(same(audio, want)).toBe(true);
    } finally {
      await vocoder.dispose();
    }
  });

  it('streams windowed generation through the vocoder, deterministically', async () => {
    const before = withVocoder.modelStats().calls;
    const a = await collect(withVocoder.generate({ className: 'b', seconds: 2, seed: 7 }));
    expect(a.audio.length).toBe(16000);
    expect(a.chunks.length).toBeGreaterThan(1);
    expect(a.audio.every(Number.isFinite)).toBe(true);
    // Model calls (4 steps × 2 for guidance, batched) plus one vocoder call per window.
    expect(withVocoder.modelStats().calls - before).toBe(a.chunks.length * 5);
    const b = await collect(withVocoder.generate({ className: 'b', seconds: 2, seed: 7 }));
    expect(same(a.audio, b.audio)).toBe(true);
    // Same generator weights: with Griffin-Lim it is exactly tiny-mel-generate's output.
    const gl = await collect(
      withVocoder.generate({ className: 'b', seconds: 2, seed: 7, decoder: 'griffinlim' }),
    );
    const ref = await collect(plain.generate({ className: 'b', seconds: 2, seed: 7 }));
    expect(same(gl.audio, ref.audio)).toBe(true);
    expect(same(gl.audio, a.audio)).toBe(false);
  });

  it('decodes loops circularly: no special seam position, exact length', async () => {
    // Rotating a loop's frames by k rotates its audio by k·hop: the wrap is decoded like any
    // other frame boundary (a seam would stay at sample 0).
    const rep = representationFor(pack.manifest);
    const frames = 32;
    const tone = new Float32Array(frames * 64).map(
      (_, i) => Math.sin((2 * Math.PI * 9 * i) / 2048) * (1 + Math.sin(i / 90)),
    );
    const x = rep.encode(tone).slice(0, 16 * (frames + 1));
    const loop = new Float32Array(16 * frames);
    for (let r = 0; r < 16; r++)
      loop.set(x.subarray(r * (frames + 1), r * (frames + 1) + frames), r * frames);
    const k = 5;
    const rolled = new Float32Array(loop.length);
    for (let r = 0; r < 16; r++)
      for (let f = 0; f < frames; f++) rolled[r * frames + ((f + k) % frames)] = loop[r * frames + f]!;
    const vocoder = (await NeuralVocoder.load(pack, runtime, { device: 'cpu' }))!;
    try {
      const a = await decodeLoop(rep, vocoder, loop, frames, frames * 64, 0, 8000);
      const b = await decodeLoop(rep, vocoder, rolled, frames, frames * 64, 0, 8000);
      let err = 0;
      let peak = 0;
      for (let i = 0; i < a.length; i++) {
        err = Math.max(err, Math.abs(b[(i + k * 64) % a.length]! - a[i]!));
        peak = Math.max(peak, Math.abs(a[i]!));
      }
      expect(err).toBeLessThan(1e-4 * peak);
    } finally {
      await vocoder.dispose();
    }
    // Through the pipeline: exact lengths, with (2000 samples: 31 frames, resampled by 0.8 %) and
    // without (2048 = 32·64) a remainder.
    for (const seconds of [0.25, 0.256]) {
      const { audio } = await collect(withVocoder.generate({ className: 'c', seconds, loop: true, seed: 3 }));
      expect(audio.length).toBe(Math.round(seconds * 8000));
      expect(audio.every(Number.isFinite)).toBe(true);
    }
  });

  it('refines the vocoder’s spectrum by Griffin-Lim with io.vocoder.refineIterations', async () => {
    const rep = representationFor(pack.manifest);
    const o = rep.stft!;
    const tone = new Float32Array(2048).map((_, i) => 0.3 * Math.sin(i * 0.2) + 0.1 * Math.sin(i * 1.3));
    const x = rep.encode(tone);
    const frames = x.length / rep.rows;
    const length = rep.samples(frames);
    // The target magnitude is the mel-inverted one; spectral convergence of the audio against it.
    const target = (rep.spectrum!(x, frames) as { magnitude: Spectrogram }).magnitude;
    const sc = (audio: Float32Array) => {
      const m = stftMagnitude(audio, o);
      expect(m.frames).toBe(frames);
      let e = 0;
      let n = 0;
      for (let i = 0; i < m.data.length; i++) {
        e += (m.data[i]! - target.data[i]!) ** 2;
        n += target.data[i]! ** 2;
      }
      return Math.sqrt(e / n);
    };
    const plainVoc = (await NeuralVocoder.load(pack, runtime, { device: 'cpu' }))!;
    const refined = (await NeuralVocoder.load(refinedPack(8), runtime, { device: 'cpu' }))!;
    try {
      expect(plainVoc.refineIterations).toBe(0);
      expect(refined.refineIterations).toBe(8);
      const a0 = await decodeWindow(rep, plainVoc, x, frames, length, 0);
      const a8 = await decodeWindow(rep, refined, x, frames, length, 0);
      expect(a8.length).toBe(length);
      expect(a8.every(Number.isFinite)).toBe(true);
      expect(sc(a8)).toBeLessThan(0.5 * sc(a0));
      // Deterministic, independent of the seed (no random phase), and exactly Griffin-Lim from
      // the vocoder's spectrum.
      expect(same(a8, await decodeWindow(rep, refined, x, frames, length, 99))).toBe(true);
      const spec = await refined.vocode(x, frames);
      const want = griffinLim(target, { ...o, iterations: 8, momentum: 0.99, init: spec, length }).signal;
      expect(same(a8, want)).toBe(true);

      // Loops: refined on the circular grid, still rotation-equivariant (no seam position).
      const n = 32;
      const loop = new Float32Array(16 * n);
      for (let r = 0; r < 16; r++) loop.set(x.subarray(r * frames, r * frames + n), r * n);
      const k = 7;
      const rolled = new Float32Array(loop.length);
      for (let r = 0; r < 16; r++)
        for (let f = 0; f < n; f++) rolled[r * n + ((f + k) % n)] = loop[r * n + f]!;
      const l0 = await decodeLoop(rep, plainVoc, loop, n, n * 64, 0, 8000);
      const la = await decodeLoop(rep, refined, loop, n, n * 64, 0, 8000);
      const lb = await decodeLoop(rep, refined, rolled, n, n * 64, 0, 8000);
      expect(la.length).toBe(n * 64);
      expect(same(la, l0)).toBe(false);
      let err = 0;
      let peak = 0;
      for (let i = 0; i < la.length; i++) {
        err = Math.max(err, Math.abs(lb[(i + k * 64) % la.length]! - la[i]!));
        peak = Math.max(peak, Math.abs(la[i]!));
      }
      expect(err).toBeLessThan(1e-4 * peak);
    } finally {
      await plainVoc.dispose();
      await refined.dispose();
    }
    // Through the pipeline: windows and loops (with and without a stretch), deterministic.
    const p = await GeneratePipeline.load(refinedPack(4), runtime, { device: 'cpu' });
    try {
      const a = await collect(p.generate({ className: 'b', seconds: 1, seed: 7 }));
      const b = await collect(p.generate({ className: 'b', seconds: 1, seed: 7 }));
      const v = await collect(withVocoder.generate({ className: 'b', seconds: 1, seed: 7 }));
      expect(a.audio.length).toBe(8000);
      expect(same(a.audio, b.audio)).toBe(true);
      expect(same(a.audio, v.audio)).toBe(false);
      for (const seconds of [0.25, 0.256]) {
        const { audio } = await collect(p.generate({ className: 'c', seconds, loop: true, seed: 3 }));
        expect(audio.length).toBe(Math.round(seconds * 8000));
        expect(audio.every(Number.isFinite)).toBe(true);
      }
    } finally {
      await p.dispose();
    }
  });

  it('decodes a magnitude vocoder (io.vocoder.kind magnitude) by Griffin-Lim from its magnitude', async () => {
    const io = pack.manifest.io;
    const magPack: ModelPack = {
      ...pack,
      vocoderPath: path.join(packs, 'tiny-mel-vocoder', 'magvocoder.onnx'),
      manifest: {
        ...pack.manifest,
        io: {
          ...io,
          vocoder: {
            model: 'magvocoder.onnx',
            input: 'mel',
            output: 'magnitude',
            kind: 'magnitude',
            refineIterations: 8,
          },
        },
      },
    };
    const rep = representationFor(pack.manifest);
    const o = rep.stft!;
    const tone = new Float32Array(2048).map((_, i) => 0.3 * Math.sin(i * 0.2) + 0.1 * Math.sin(i * 1.3));
    const x = rep.encode(tone);
    const frames = x.length / rep.rows;
    const length = rep.samples(frames);
    const voc = (await NeuralVocoder.load(magPack, runtime, { device: 'cpu' }))!;
    try {
      expect(voc.kind).toBe('magnitude');
      await expect(voc.vocode(x, frames)).rejects.toThrow(/outputs a magnitude/);
      const mag = await voc.magnitude(x, frames);
      expect([mag.frames, mag.bins]).toEqual([frames, 129]);
      // It is the network's magnitude, not the mel inversion's.
      const nnls = (rep.spectrum!(x, frames) as { magnitude: Spectrogram }).magnitude;
      let diff = 0;
      for (let i = 0; i < mag.data.length; i++) diff = Math.max(diff, Math.abs(mag.data[i]! - nnls.data[i]!));
      expect(diff).toBeGreaterThan(1e-3);
      // Decoding is exactly seeded Griffin-Lim towards that magnitude.
      expect(voc.shapeLowBand).toBe(false);
      const a = await decodeWindow(rep, voc, x, frames, length, 5);
      const want = griffinLim(mag, { ...o, iterations: 8, momentum: 0.99, seed: 5, length }).signal;
      expect(same(a, want)).toBe(true);
      expect(same(a, await decodeWindow(rep, voc, x, frames, length, 6))).toBe(false);
      // Loops: exact period, and the same loop rotated decodes to the rotated audio.
      const n = 32;
      const loop = new Float32Array(16 * n);
      for (let r = 0; r < 16; r++) loop.set(x.subarray(r * frames, r * frames + n), r * n);
      const la = await decodeLoop(rep, voc, loop, n, 2000, 3, 8000);
      expect(la.length).toBe(2000);
      expect(la.every(Number.isFinite)).toBe(true);
    } finally {
      await voc.dispose();
    }
    // shapeLowBand: the same Griffin-Lim, towards the magnitude with the mel inversion's low band
    // (bins under 20 Hz emptied, 20–40 Hz tapered), in windows and loops alike.
    const shapedPack: ModelPack = {
      ...magPack,
      manifest: {
        ...magPack.manifest,
        io: { ...magPack.manifest.io, vocoder: { ...magPack.manifest.io.vocoder!, shapeLowBand: true } },
      },
    };
    const sv = (await NeuralVocoder.load(shapedPack, runtime, { device: 'cpu' }))!;
    try {
      expect(sv.shapeLowBand).toBe(true);
      const mag = await sv.magnitude(x, frames);
      const shaped = { ...mag, data: mag.data.slice() };
      rep.shapeMagnitude!(shaped);
      // 8 kHz, 256-point STFT: bin 0 (DC) is emptied, bin 1 (31 Hz) scaled by (31.25/40)², the rest kept.
      const binSum = (m: { data: Float32Array }, b: number) => {
        let t = 0;
        for (let f = 0; f < frames; f++) t += m.data[f * mag.bins + b]!;
        return t;
      };
      expect(binSum(shaped, 0)).toBe(0);
      expect(binSum(mag, 1)).toBeGreaterThan(0);
      expect(binSum(shaped, 1)).toBeCloseTo(binSum(mag, 1) * (31.25 / 40) ** 2, 4);
      expect(binSum(shaped, 2)).toBe(binSum(mag, 2));
      const a = await decodeWindow(rep, sv, x, frames, length, 5);
      expect(
        same(a, griffinLim(shaped, { ...o, iterations: 8, momentum: 0.99, seed: 5, length }).signal),
      ).toBe(true);
      expect(same(a, griffinLim(mag, { ...o, iterations: 8, momentum: 0.99, seed: 5, length }).signal)).toBe(
        false,
      );
    } finally {
      await sv.dispose();
    }
    // A magnitude output declared as a spectrum does not fit: the load fails naming the shape.
    await expect(
      NeuralVocoder.load(
        {
          ...magPack,
          manifest: {
            ...magPack.manifest,
            io: { ...magPack.manifest.io, vocoder: { ...magPack.manifest.io.vocoder!, kind: 'spectrum' } },
          },
        },
        runtime,
        { device: 'cpu' },
      ),
    ).rejects.toThrow(/vocoder/);
  });

  it('inpaints through the vocoder', async () => {
    const given = (await collect(withVocoder.generate({ className: 'a', seconds: 0.2, seed: 11 }))).audio;
    const inp = await collect(
      withVocoder.generate({
        className: 'b',
        seed: 13,
        inpaint: { audio: { sampleRate: 8000, channels: [given] }, start: 0.05, end: 0.1 },
      }),
    );
    expect(inp.audio.length).toBe(given.length);
    expect(Array.from(inp.audio.subarray(0, 400))).toEqual(Array.from(given.subarray(0, 400)));
    expect(Array.from(inp.audio.subarray(480, 720))).not.toEqual(Array.from(given.subarray(480, 720)));
  });

  it('releases both sessions on dispose, and on a vocoder that does not fit', async () => {
    const p = await GeneratePipeline.load(pack, runtime, { device: 'cpu' });
    const open = runtime.loaded - runtime.released;
    await p.dispose();
    expect(open - (runtime.loaded - runtime.released)).toBe(2);

    const dir = path.join(tmp, 'bad-vocoder');
    cpSync(path.join(packs, 'tiny-mel-vocoder'), dir, { recursive: true });
    const m = JSON.parse(readFileSync(path.join(dir, 'sonodiff.json'), 'utf8')) as {
      io: { vocoder: { output: string } };
    };
    m.io.vocoder.output = 'waveform';
    writeFileSync(path.join(dir, 'sonodiff.json'), JSON.stringify(m));
    const before = runtime.loaded - runtime.released;
    await expect(
      GeneratePipeline.load(await loadPack(dir), runtime, { device: 'cpu' }),
    ).rejects.toMatchObject({
      code: 'ERR_MODEL',
      message: expect.stringMatching(/vocoder of model tiny-mel-vocoder has no output "waveform"/),
    });
    expect(runtime.loaded - runtime.released).toBe(before);
  });
});
