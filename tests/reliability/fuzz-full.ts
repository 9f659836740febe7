/**
 * The slow fuzz targets at full strength (10,000 inputs each), run by hand; the tests run fewer:
 *
 *   node tests/reliability/fuzz-full.ts [runs=10000] [seed]
 *
 * Targets: decodeCompressed (native decoder), WavStreamReader.open against readWav, loadPack on
 * mutated pack folders. Prints one summary line per target; exits 1 on the first failing input
 * (fast-check prints the counterexample and the seed to replay it).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './fuzz-helpers.ts';
import { fuzzDecoder, fuzzFileOpen, fuzzLoadPack, manifestEditsArb } from './fuzz-targets.ts';

const runs = Number(process.argv[2] ?? 10_000);
const seed = Number(process.argv[3] ?? 20_251_204);
const dir = await mkdtemp(path.join(os.tmpdir(), 'sonodiff-fuzz-full-'));
const manifests = ['tiny-denoise', 'tiny-mel-generate', 'tiny-stft-denoise'].map(
  (p) =>
    JSON.parse(readFileSync(path.join(ROOT, 'tests/fixtures/packs', p, 'sonodiff.json'), 'utf8')) as Record<
      string,
      unknown
    >,
);
try {
  const t0 = performance.now();
  console.log((await fuzzDecoder(runs, seed + 10)).summary());
  const open = await fuzzFileOpen(runs, seed + 11, dir);
  console.log(`${open.tally.summary()}; ${open.agreed} sample-exact agreements with readWav`);
  console.log((await fuzzLoadPack(runs, seed + 31, dir, manifestEditsArb(manifests))).summary());
  console.log(
    `all targets: ${((performance.now() - t0) / 1000).toFixed(1)} s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
