import { describe, expect, it } from 'vitest';
import {
  applyMel,
  hzToMel,
  melFilterbank,
  melSpectrogram,
  melToHz,
  stftMagnitude,
} from '../../src/spectrogram/index.ts';
import { decodeMono, hasTorch, runPythonF32, speechFile } from './helpers.ts';

describe('mel scales', () => {
  it('Slaney: linear 200/3 Hz per mel below 1 kHz, 27 mels per ×6.4 above; HTK: 2595·log10(1 + f/700)', () => {
    expect(hzToMel(1000)).toBeCloseTo(15, 12);
    expect(hzToMel(500)).toBeCloseTo(7.5, 12);
    expect(hzToMel(6400)).toBeCloseTo(15 + 27, 10);
    expect(hzToMel(700, 'htk')).toBeCloseTo(2595 * Math.log10(2), 10); // 781.17…
    for (const scale of ['slaney', 'htk'] as const)
      for (const f of [0, 60, 999.9, 1000, 4321, 22050])
        expect(melToHz(hzToMel(f, scale), scale)).toBeCloseTo(f, 8);
  });
});

describe('melFilterbank', () => {
  it('reproduces hand-computed weights on the linear part of the Slaney scale', () => {
    // sr 2000, nFft 16 → bins every 125 Hz (0…1000); 3 mels over 0–1000 Hz, which is linear on the
    // Slaney scale, so the edges are 0, 250, 500, 750, 1000 Hz. Filter 0 rises 0→250 and falls to 500:
    // weights 0, .5, 1, .5, 0 at bins 0…4; Slaney norm 2/(500 − 0) = 0.004 → 0, .002, .004, .002, 0.
    const fb = melFilterbank({ sampleRate: 2000, nFft: 16, nMels: 3 });
    expect(fb.bins).toBe(9);
    const expected = [
      [0, 0.002, 0.004, 0.002, 0, 0, 0, 0, 0],
      [0, 0, 0, 0.002, 0.004, 0.002, 0, 0, 0],
      [0, 0, 0, 0, 0, 0.002, 0.004, 0.002, 0],
    ];
    for (let m = 0; m < 3; m++)
      for (let k = 0; k < 9; k++) expect(fb.weights[m * 9 + k]).toBeCloseTo(expected[m]![k]!, 9);
    expect(Array.from(fb.ranges)).toEqual([1, 4, 3, 6, 5, 8]);
    const raw = melFilterbank({ sampleRate: 2000, nFft: 16, nMels: 3, norm: null });
    expect(Array.from(raw.weights.subarray(0, 5))).toEqual([0, 0.5, 1, 0.5, 0]);
  });

  it('Slaney-normalised triangles have unit area in Hz; HTK edges follow the HTK scale', () => {
    const sr = 22050;
    const nFft = 4096;
    const fb = melFilterbank({ sampleRate: sr, nFft, nMels: 40, fMin: 100, fMax: 8000 });
    const df = sr / nFft;
    for (let m = 5; m < 40; m++) {
      // Wide filters (≥ 20 bins): the bin sum approximates the integral closely.
      let area = 0;
      for (let k = 0; k < fb.bins; k++) area += fb.weights[m * fb.bins + k]! * df;
      expect(area).toBeCloseTo(1, 2);
    }
    expect(fb.edgesHz[0]).toBeCloseTo(100, 9);
    expect(fb.edgesHz[41]).toBeCloseTo(8000, 9);
    const htk = melFilterbank({ sampleRate: 16000, nFft: 512, nMels: 10, scale: 'htk', norm: null });
    const step = hzToMel(8000, 'htk') / 11;
    for (let i = 0; i < 12; i++) expect(htk.edgesHz[i]).toBeCloseTo(melToHz(i * step, 'htk'), 8);
    // Peak-normalised triangles never exceed 1.
    expect(Math.max(...htk.weights)).toBeLessThanOrEqual(1);
  });

  it('a sine lands in the filters around its frequency', () => {
    const sr = 16000;
    const x = Float32Array.from({ length: sr / 2 }, (_, i) => Math.sin((2 * Math.PI * 1500 * i) / sr));
    const mel = melSpectrogram(x, { sampleRate: sr, nFft: 1024, hopLength: 256, nMels: 64 });
    const fb = melFilterbank({ sampleRate: sr, nFft: 1024, nMels: 64 });
    const f = 10;
    let best = 0;
    for (let m = 0; m < 64; m++) if (mel.data[f * 64 + m]! > mel.data[f * 64 + best]!) best = m;
    expect(fb.edgesHz[best]!).toBeLessThan(1500);
    expect(fb.edgesHz[best + 2]!).toBeGreaterThan(1500);
  });

  it('applyMel on real speech equals the dense matrix product', () => {
    const x = decodeMono(speechFile, undefined, 1);
    const spec = stftMagnitude(x, { nFft: 512, hopLength: 160 }, 2);
    const fb = melFilterbank({ sampleRate: 16000, nFft: 512, nMels: 80, fMax: 7600 });
    const mel = applyMel(spec, fb);
    expect(mel.bins).toBe(80);
    expect(mel.frames).toBe(spec.frames);
    let maxRel = 0;
    for (const f of [0, 37, spec.frames - 1])
      for (let m = 0; m < 80; m++) {
        let s = 0;
        for (let k = 0; k < fb.bins; k++) s += fb.weights[m * fb.bins + k]! * spec.data[f * fb.bins + k]!;
        maxRel = Math.max(maxRel, Math.abs(mel.data[f * 80 + m]! - s) / Math.max(s, 1e-12));
      }
    expect(maxRel).toBeLessThan(1e-5);
  });

  it('validates arguments', () => {
    expect(() => melFilterbank({ sampleRate: 0, nFft: 512 })).toThrow(/sampleRate/);
    expect(() => melFilterbank({ sampleRate: 16000, nFft: 512, fMin: 9000 })).toThrow(/fMax/);
    expect(() => melFilterbank({ sampleRate: 16000, nFft: 512, nMels: 0 })).toThrow(/nMels/);
  });

  it.runIf(hasTorch())('matches a numpy implementation of librosa.filters.mel (python reference)', () => {
    // The python side follows librosa's documented formulas independently (float64 numpy).
    const script = `import sys, numpy as np
def hz_to_mel(f, htk):
    f = np.asanyarray(f, dtype=np.float64)
    if htk: return 2595.0 * np.log10(1.0 + f / 700.0)
    mels = f / (200.0 / 3)
    big = f >= 1000.0
    return np.where(big, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mels)
def mel_to_hz(m, htk):
    m = np.asanyarray(m, dtype=np.float64)
    if htk: return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (m - 15.0)), m * 200.0 / 3)
def mel(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    fft = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mf = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)
    fd = np.diff(mf); ramps = mf[:, None] - fft[None, :]
    w = np.zeros((n_mels, len(fft)))
    for i in range(n_mels):
        w[i] = np.maximum(0, np.minimum(-ramps[i] / fd[i], ramps[i + 2] / fd[i + 1]))
    if norm: w *= (2.0 / (mf[2:n_mels + 2] - mf[:n_mels]))[:, None]
    return w
out = [mel(22050, 1024, 80, 0, 8000, False, True), mel(16000, 400, 40, 20, 7600, True, False),
       mel(44100, 17640, 512, 0, 10000, True, False), mel(24000, 1024, 100, 0, 12000, False, True)]
np.concatenate([o.ravel() for o in out]).astype(np.float32).tofile(sys.argv[1])`;
    const ref = runPythonF32(script, []);
    const ours = [
      melFilterbank({ sampleRate: 22050, nFft: 1024, nMels: 80, fMax: 8000 }),
      melFilterbank({
        sampleRate: 16000,
        nFft: 400,
        nMels: 40,
        fMin: 20,
        fMax: 7600,
        scale: 'htk',
        norm: null,
      }),
      melFilterbank({ sampleRate: 44100, nFft: 17640, nMels: 512, fMax: 10000, scale: 'htk', norm: null }),
      melFilterbank({ sampleRate: 24000, nFft: 1024, nMels: 100 }),
    ];
    let off = 0;
    for (const fb of ours) {
      let peak = 0;
      let err = 0;
      for (let i = 0; i < fb.weights.length; i++) {
        peak = Math.max(peak, ref[off + i]!);
        err = Math.max(err, Math.abs(fb.weights[i]! - ref[off + i]!));
      }
      off += fb.weights.length;
      expect(err / peak).toBeLessThan(1e-6);
    }
    expect(off).toBe(ref.length);
  });
});
