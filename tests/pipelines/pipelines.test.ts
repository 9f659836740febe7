import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AudioChunk,
  DENOISE_FILE_WINDOW_SECONDS,
  DenoisePipeline,
  denoiseWindowSamples,
  GeneratePipeline,
  loadPack,
  type PcmAudio,
  type PipelineEvent,
  planSampling,
  Runtime,
  readAudio,
  stft,
} from '../../src/index.ts';

const root = path.resolve(import.meta.dirname, '../..');
const packs = path.join(root, 'tests/fixtures/packs');
const runtime = new Runtime();
let denoiser: DenoisePipeline;
let generator: GeneratePipeline;
let noisy: PcmAudio;

beforeAll(async () => {
  denoiser = await DenoisePipeline.load(await loadPack(path.join(packs, 'tiny-stft-denoise')), runtime, {
    device: 'cpu',
  });
  generator = await GeneratePipeline.load(await loadPack(path.join(packs, 'tiny-mel-generate')), runtime, {
    device: 'cpu',
  });
  noisy = (await readAudio(path.join(root, 'samples/speech-16k-noisy-5db.wav'))).audio;
});
afterAll(async () => {
  await denoiser.dispose();
  await generator.dispose();
  await runtime.dispose();
});

async function collect(
  it: AsyncIterable<AudioChunk>,
): Promise<{ chunks: AudioChunk[]; audio: Float32Array[] }> {
  const chunks: AudioChunk[] = [];
  for await (const c of it) chunks.push(c);
  const channels = chunks[0]!.channels.length;
  const total = chunks.reduce((a, c) => a + c.channels[0]!.length, 0);
  const audio = Array.from({ length: channels }, () => new Float32Array(total));
  for (const c of chunks) for (const [i, ch] of c.channels.entries()) audio[i]!.set(ch, c.startFrame);
  return { chunks, audio };
}

function stereo(a: PcmAudio, seconds: number): PcmAudio {
  const n = Math.round(seconds * a.sampleRate);
  const left = a.channels[0]!.slice(0, n);
  const right = left.map((v) => -0.5 * v);
  return { sampleRate: a.sampleRate, channels: [left, right] };
}

describe('DenoisePipeline', () => {
  it('keeps length, rate and channels, chunk after chunk, and is deterministic', async () => {
    const input = stereo(noisy, 1.3);
    const a = await collect(denoiser.denoise(input, { seed: 5 }));
    expect(a.audio).toHaveLength(2);
    expect(a.audio[0]!.length).toBe(input.channels[0]!.length);
    expect(a.chunks.at(-1)!.last).toBe(true);
    expect(a.chunks.every((c) => c.sampleRate === 16000)).toBe(true);
    // Chunks are contiguous.
    let pos = 0;
    for (const c of a.chunks) {
      expect(c.startFrame).toBe(pos);
      pos += c.channels[0]!.length;
    }
    for (const ch of a.audio) expect(ch.every(Number.isFinite)).toBe(true);
    const b = await collect(denoiser.denoise(input, { seed: 5 }));
    expect(Buffer.from(b.audio[1]!.buffer).equals(Buffer.from(a.audio[1]!.buffer))).toBe(true);
  });

  it('gives the same output whatever the input chunking', async () => {
    const input = stereo(noisy, 0.9);
    // A short window, so that the 0.9 s input spans several overlapping windows.
    const whole = await collect(denoiser.denoise(input, { seed: 1, windowSeconds: 0.3 }));
    const sizes = [1, 777, 5000, 123];
    function* chunks() {
      let s = 0;
      let i = 0;
      const n = input.channels[0]!.length;
      while (s < n) {
        const e = Math.min(n, s + sizes[i++ % sizes.length]!);
        yield input.channels.map((c) => c.slice(s, e));
        s = e;
      }
    }
    const streamed = await collect(
      denoiser.denoiseStream(chunks(), 16000, 2, { seed: 1, windowSeconds: 0.3 }),
    );
    let maxDiff = 0;
    for (let ch = 0; ch < 2; ch++) {
      for (let i = 0; i < whole.audio[ch]!.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(whole.audio[ch]![i]! - streamed.audio[ch]![i]!));
      }
    }
    expect(streamed.audio[0]!.length).toBe(whole.audio[0]!.length);
    expect(maxDiff).toBeLessThan(1e-6);
  });

  it('whole buffers use the file window, streams the model window; windowSeconds is validated', async () => {
    const input = stereo(noisy, 1.3);
    const source = () => [input.channels];
    const whole = await collect(denoiser.denoise(input, { seed: 3 }));
    const fileWindow = await collect(
      denoiser.denoiseStream(source(), 16000, 2, { seed: 3, windowSeconds: DENOISE_FILE_WINDOW_SECONDS }),
    );
    const modelWindow = await collect(denoiser.denoiseStream(source(), 16000, 2, { seed: 3 }));
    expect(Buffer.from(whole.audio[0]!.buffer).equals(Buffer.from(fileWindow.audio[0]!.buffer))).toBe(true);
    // The model's window (0.25 s) cuts the 1.3 s input into several windows: a different result.
    expect(Buffer.from(whole.audio[0]!.buffer).equals(Buffer.from(modelWindow.audio[0]!.buffer))).toBe(false);
    expect(modelWindow.audio[0]).toHaveLength(whole.audio[0]!.length);
    const m = denoiser.pack.manifest;
    expect(denoiseWindowSamples(m)).toBe(denoiser.windowSamples);
    expect(denoiseWindowSamples(m, 1) % 8).toBe(0);
    expect(Math.abs(denoiseWindowSamples(m, 1) - m.sampleRate)).toBeLessThanOrEqual(40);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 0.01]) {
      expect(() => denoiseWindowSamples(m, bad)).toThrow(/windowSeconds/);
      await expect(
        denoiser.denoise(input, { windowSeconds: bad })[Symbol.asyncIterator]().next(),
      ).rejects.toThrow(RangeError);
    }
  });

  it('inputs above the model rate keep their high band, gated by the model (highBand: false drops it)', async () => {
    // The fixture model runs at 8 kHz; the input is at 16 kHz, so 4–8 kHz is above the model's band.
    const input = stereo(noisy, 1.5);
    const high = (x: Float32Array): number => {
      // Energy above 4.3 kHz (STFT bins of 31.25 Hz).
      const s = stft(x, { nFft: 512, hopLength: 128 });
      let e = 0;
      for (let f = 0; f < s.frames; f++)
        for (let k = 138; k < s.bins; k++) e += s.re[f * s.bins + k]! ** 2 + s.im[f * s.bins + k]! ** 2;
      return e;
    };
    const kept = await collect(denoiser.denoise(input, { seed: 4 }));
    const dropped = await collect(denoiser.denoise(input, { seed: 4, highBand: false }));
    const hIn = high(input.channels[0]!);
    expect(high(dropped.audio[0]!) / hIn).toBeLessThan(0.05);
    const keptRatio = high(kept.audio[0]!) / hIn;
    expect(keptRatio).toBeGreaterThan(0.1);
    expect(keptRatio).toBeLessThan(1.5);
    expect(kept.audio[0]).toHaveLength(input.channels[0]!.length);
    expect(kept.audio[1]!.every(Number.isFinite)).toBe(true);
  });

  it("removes a recorder's DC offset, at the model rate and above it, without a start-up thump", async () => {
    const mean = (x: Float32Array, from = 0, to = x.length): number => {
      let s = 0;
      for (let i = from; i < to; i++) s += x[i]!;
      return s / (to - from);
    };
    for (const highBand of [true, false]) {
      const input = stereo(noisy, 1.5);
      const offset = { ...input, channels: input.channels.map((c) => c.map((v) => v + 0.2)) };
      const clean = await collect(denoiser.denoise(input, { seed: 5, highBand }));
      const shifted = await collect(denoiser.denoise(offset, { seed: 5, highBand }));
      for (const ch of [0, 1]) {
        const out = shifted.audio[ch]!;
        // 0.2 in, well under 1 % of it out: over the whole file and in its first 50 ms.
        expect(Math.abs(mean(out) - mean(clean.audio[ch]!))).toBeLessThan(2e-3);
        expect(Math.abs(mean(out, 0, 800))).toBeLessThan(2e-2);
      }
    }
  });

  it('strength 0 returns the input exactly; strength mixes dry and wet linearly', async () => {
    const input = stereo(noisy, 0.5);
    const dry = await collect(denoiser.denoise(input, { strength: 0 }));
    expect(dry.audio[0]).toEqual(input.channels[0]);
    const wet = await collect(denoiser.denoise(input, { strength: 1, seed: 2 }));
    const half = await collect(denoiser.denoise(input, { strength: 0.5, seed: 2 }));
    let err = 0;
    for (let i = 0; i < input.channels[0]!.length; i++) {
      err = Math.max(err, Math.abs(half.audio[0]![i]! - 0.5 * (wet.audio[0]![i]! + input.channels[0]![i]!)));
    }
    expect(err).toBeLessThan(1e-6);
    await expect(denoiser.denoise(input, { strength: 2 })[Symbol.asyncIterator]().next()).rejects.toThrow(
      RangeError,
    );
  });

  it('stops between model calls when aborted', async () => {
    const ac = new AbortController();
    const events: PipelineEvent[] = [];
    const run = collect(
      denoiser.denoise(stereo(noisy, 2), {
        signal: ac.signal,
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'step') ac.abort();
        },
      }),
    );
    await expect(run).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(events.filter((e) => e.type === 'step')).toHaveLength(1);
  });
});

describe('GeneratePipeline', () => {
  it('generates the requested length in windows, deterministically per seed', async () => {
    const events: PipelineEvent[] = [];
    const a = await collect(
      generator.generate({ className: 'b', seconds: 2, seed: 7, onEvent: (e) => events.push(e) }),
    );
    expect(a.audio[0]!.length).toBe(16000);
    expect(a.chunks.length).toBeGreaterThan(1);
    // Every window contributes audio: no stretch of digital silence anywhere (windows must tile the clip).
    const x = a.audio[0]!;
    let run = 0;
    let longest = 0;
    for (const v of x) {
      run = v === 0 ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    expect(longest).toBeLessThan(64);
    expect(a.chunks.at(-1)!.last).toBe(true);
    const windows = events.filter((e) => e.type === 'window');
    expect(windows.length).toBe(a.chunks.length);
    expect(events.filter((e) => e.type === 'step').length).toBe(windows.length * 4);
    const b = await collect(generator.generate({ className: 'b', seconds: 2, seed: 7 }));
    expect(Buffer.from(b.audio[0]!.buffer).equals(Buffer.from(a.audio[0]!.buffer))).toBe(true);
    const c = await collect(generator.generate({ className: 'b', seconds: 2, seed: 8 }));
    expect(Buffer.from(c.audio[0]!.buffer).equals(Buffer.from(a.audio[0]!.buffer))).toBe(false);
  });

  it('validates conditioning with messages naming the value', async () => {
    await expect(collect(generator.generate({ className: 'zzz' }))).rejects.toThrow(
      /class must be one of a, b, c/,
    );
    await expect(collect(generator.generate({}))).rejects.toThrow(/class is required/);
    await expect(collect(generator.generate({ className: 'a', seconds: -1 }))).rejects.toThrow(RangeError);
    await expect(collect(generator.generate({ className: 'a', steps: 0 }))).rejects.toThrow(/steps/);
    await expect(collect(generator.generate({ className: 'a', sampler: 'magic' }))).rejects.toThrow(
      /sampler/,
    );
  });

  it('makes loops whose end joins the start', async () => {
    const { audio } = await collect(
      // The untrained fixture is far louder than full scale: judge the raw decode, unlimited.
      generator.generate({ className: 'c', seconds: 0.25, loop: true, seed: 3, limit: false }),
    );
    const x = audio[0]!;
    const diffs: number[] = [];
    for (let i = 1; i < x.length; i++) diffs.push(Math.abs(x[i]! - x[i - 1]!));
    diffs.sort((p, q) => p - q);
    const median = diffs[diffs.length >> 1]!;
    const seam = Math.abs(x[0]! - x[x.length - 1]!);
    // The wrap-around step is no bigger than a typical step inside the clip.
    expect(seam).toBeLessThanOrEqual(Math.max(4 * median, 1e-4));
  });

  it('scales a one-window clip as a whole so its peak is −1 dBFS (shape kept)', async () => {
    const opts = { className: 'c', seconds: 0.25, seed: 5 } as const;
    const windows: number[] = [];
    const raw = (await collect(generator.generate({ ...opts, limit: false }))).audio[0]!;
    const scaled = (
      await collect(
        generator.generate({ ...opts, onEvent: (e) => e.type === 'window' && windows.push(e.windows ?? 0) }),
      )
    ).audio[0]!;
    expect(windows).toEqual([1]);
    expect(scaled.length).toBe(raw.length);
    const peak = raw.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    expect(peak).toBeGreaterThan(0.89); // the fixture is loud enough that the gain acts
    const gain = 0.89 / peak;
    let err = 0;
    for (let i = 0; i < raw.length; i++) err = Math.max(err, Math.abs(scaled[i]! - gain * raw[i]!));
    expect(err).toBeLessThan(1e-6);
    expect(scaled.reduce((a, v) => Math.max(a, Math.abs(v)), 0)).toBeCloseTo(0.89, 6);
    await expect(collect(generator.generate({ ...opts, limit: 'no' as unknown as boolean }))).rejects.toThrow(
      TypeError,
    );
  });

  it('soft-limits a multi-window stream into ±1, leaving quiet samples untouched', async () => {
    const opts = { className: 'c', seconds: 3, seed: 5 } as const;
    let windows = 0;
    const raw = (await collect(generator.generate({ ...opts, limit: false }))).audio[0]!;
    const limited = (
      await collect(
        generator.generate({ ...opts, onEvent: (e) => e.type === 'window' && (windows = e.windows ?? 0) }),
      )
    ).audio[0]!;
    expect(windows).toBeGreaterThan(1);
    expect(limited.length).toBe(raw.length);
    let loud = 0;
    for (let i = 0; i < raw.length; i++) {
      expect(Math.abs(limited[i]!)).toBeLessThan(1);
      if (Math.abs(raw[i]!) <= 0.89) expect(limited[i]).toBe(raw[i]);
      else {
        loud++;
        expect(Math.sign(limited[i]!)).toBe(Math.sign(raw[i]!));
        expect(Math.abs(limited[i]!)).toBeGreaterThan(0.89);
      }
    }
    expect(loud).toBeGreaterThan(0);
  });

  it("a pack's defaults.clipX0 reaches the sampler: a tight clip changes the clip, a loose one nothing", async () => {
    const pack = await loadPack(path.join(packs, 'tiny-mel-generate'));
    const withClip = (clipX0: number) => ({
      ...pack,
      manifest: { ...pack.manifest, defaults: { ...pack.manifest.defaults, clipX0 } },
    });
    expect(planSampling(withClip(0.05).manifest, 4).settings).toEqual({ clipX0: 0.05 });
    expect(planSampling(pack.manifest, 4).settings).toEqual({});
    const opts = { className: 'c', seconds: 0.25, seed: 5, limit: false } as const;
    const plain = (await collect(generator.generate(opts))).audio[0]!;
    for (const [clipX0, same] of [
      [0.05, false],
      [1e6, true],
    ] as const) {
      const gen = await GeneratePipeline.load(withClip(clipX0), runtime, { device: 'cpu' });
      try {
        const out = (await collect(gen.generate(opts))).audio[0]!;
        expect(Buffer.from(out.buffer).equals(Buffer.from(plain.buffer))).toBe(same);
      } finally {
        await gen.dispose();
      }
    }
  });

  it('continues given audio and inpaints a span, keeping the rest', async () => {
    const first = await collect(generator.generate({ className: 'a', seconds: 0.2, seed: 11 }));
    const given = { sampleRate: 8000, channels: [first.audio[0]!] };
    const cont = await collect(
      generator.generate({ className: 'a', seconds: 0.6, seed: 12, continueFrom: given }),
    );
    expect(cont.audio[0]!.length).toBe(4800);
    expect(cont.audio[0]!.every(Number.isFinite)).toBe(true);
    const again = await collect(
      generator.generate({ className: 'a', seconds: 0.6, seed: 12, continueFrom: given }),
    );
    expect(Array.from(again.audio[0]!)).toEqual(Array.from(cont.audio[0]!));

    const inp = await collect(
      generator.generate({ className: 'b', seed: 13, inpaint: { audio: given, start: 0.05, end: 0.1 } }),
    );
    const out = inp.audio[0]!;
    const src = given.channels[0]!;
    expect(out.length).toBe(src.length);
    // Outside [0.05, 0.1) s the original samples are kept exactly; inside they change.
    for (let i = 0; i < 400; i++) expect(out[i]).toBe(src[i]);
    for (let i = 800; i < src.length; i++) expect(out[i]).toBe(src[i]);
    let changed = 0;
    for (let i = 480; i < 720; i++) if (out[i] !== src[i]) changed++;
    expect(changed).toBeGreaterThan(200);
    await expect(
      collect(generator.generate({ className: 'b', inpaint: { audio: given, start: 0.1, end: 0.05 } })),
    ).rejects.toThrow(/inpaint range/);
  });
});
