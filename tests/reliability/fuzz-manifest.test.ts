/**
 * Model-pack manifests under 10,000 malformed values (valid manifests with fields replaced, deleted or
 * added at any depth), and loadPack on folders whose sonodiff.json or diffusers configs are mutated
 * text. manifestIssues must return lines (never throw); validateManifest and loadPack throw only
 * SonodiffError('ERR_MODEL') naming the file, and never accept what manifestIssues rejects.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { manifestIssues, validateManifest } from '../../src/packs/index.ts';
import { fuzzSeed, ROOT, Tally, unclearError } from './fuzz-helpers.ts';
import { fuzzLoadPack, manifestEditsArb } from './fuzz-targets.ts';

const RUNS = 10_000;
const PACK_RUNS = Number(process.env['FUZZ_PACK_RUNS'] ?? 400);
const packsDir = path.join(ROOT, 'tests/fixtures/packs');
const manifests = ['tiny-denoise', 'tiny-mel-generate', 'tiny-stft-denoise'].map(
  (p) => JSON.parse(readFileSync(path.join(packsDir, p, 'sonodiff.json'), 'utf8')) as Record<string, unknown>,
);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-fuzz-packs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const manifestArb = manifestEditsArb(manifests);

describe('fuzz: manifest validation', () => {
  it('the seeds are valid manifests', () => {
    for (const m of manifests) expect(manifestIssues(m)).toEqual([]);
  });

  it('manifestIssues/validateManifest: 10,000 edited manifests → issue lines or a valid manifest', () => {
    const tally = new Tally('manifestIssues+validateManifest');
    fc.assert(
      fc.property(manifestArb, (value) => {
        const t0 = performance.now();
        const issues = manifestIssues(value);
        expect(Array.isArray(issues)).toBe(true);
        for (const line of issues) {
          expect(typeof line).toBe('string');
          expect(line.length).toBeGreaterThan(0);
          expect(line).not.toContain('\n');
        }
        let err: unknown;
        try {
          validateManifest(value, 'pack/sonodiff.json');
        } catch (e) {
          err = e;
          const why = unclearError(e, ['SonodiffError']);
          if (why !== undefined) throw new Error(why);
          expect((e as { code: string }).code).toBe('ERR_MODEL');
          expect((e as Error).message).toMatch(/^pack\/sonodiff\.json: invalid manifest: /);
        }
        expect(err === undefined).toBe(issues.length === 0);
        const ms = performance.now() - t0;
        tally.record(err, ms);
        expect(ms).toBeLessThan(250);
      }),
      { numRuns: RUNS, seed: fuzzSeed(30) },
    );
    console.log(tally.summary());
    expect(tally.codes.get('ERR_MODEL') ?? 0).toBeGreaterThan(RUNS * 0.5);
    expect(tally.ok).toBeGreaterThan(RUNS * 0.02);
  });

  it(`loadPack: ${PACK_RUNS} folders with mutated sonodiff.json or diffusers configs`, async () => {
    const tally = await fuzzLoadPack(PACK_RUNS, fuzzSeed(31), tmp, manifestArb);
    console.log(tally.summary());
    expect(tally.ok).toBeGreaterThan(PACK_RUNS * 0.02);
  });
});
