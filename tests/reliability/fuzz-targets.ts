/**
 * Fuzz targets shared by the tests (small counts) and fuzz-full.ts (10,000 each). Plain node:assert,
 * so the script runs without the test runner.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { decodeCompressed } from '../../src/audio/decode.ts';
import { readWav } from '../../src/audio/wav-read.ts';
import { WavStreamReader } from '../../src/audio/wav-stream-reader.ts';
import { loadPack, manifestIssues } from '../../src/packs/index.ts';
import { mutate, mutationsArb, ROOT, Tally, unclearError, withinMs } from './fuzz-helpers.ts';
import { compressedSeeds, wavSeeds } from './seeds.ts';
import { wavArb } from './wav-arb.ts';

export async function fuzzDecoder(runs: number, seed: number): Promise<Tally> {
  const seeds = compressedSeeds();
  const tally = new Tally('decodeCompressed/mutated compressed files');
  const arb = fc.oneof(
    {
      weight: 9,
      arbitrary: fc.tuple(fc.constantFrom(...seeds), mutationsArb).map(([s, m]) => mutate(s.bytes, m)),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }) },
  );
  await fc.assert(
    fc.asyncProperty(arb, async (bytes) => {
      const t0 = performance.now();
      let err: unknown;
      try {
        const r = await withinMs(decodeCompressed(bytes, { path: 'in.bin' }), 10_000, 'decodeCompressed');
        const frames = r.audio.channels[0]!.length;
        assert.ok(frames > 0, 'decoded to no frames without an error');
        assert.ok(
          r.audio.channels.every((c) => c.length === frames),
          'ragged channels',
        );
        // A few kilobytes of compressed audio cannot stand for more than minutes of samples.
        assert.ok(frames < bytes.length * 4096, `${frames} frames from ${bytes.length} bytes`);
      } catch (e) {
        err = e;
        const why = unclearError(e, ['SonodiffError']);
        if (why !== undefined) throw new Error(why);
        assert.ok((e as Error).message.startsWith('in.bin: '), 'message does not name the file');
      }
      tally.record(err, performance.now() - t0);
    }),
    { numRuns: runs, seed },
  );
  return tally;
}

export async function fuzzFileOpen(
  runs: number,
  seed: number,
  dir: string,
): Promise<{ tally: Tally; agreed: number }> {
  const seeds = wavSeeds();
  const tally = new Tally('WavStreamReader.open/mutated WAV files');
  let agreed = 0;
  let n = 0;
  const arb = fc.oneof(
    fc.tuple(fc.constantFrom(...seeds), mutationsArb).map(([s, m]) => mutate(s.bytes, m)),
    wavArb,
  );
  await fc.assert(
    fc.asyncProperty(arb, fc.integer({ min: 12, max: 600 }), async (bytes, probe) => {
      const file = path.join(dir, `f${n++ % 8}.wav`);
      writeFileSync(file, bytes);
      const t0 = performance.now();
      let streamed: { frames: Float32Array[]; code?: undefined } | { code: string; frames?: undefined };
      try {
        // Tiny probe sizes force the cut-down-image path that large files take.
        const r = await withinMs(
          WavStreamReader.open(file, { wholeFileBytes: 12, headerProbeBytes: probe, blockFrames: 97 }),
          5000,
          'open',
        );
        const blocks: Float32Array[][] = [];
        for await (const b of r) blocks.push(b);
        const frames = (blocks[0] ?? []).map((_, c) => Float32Array.from(blocks.flatMap((b) => [...b[c]!])));
        streamed = { frames };
        tally.record(undefined, performance.now() - t0);
      } catch (e) {
        const why = unclearError(e, ['SonodiffError']);
        if (why !== undefined) throw new Error(why);
        streamed = { code: (e as { code: string }).code };
        tally.record(e, performance.now() - t0);
      }
      let whole: { frames: Float32Array[]; code?: undefined } | { code: string; frames?: undefined };
      try {
        whole = { frames: readWav(bytes).audio.channels };
      } catch (e) {
        whole = { code: (e as { code: string }).code };
      }
      // "Parsed exactly as readWav would parse them": same error code, or the same samples.
      assert.equal(streamed.code, whole.code, 'streamed and whole-file readers disagree');
      if (streamed.frames && whole.frames && whole.frames[0]!.length > 0) {
        assert.equal(streamed.frames.length, whole.frames.length);
        for (let c = 0; c < whole.frames.length; c++) {
          assert.ok(
            Buffer.from(streamed.frames[c]!.buffer).equals(Buffer.from(whole.frames[c]!.buffer)),
            'samples differ',
          );
        }
        agreed++;
      }
    }),
    { numRuns: runs, seed },
  );
  return { tally, agreed };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path to a value inside `v`. */
function paths(
  v: unknown,
  at: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) paths(x, [...at, i], out);
  } else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

type Edit =
  | { op: 'set'; pick: number; value: unknown }
  | { op: 'delete'; pick: number }
  | { op: 'add'; pick: number; key: string; value: unknown };

const edgeValue = fc.oneof(
  fc.constantFrom(
    null,
    0,
    -1,
    1.5,
    1e308,
    -0,
    '',
    'x',
    '../../etc/passwd',
    '/abs.onnx',
    true,
    [],
    {},
    2 ** 53,
    384_001,
  ),
  fc.anything({ maxDepth: 2, maxKeys: 3 }),
);
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), pick: fc.nat(), value: edgeValue }),
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({
    op: fc.constant('add' as const),
    pick: fc.nat(),
    key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'extra', 'nMels'), fc.string({ maxLength: 8 })),
    value: edgeValue,
  }),
);

function edit(base: unknown, edits: readonly Edit[]): unknown {
  let root = structuredClone(base) as Json;
  for (const e of edits) {
    const all = paths(root);
    const p = all[e.pick % all.length]!;
    if (p.length === 0) {
      if (e.op === 'set') root = structuredClone(e.value) as Json;
      continue;
    }
    let parent: Json = root;
    for (const k of p.slice(0, -1)) parent = (parent as Record<string | number, Json>)[k]!;
    const key = p.at(-1)!;
    const obj = parent as Record<string | number, Json>;
    // Clones: one generated value may appear in two edits, which would make a cycle.
    if (e.op === 'set') obj[key] = structuredClone(e.value) as Json;
    else if (e.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete obj[key];
    } else {
      const target = obj[key];
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
        Object.defineProperty(target, e.key, {
          value: structuredClone(e.value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
  }
  return root;
}

/** Valid manifests with 1–4 fields replaced, deleted or added at any depth. */
export function manifestEditsArb(manifests: readonly Record<string, unknown>[]): fc.Arbitrary<unknown> {
  return fc
    .tuple(fc.constantFrom(...manifests), fc.array(editArb, { minLength: 1, maxLength: 4 }))
    .map(([m, e]) => edit(m, e));
}

/** loadPack on folders whose sonodiff.json, or one of whose diffusers configs, is mutated text. */
export async function fuzzLoadPack(
  runs: number,
  seed: number,
  dir: string,
  manifestArb: fc.Arbitrary<unknown>,
): Promise<Tally> {
  const packsDir = path.join(ROOT, 'tests/fixtures/packs');
  const manifests = ['tiny-denoise', 'tiny-mel-generate', 'tiny-stft-denoise'].map((p) =>
    readFileSync(path.join(packsDir, p, 'sonodiff.json')),
  );
  const tally = new Tally('loadPack/mutated folders');
  const diffusers = path.join(ROOT, 'tests/fixtures/diffusers/tiny-audio-diffusion');
  const diffusersFiles = [
    'model_index.json',
    'scheduler/scheduler_config.json',
    'unet/config.json',
    'mel/mel_config.json',
  ];
  let n = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.record({
          kind: fc.constant('pack' as const),
          text: fc.oneof(
            fc.tuple(fc.constantFrom(...manifests), mutationsArb).map(([m, e]) => mutate(m, e)),
            manifestArb.map((m) => Buffer.from(JSON.stringify(m) ?? '')),
          ),
        }),
        fc.record({ kind: fc.constant('diffusers' as const), file: fc.nat({ max: 3 }), edits: mutationsArb }),
      ),
      async (input) => {
        const pack = path.join(dir, `p${n++}`);
        mkdirSync(pack);
        if (input.kind === 'pack') {
          writeFileSync(path.join(pack, 'sonodiff.json'), input.text);
          copyFileSync(path.join(packsDir, 'tiny-denoise/model.onnx'), path.join(pack, 'model.onnx'));
        } else {
          for (const f of [...diffusersFiles, 'unet/model.onnx']) {
            mkdirSync(path.dirname(path.join(pack, f)), { recursive: true });
            copyFileSync(path.join(diffusers, f), path.join(pack, f));
          }
          const f = path.join(pack, diffusersFiles[input.file]!);
          writeFileSync(f, mutate(readFileSync(f), input.edits));
        }
        const t0 = performance.now();
        let err: unknown;
        try {
          const loaded = await withinMs(loadPack(pack), 5000, 'loadPack');
          assert.deepEqual(manifestIssues(loaded.manifest), []);
          assert.ok(
            loaded.modelPath.startsWith(path.resolve(pack) + path.sep),
            'model file outside the pack',
          );
        } catch (e) {
          err = e;
          const why = unclearError(e, ['SonodiffError']);
          if (why !== undefined) throw new Error(why);
          assert.equal((e as { code: string }).code, 'ERR_MODEL');
          assert.ok((e as Error).message.includes(pack), 'message does not name the pack');
        }
        tally.record(err, performance.now() - t0);
        rmSync(pack, { recursive: true, force: true });
      },
    ),
    { numRuns: runs, seed },
  );
  return tally;
}
