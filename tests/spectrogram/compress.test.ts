import { describe, expect, it } from 'vitest';
import {
  amplitudeToDb,
  dbToAmplitude,
  dbToPower,
  dynamicRangeCompression,
  dynamicRangeDecompression,
  logCompress,
  logDecompress,
  magnitude,
  powerToDb,
  stft,
} from '../../src/spectrogram/index.ts';
import { decodeMono, speechFile } from './helpers.ts';

describe('compression', () => {
  it('powerToDb: 10·log10 relative to ref, amin floor, top_db clip (librosa.power_to_db)', () => {
    const x = Float32Array.of(1, 100, 1e-3, 0, 1e-12);
    const db = powerToDb(x);
    // peak 20 dB, top_db 80 → floor −60 dB: 1e-12 → −100 → −60; 0 → amin 1e-10 → −100 → −60.
    expect(Array.from(db)).toEqual([0, 20, -30, -60, -60]);
    const noClip = powerToDb(x, { topDb: null });
    expect(noClip[3]).toBeCloseTo(-100, 4);
    expect(noClip[4]).toBeCloseTo(-100, 4);
    const rel = powerToDb(x, { ref: 'max', topDb: null });
    expect(rel[1]).toBe(0);
    expect(rel[0]).toBeCloseTo(-20, 5);
    expect(powerToDb(x, { ref: 10 })[1]).toBeCloseTo(10, 5);
  });

  it('amplitudeToDb is 20·log10 with amin 1e-5, and the dB inverses round-trip', () => {
    const a = Float32Array.of(10, 1, 0.01, 0);
    const db = amplitudeToDb(a, { topDb: null });
    expect(Array.from(db).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([20, 0, -40, -100]);
    const back = dbToAmplitude(db);
    for (let i = 0; i < 3; i++) expect(back[i]! / a[i]!).toBeCloseTo(1, 5);
    const p = Float32Array.of(3, 0.5, 1e-4);
    const pb = dbToPower(powerToDb(p, { ref: 2 }), 2);
    for (let i = 0; i < 3; i++) expect(pb[i]! / p[i]!).toBeCloseTo(1, 5);
  });

  it('HiFi-GAN dynamic range compression log(max(x, 1e-5)·C) and its inverse', () => {
    const x = Float32Array.of(1, Math.E, 1e-7, 0.5);
    const y = dynamicRangeCompression(x);
    expect(y[0]).toBe(0);
    expect(y[1]).toBeCloseTo(1, 6);
    expect(y[2]).toBeCloseTo(Math.log(1e-5), 5);
    const y2 = dynamicRangeCompression(x, 10);
    expect(y2[0]).toBeCloseTo(Math.log(10), 6);
    const back = dynamicRangeDecompression(y2, 10);
    expect(back[3]).toBeCloseTo(0.5, 6);
    expect(back[2]).toBeCloseTo(1e-5, 9); // clipped values come back at the clip level
    expect(() => dynamicRangeCompression(x, 0)).toThrow(/C/);
  });

  it('log compression with a floor, and exp back', () => {
    const y = logCompress(Float32Array.of(1, 0, 2), 1e-3);
    expect(y[0]).toBe(0);
    expect(y[1]).toBeCloseTo(Math.log(1e-3), 6);
    expect(logDecompress(y)[2]).toBeCloseTo(2, 6);
    expect(() => logCompress(Float32Array.of(1), -1)).toThrow(/eps/);
  });

  it('magnitude of a real STFT: power = amplitude², speech peak above −80 dB floor', () => {
    const x = decodeMono(speechFile, undefined, 1);
    const s = stft(x, { nFft: 512, hopLength: 128 });
    const amp = magnitude(s);
    const pow = magnitude(s, 2);
    let maxDiff = 0;
    for (let i = 0; i < amp.data.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(amp.data[i]! ** 2 - pow.data[i]!) / Math.max(pow.data[i]!, 1e-12));
    expect(maxDiff).toBeLessThan(1e-5);
    const db = powerToDb(pow.data, { ref: 'max' });
    expect(Math.max(...db)).toBe(0);
    expect(Math.min(...db)).toBe(-80);
    // Same picture through amplitude_to_db.
    const db2 = amplitudeToDb(amp.data, { ref: 'max' });
    let d = 0;
    for (let i = 0; i < db.length; i++) d = Math.max(d, Math.abs(db[i]! - db2[i]!));
    expect(d).toBeLessThan(1e-3);
  });
});
