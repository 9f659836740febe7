import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { estoi, stoi } from '../../src/metrics/index.ts';
import { lcg, readPcm16Wav, sharedDir } from './helpers.ts';

const goldenDir = path.join(sharedDir, 'golden/stoi');

interface GoldenCase {
  clean: string;
  degraded: string;
  sampleRate: number;
  stoi: number;
  estoi: number;
}

const golden = JSON.parse(readFileSync(path.join(goldenDir, 'expected.json'), 'utf8')) as {
  cases: GoldenCase[];
};

describe('stoi / estoi against pystoi golden values', () => {
  it('has the golden cases', () => {
    expect(golden.cases.length).toBeGreaterThanOrEqual(10);
  });

  for (const c of golden.cases) {
    it(`${c.degraded} vs ${c.clean}`, () => {
      const clean = readPcm16Wav(path.join(goldenDir, c.clean));
      const degraded = readPcm16Wav(path.join(goldenDir, c.degraded));
      expect(clean.sampleRate).toBe(c.sampleRate);
      const s = stoi(clean.samples, degraded.samples, c.sampleRate);
      const e = estoi(clean.samples, degraded.samples, c.sampleRate);
      // The issue allows 0.005; we hold 1e-4 (measured max 1.2e-5, from the resampler alone).
      expect(Math.abs(s - c.stoi)).toBeLessThan(1e-4);
      expect(Math.abs(e - c.estoi)).toBeLessThan(1e-4);
    });
  }
});

describe('stoi properties', () => {
  const { samples: clean } = readPcm16Wav(path.join(goldenDir, 'clean_10000.wav'));

  it('is 1 for identical signals, and invariant to the degraded signal gain (classic STOI)', () => {
    expect(stoi(clean, clean, 10000)).toBeCloseTo(1, 12);
    expect(estoi(clean, clean, 10000)).toBeCloseTo(1, 12);
    const louder = clean.map((v) => v * 0.25);
    expect(stoi(clean, louder, 10000)).toBeCloseTo(1, 12);
  });

  it('falls as white noise rises', () => {
    const noise = lcg(7, clean.length);
    const scores = [0.01, 0.05, 0.2].map((g) => {
      const y = clean.map((v, i) => v + g * noise[i]!);
      return [stoi(clean, y, 10000), estoi(clean, y, 10000)] as const;
    });
    for (let i = 1; i < scores.length; i++) {
      expect(scores[i]![0]).toBeLessThan(scores[i - 1]![0]);
      expect(scores[i]![1]).toBeLessThan(scores[i - 1]![1]);
    }
  });

  it('returns 1e-5 like pystoi when fewer than 30 frames remain', () => {
    const short = clean.subarray(0, 2000);
    expect(stoi(short, short, 10000)).toBe(1e-5);
  });

  it('rejects bad arguments with errors naming them', () => {
    expect(() => stoi(clean, clean.subarray(1), 10000)).toThrow(/degraded/);
    expect(() => stoi(clean, clean, 0)).toThrow(RangeError);
    expect(() => stoi([1, 2] as unknown as Float32Array, clean, 10000)).toThrow(/clean/);
  });
});
