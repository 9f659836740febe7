/**
 * WAV readers under 10,000 malformed inputs each: mutations of real files and generated RIFF
 * structures. Every input must give samples or a clear error (SonodiffError with a code; RangeError
 * only for bad arguments), within a time bound, and the typed arrays allocated while reading must stay
 * proportional to the input's length whatever sizes the header claims.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readAudio } from '../../src/audio/read.ts';
import { parseWavHeader, readWav } from '../../src/audio/wav-read.ts';
import { WavStreamReader } from '../../src/audio/wav-stream-reader.ts';
import {
  fuzzSeed,
  mutate,
  mutationsArb,
  Tally,
  traceAllocations,
  unclearError,
  withinMs,
} from './fuzz-helpers.ts';
import { wavSeeds } from './seeds.ts';
import { wavArb } from './wav-arb.ts';

const RUNS = 10_000;
/** Generous per-input bound on a loaded 2-core machine; typical inputs take ~0.02 ms. */
const MAX_MS = 250;
const seeds = wavSeeds();
const seedArb = fc.constantFrom(...seeds);
const mutatedWav = fc.tuple(seedArb, mutationsArb).map(([s, m]) => mutate(s.bytes, m));

/** Float32 output is at most 4 bytes per input byte (8-bit samples); the rest is small bookkeeping. */
function allocationBound(len: number): number {
  return 8 * len + 64 * 1024;
}

function checkReadWav(bytes: Uint8Array, tally: Tally): void {
  const t = traceAllocations(() => readWav(bytes, { path: 'fuzz.wav' }));
  tally.record(t.threw ? t.error : undefined, t.ms);
  if (t.threw) {
    const why = unclearError(t.error, ['SonodiffError']);
    if (why !== undefined) throw new Error(why);
    expect((t.error as Error).message.startsWith('fuzz.wav: ')).toBe(true);
  } else {
    const w = t.value!;
    const frames = w.audio.channels[0]!.length;
    expect(w.audio.channels.every((c) => c.length === frames)).toBe(true);
    expect(frames * w.format.blockAlign).toBeLessThanOrEqual(bytes.length);
    expect(w.dataOffset + w.dataBytes).toBeLessThanOrEqual(bytes.length);
    for (const c of w.audio.channels)
      for (const v of c) if (!Number.isFinite(v)) throw new Error('non-finite sample');
  }
  expect(t.maxBytes).toBeLessThanOrEqual(allocationBound(bytes.length));
  expect(t.totalBytes).toBeLessThanOrEqual(allocationBound(bytes.length));
  expect(t.ms).toBeLessThan(MAX_MS);
}

describe('fuzz: WAV readers', () => {
  it(`seed corpus is varied and every seed reads (${seeds.length} seeds)`, () => {
    expect(seeds.length).toBeGreaterThanOrEqual(6);
    let decoded = 0;
    for (const s of seeds) {
      try {
        readWav(s.bytes);
        decoded++;
      } catch (err) {
        // ADPCM is the decoder's job, not readWav's.
        expect((err as { code?: string }).code).toBe('ERR_UNSUPPORTED_AUDIO');
      }
    }
    expect(decoded).toBeGreaterThanOrEqual(seeds.length - 1);
  });

  it('readWav: 10,000 mutations of real files', () => {
    const tally = new Tally('readWav/mutated real files');
    fc.assert(
      fc.property(mutatedWav, (bytes) => checkReadWav(bytes, tally)),
      { numRuns: RUNS, seed: fuzzSeed(1) },
    );
    console.log(tally.summary());
    expect(tally.runs).toBeGreaterThanOrEqual(RUNS);
    // The mutations must not be so destructive that nothing decodes, nor so mild that nothing fails.
    expect(tally.ok).toBeGreaterThan(RUNS * 0.05);
    expect(tally.ok).toBeLessThan(RUNS * 0.95);
  });

  it('readWav: 10,000 generated RIFF structures with lying sizes and counts', () => {
    const tally = new Tally('readWav/generated RIFF');
    fc.assert(
      fc.property(wavArb, (bytes) => checkReadWav(bytes, tally)),
      { numRuns: RUNS, seed: fuzzSeed(2) },
    );
    console.log(tally.summary());
    expect(tally.ok).toBeGreaterThan(50);
    expect(tally.codes.get('ERR_BAD_AUDIO') ?? 0).toBeGreaterThan(1000);
    expect(tally.codes.get('ERR_UNSUPPORTED_AUDIO') ?? 0).toBeGreaterThan(100);
  });

  it('parseWavHeader: a 12-byte file claiming a 4 GiB data chunk allocates nothing of that size', () => {
    const b = new Uint8Array(60);
    const dv = new DataView(b.buffer);
    b.set(
      [...'RIFF'].map((c) => c.charCodeAt(0)),
      0,
    );
    dv.setUint32(4, 0xffff_ffff, true);
    b.set(
      [...'WAVEfmt '].map((c) => c.charCodeAt(0)),
      8,
    );
    dv.setUint32(16, 16, true);
    dv.setUint16(20, 1, true);
    dv.setUint16(22, 64, true); // 64 channels
    dv.setUint32(24, 384_000, true);
    dv.setUint16(32, 64 * 4, true);
    dv.setUint16(34, 32, true);
    b.set(
      [...'data'].map((c) => c.charCodeAt(0)),
      36,
    );
    dv.setUint32(40, 0xffff_fff0, true);
    const t = traceAllocations(() => parseWavHeader(b));
    expect(t.threw).toBe(true);
    expect((t.error as Error).message).toMatch(/truncated: data chunk claims 4294967280 bytes but only 16/);
    expect(t.maxBytes).toBeLessThan(1024);
  });

  it('readAudio (bytes): 10,000 mutated WAVs, including codecs handed to the decoder', async () => {
    const tally = new Tally('readAudio/mutated WAV');
    await fc.assert(
      fc.asyncProperty(mutatedWav, async (bytes) => {
        const t0 = performance.now();
        let err: unknown;
        try {
          const r = await withinMs(readAudio(bytes, { name: 'in.wav' }), 5000, 'readAudio');
          const frames = r.audio.channels[0]?.length ?? 0;
          expect(r.audio.channels.every((c) => c.length === frames)).toBe(true);
          if (r.container === 'wav' && r.wav !== undefined) {
            expect(frames * r.wav.format.blockAlign).toBeLessThanOrEqual(bytes.length);
          }
        } catch (e) {
          err = e;
          const why = unclearError(e, ['SonodiffError']);
          if (why !== undefined) throw new Error(why);
        }
        tally.record(err, performance.now() - t0);
      }),
      { numRuns: RUNS, seed: fuzzSeed(3) },
    );
    console.log(tally.summary());
    expect(tally.runs).toBe(RUNS);
  });

  it('WavStreamReader.fromStream: 10,000 mutated WAVs in random chunks agree with readWav', async () => {
    const tally = new Tally('WavStreamReader.fromStream/mutated WAV');
    let agreed = 0;
    await fc.assert(
      fc.asyncProperty(
        mutatedWav,
        fc.array(fc.integer({ min: 1, max: 512 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 300 }),
        async (bytes, cuts, blockFrames) => {
          const chunks: Uint8Array[] = [];
          for (let o = 0, i = 0; o < bytes.length; i++) {
            const n = cuts[i % cuts.length]!;
            chunks.push(bytes.slice(o, o + n));
            o += n;
          }
          const t0 = performance.now();
          let err: unknown;
          let got: Float32Array[] | undefined;
          try {
            got = await withinMs(
              (async () => {
                const r = await WavStreamReader.fromStream(
                  (async function* () {
                    yield* chunks;
                  })(),
                  { blockFrames, name: 'pipe' },
                );
                const parts: Float32Array[][] = [];
                for await (const block of r) {
                  expect(block.every((c) => c.length <= blockFrames)).toBe(true);
                  parts.push(block);
                }
                return (parts[0] ?? []).map((_, c) => concat(parts.map((p) => p[c]!)));
              })(),
              5000,
              'fromStream',
            );
          } catch (e) {
            err = e;
            const why = unclearError(e, ['SonodiffError']);
            if (why !== undefined) throw new Error(why);
          }
          tally.record(err, performance.now() - t0);
          // A pipe sees only what precedes the samples; when both succeed the samples are the same.
          let whole: Float32Array[] | undefined;
          try {
            whole = readWav(bytes).audio.channels;
          } catch {
            whole = undefined;
          }
          if (got !== undefined && whole !== undefined && got.length > 0) {
            expect(got.length).toBe(whole.length);
            for (let c = 0; c < got.length; c++)
              expect(Buffer.compare(f32bytes(got[c]!), f32bytes(whole[c]!))).toBe(0);
            agreed++;
          }
        },
      ),
      { numRuns: RUNS, seed: fuzzSeed(4) },
    );
    console.log(`${tally.summary()}; ${agreed} agreed sample-exactly with readWav`);
    expect(agreed).toBeGreaterThan(RUNS * 0.05);
  });
});

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function f32bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
