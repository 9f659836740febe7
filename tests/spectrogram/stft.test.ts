import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Fft,
  hann,
  istft,
  resolveStft,
  type StftOptions,
  stft,
  stftFrameCount,
  stftMagnitude,
} from '../../src/spectrogram/index.ts';
import { decodeMono, hasTorch, lcg, relError, runPythonF32, speechFile, trainDir } from './helpers.ts';

const speech = decodeMono(speechFile, undefined, 4); // 16 kHz LibriSpeech, first 4 s
const music = decodeMono(path.join(trainDir, 'music/sonic-pi-samples/loop_amen.flac'), undefined, 2); // 44.1 kHz

describe('Fft real path (half-length complex transform)', () => {
  it('forwardReal matches the naive DFT for even and odd sizes, including short inputs', () => {
    for (const n of [2, 4, 6, 10, 18, 64, 882, 15]) {
      const rnd = lcg(n);
      const x = Float64Array.from({ length: n - (n > 4 ? 3 : 0) }, rnd); // shorter than n: zero-padded
      const re = new Float64Array((n >> 1) + 1);
      const im = new Float64Array((n >> 1) + 1);
      new Fft(n).forwardReal(x, re, im);
      let err = 0;
      for (let k = 0; k <= n >> 1; k++) {
        let sr = 0;
        let si = 0;
        for (let t = 0; t < x.length; t++) {
          const a = (-2 * Math.PI * ((k * t) % n)) / n;
          sr += x[t]! * Math.cos(a);
          si += x[t]! * Math.sin(a);
        }
        err = Math.max(err, Math.abs(re[k]! - sr), Math.abs(im[k]! - si));
      }
      expect(err, `n=${n}`).toBeLessThan(1e-11 * n);
    }
  });
});

describe('stft', () => {
  it('puts a bin-centred sine in its bin with amplitude A·Σw/2, and the layout is frames × bins', () => {
    const sr = 16000;
    const nFft = 512;
    const x = Float32Array.from({ length: sr }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / sr));
    const s = stftMagnitude(x, { nFft, hopLength: 128 });
    expect(s.bins).toBe(257);
    expect(s.frames).toBe(1 + Math.floor(sr / 128));
    expect(s.data.length).toBe(s.frames * s.bins);
    const f = 60; // an interior frame
    let peak = 0;
    for (let k = 1; k < s.bins; k++) if (s.data[f * s.bins + k]! > s.data[f * s.bins + peak]!) peak = k;
    expect(peak).toBe(32); // 1000 Hz · 512 / 16000
    // Periodic Hann sums to N/2, so |X| = A · N/4 = 64 at the peak, and Hann leaks only into ±1 bins.
    expect(s.data[f * s.bins + 32]).toBeCloseTo(64, 3);
    expect(s.data[f * s.bins + 31]).toBeCloseTo(32, 3);
    expect(s.data[f * s.bins + 34]!).toBeLessThan(1e-3);
  });

  it('Parseval: with a rectangular window and hop = nFft, Σx² = (1/N)·Σ|X|² over both halves', () => {
    const n = 1000;
    const x = speech.subarray(20000, 20000 + 10 * n);
    const s = stft(x, { nFft: n, hopLength: n, window: 'rectangular', center: false });
    expect(s.frames).toBe(10);
    let time = 0;
    for (const v of x) time += v * v;
    let freq = 0;
    for (let f = 0; f < s.frames; f++)
      for (let k = 0; k < s.bins; k++) {
        const p = s.re[f * s.bins + k]! ** 2 + s.im[f * s.bins + k]! ** 2;
        freq += k === 0 || k === n / 2 ? p : 2 * p;
      }
    expect(Math.abs(freq / n - time) / time).toBeLessThan(1e-5);
  });

  it('centres with reflect or constant padding like torch/numpy', () => {
    const x = Float32Array.from({ length: 50 }, (_, i) => i + 1);
    const o = resolveStft({ nFft: 8, hopLength: 4, window: 'rectangular' });
    const s = stft(x, o);
    // Frame 0 covers padded samples [x4 x3 x2 x1 | x0 x1 x2 x3] = 5,4,3,2,1,2,3,4: DC = 24.
    expect(s.re[0]).toBeCloseTo(24, 5);
    const z = stft(x, { ...o, padMode: 'constant' });
    expect(z.re[0]).toBeCloseTo(1 + 2 + 3 + 4, 5);
    expect(stftFrameCount(50, o)).toBe(13);
    expect(stftFrameCount(50, { ...o, center: false })).toBe(11);
  });

  const cases: Array<[string, StftOptions, Float32Array]> = [
    ['hann 1024/256 (speech)', { nFft: 1024, hopLength: 256 }, speech],
    ['hann 512/128 (speech)', { nFft: 512, hopLength: 128 }, speech],
    ['hann win 400 in nFft 512, hop 160 (speech)', { nFft: 512, winLength: 400, hopLength: 160 }, speech],
    ['hann nFft 1764 = 441·4, hop 441 (music)', { nFft: 1764, hopLength: 441 }, music],
    ['hann 1024/256, constant padding (music)', { nFft: 1024, hopLength: 256, padMode: 'constant' }, music],
    ['hamming 1024 hop 300, not COLA but NOLA', { nFft: 1024, hopLength: 300, window: 'hamming' }, speech],
    [
      'kaiser odd nFft 1023, hop 200, normalized',
      { nFft: 1023, hopLength: 200, window: 'kaiser', normalized: true },
      speech,
    ],
  ];
  for (const [name, opts, x] of cases) {
    it(`istft(stft(x)) = x with relative error < 1e-6: ${name}`, () => {
      const s = stft(x, opts);
      const y = istft(s, { ...opts, length: x.length });
      expect(y.length).toBe(x.length);
      expect(relError(y, x)).toBeLessThan(1e-6);
    });
  }

  it('istft without center reconstructs the interior and zeroes only where the window sum is 0', () => {
    const opts = { nFft: 512, hopLength: 128, center: false };
    const x = speech.subarray(0, 16000);
    const s = stft(x, opts);
    const y = istft(s, opts);
    expect(y.length).toBe(512 + 128 * (s.frames - 1));
    expect(y[0]).toBe(0); // periodic Hann starts at 0: nothing to divide by
    // Near the ends the squared-window sum is tiny (w[1]² ≈ 1.5e-9) and amplifies float32 rounding;
    // from one hop in, it is ≥ 0.25 and the reconstruction is exact.
    expect(relError(y.subarray(128, y.length - 128), x.subarray(128, y.length - 128))).toBeLessThan(1e-6);
  });

  it('validates arguments', () => {
    expect(() => stft(speech, { nFft: 256, winLength: 300 })).toThrow(/winLength/);
    expect(() => stft(speech, { nFft: 256, hopLength: 0 })).toThrow(/hopLength/);
    expect(() => stft(new Float32Array(0), { nFft: 256 })).toThrow(/signal/);
    expect(() => stft(speech.subarray(0, 100), { nFft: 256, center: false })).toThrow(/fewer than nFft/);
    const s = stft(speech.subarray(0, 4000), { nFft: 256 });
    expect(() => istft(s, { nFft: 512 })).toThrow(/bins/);
    // hop 300 > winLength 256 with a Hann window leaves zero-energy gaps: refuse.
    expect(() =>
      istft(stft(speech.subarray(0, 4000), { nFft: 256, hopLength: 300 }), { nFft: 256, hopLength: 300 }),
    ).toThrow(/hopLength/);
  });

  it.runIf(hasTorch())('matches torch.stft / torch.istft on a fixed signal (python reference)', () => {
    const x = speech.subarray(8000, 8000 + 16000);
    const configs: Array<StftOptions & { torch: string }> = [
      {
        nFft: 512,
        winLength: 400,
        hopLength: 160,
        torch:
          'n_fft=512, win_length=400, hop_length=160, window=torch.hann_window(400, dtype=torch.float64), pad_mode="reflect"',
      },
      {
        nFft: 1000,
        hopLength: 250,
        window: 'hamming',
        padMode: 'constant',
        torch:
          'n_fft=1000, hop_length=250, window=torch.hamming_window(1000, dtype=torch.float64), pad_mode="constant"',
      },
      {
        nFft: 256,
        hopLength: 64,
        center: false,
        window: { type: 'kaiser', beta: 8 },
        torch:
          'n_fft=256, hop_length=64, center=False, window=torch.kaiser_window(256, True, 8.0, dtype=torch.float64)',
      },
      {
        nFft: 255,
        hopLength: 60,
        window: { type: 'kaiser', beta: 8 },
        torch: 'n_fft=255, hop_length=60, window=torch.kaiser_window(255, True, 8.0, dtype=torch.float64)',
      },
    ];
    const script = `import sys, torch, numpy as np
x = torch.from_numpy(np.fromfile(sys.argv[2], dtype=np.float32).astype(np.float64))
outs = []
for kw in [${configs.map((c) => `dict(${c.torch})`).join(', ')}]:
    X = torch.stft(x, return_complex=True, **kw).T  # frames x bins
    outs += [X.real.flatten(), X.imag.flatten()]
    y = torch.istft(X.T, length=x.shape[0] if kw.get('center', True) else None, **{k: v for k, v in kw.items() if k != 'pad_mode'})
    outs.append(y)
np.concatenate([o.numpy() for o in outs]).astype(np.float32).tofile(sys.argv[1])`;
    const ref = runPythonF32(script, [x]);
    let off = 0;
    for (const c of configs) {
      const s = stft(x, c);
      const n = s.frames * s.bins;
      const tRe = ref.subarray(off, off + n);
      const tIm = ref.subarray(off + n, off + 2 * n);
      off += 2 * n;
      let scale = 0;
      let err = 0;
      for (let i = 0; i < n; i++) {
        scale = Math.max(scale, Math.hypot(tRe[i]!, tIm[i]!));
        err = Math.max(err, Math.abs(s.re[i]! - tRe[i]!), Math.abs(s.im[i]! - tIm[i]!));
      }
      expect(err / scale, JSON.stringify(c)).toBeLessThan(1e-5);
      const y = istft(s, { ...c, length: c.center === false ? undefined : x.length });
      const ty = ref.subarray(off, off + y.length);
      off += y.length;
      expect(relError(y, ty)).toBeLessThan(1e-6);
    }
    expect(off).toBe(ref.length);
  });

  it('window helper hann(1024) sums to 512 (periodic)', () => {
    expect(hann(1024).reduce((a, b) => a + b, 0)).toBeCloseTo(512, 9);
  });
});
