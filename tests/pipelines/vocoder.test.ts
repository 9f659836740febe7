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
  istft,
  loadPack,
  type ModelPack,
  type ModelSession,
  NeuralVocoder,
  Runtime,
  representationFor,
  type SessionOptions,
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
