/**
 * The slower audio targets, with fewer runs here (the full 10,000 each run in fuzz-full.ts):
 * the compressed decoder (native code behind node-web-audio-api) on mutated FLAC, Ogg, MP3, AAC and
 * AIFF files, and the seekable WAV stream reader, which parses a file through a cut-down image of it
 * and must agree with the whole-file reader on every input.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fuzzSeed } from './fuzz-helpers.ts';
import { fuzzDecoder, fuzzFileOpen } from './fuzz-targets.ts';

const DECODE_RUNS = Number(process.env['FUZZ_DECODE_RUNS'] ?? 1000);
const OPEN_RUNS = Number(process.env['FUZZ_OPEN_RUNS'] ?? 1000);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-fuzz-open-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('fuzz: compressed decoder and seekable WAV streams', () => {
  it(`decodeCompressed: ${DECODE_RUNS} mutated FLAC/Ogg/MP3/AAC/AIFF files`, async () => {
    const tally = await fuzzDecoder(DECODE_RUNS, fuzzSeed(10));
    console.log(tally.summary());
    expect(tally.runs).toBe(DECODE_RUNS);
    expect(tally.ok).toBeGreaterThan(DECODE_RUNS * 0.1);
  });

  it(`WavStreamReader.open: ${OPEN_RUNS} files agree with readWav (same samples or same error code)`, async () => {
    const { tally, agreed } = await fuzzFileOpen(OPEN_RUNS, fuzzSeed(11), tmp);
    console.log(`${tally.summary()}; ${agreed} sample-exact agreements`);
    expect(agreed).toBeGreaterThan(OPEN_RUNS * 0.2);
  });
});
