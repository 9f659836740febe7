import { describe, expect, it } from 'vitest';
import { colaDeviation, makeWindow, OverlapAddWindower } from '../../src/audio/windower.ts';

function signal(n: number): Float32Array {
  const x = new Float32Array(n);
  let s = 7;
  for (let i = 0; i < n; i++) {
    s = (s * 48271) % 2147483647;
    x[i] = 0.5 * Math.sin(i * 0.013) + 0.3 * (s / 2147483647 - 0.5);
  }
  return x;
}

/** Feeds x in pseudo-random chunk sizes (1 … 5000) and checks the emitted count after every push. */
function run(
  w: OverlapAddWindower,
  x: Float32Array,
  proc: (f: Float32Array) => Float32Array | undefined,
): Float32Array {
  const out = new Float32Array(x.length);
  let o = 0;
  let i = 0;
  let k = 1;
  while (i < x.length) {
    const c = x.subarray(i, Math.min(x.length, i + k));
    const y = w.push(c, proc);
    out.set(y, o);
    o += y.length;
    i += c.length;
    // Output for sample t is out once the frame ending at or after t + latency is complete.
    expect(o).toBe(Math.max(0, Math.floor(i / w.hop) * w.hop - w.latency));
    k = ((k * 7919 + 13) % 5000) + 1;
  }
  const tail = w.flush(proc);
  out.set(tail, o);
  expect(o + tail.length).toBe(x.length);
  return out;
}

const maxErr = (a: Float32Array, b: Float32Array, gain = 1) => {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i]! - gain * b[i]!));
  return e;
};

describe('OverlapAddWindower', () => {
  const configs = [
    { windowLength: 1024, hop: 256 },
    { windowLength: 1024, hop: 512 },
    { windowLength: 2048, hop: 512, analysisWindow: 'hann' as const, synthesisWindow: 'rect' as const },
    { windowLength: 960, hop: 320, analysisWindow: 'rect' as const, synthesisWindow: 'hann' as const },
    { windowLength: 400, hop: 400, analysisWindow: 'rect' as const, synthesisWindow: 'rect' as const },
  ];
  for (const cfg of configs) {
    it(`identity processor reproduces the input to 1e-6 (${JSON.stringify(cfg)})`, () => {
      const w = new OverlapAddWindower(cfg);
      expect(w.latency).toBe(cfg.windowLength - cfg.hop);
      const x = signal(100_003);
      expect(
        maxErr(
          run(w, x, () => undefined),
          x,
        ),
      ).toBeLessThan(1e-6);
    });
  }
  it('a processor returning new frames (scale by ½) halves the output', () => {
    const x = signal(20_000);
    const w = new OverlapAddWindower({ windowLength: 512, hop: 128 });
    const y = run(w, x, (f) => f.map((v) => v / 2));
    expect(maxErr(y, x, 0.5)).toBeLessThan(1e-6);
  });
  it('async processors give the same result', async () => {
    const x = signal(12_345);
    const w = new OverlapAddWindower({ windowLength: 256, hop: 64 });
    const parts: Float32Array[] = [];
    for (let i = 0; i < x.length; i += 1000)
      parts.push(await w.pushAsync(x.subarray(i, i + 1000), async () => undefined));
    parts.push(await w.flushAsync(async (f) => f));
    const y = new Float32Array(x.length);
    let o = 0;
    for (const p of parts) {
      y.set(p, o);
      o += p.length;
    }
    expect(o).toBe(x.length);
    expect(maxErr(y, x)).toBeLessThan(1e-6);
    const s = new OverlapAddWindower({ windowLength: 256, hop: 64 });
    expect(() => s.push(x, (async () => undefined) as unknown as () => undefined)).toThrow(/pushAsync/);
  });
  it('streams 10 minutes at 16 kHz in 1 s chunks exactly', () => {
    const w = new OverlapAddWindower({ windowLength: 512, hop: 256 });
    const chunk = signal(16000);
    let worst = 0;
    let count = 0;
    for (let s = 0; s < 600; s++) {
      const y = w.push(chunk, () => undefined);
      // Output sample t is input sample t; the input repeats `chunk`.
      for (let i = 0; i < y.length; i++)
        worst = Math.max(worst, Math.abs(y[i]! - chunk[(count + i) % 16000]!));
      count += y.length;
    }
    count += w.flush(() => undefined).length;
    expect(count).toBe(600 * 16000);
    expect(worst).toBeLessThan(1e-6);
  });
  it("padding 'reflect' shows the processor the signal mirrored at both ends, and still reproduces it", () => {
    const x = signal(1000);
    const frames: Float32Array[] = [];
    const opts = { windowLength: 256, hop: 128, analysisWindow: 'rect', synthesisWindow: 'hann' } as const;
    const w = new OverlapAddWindower({ ...opts, padding: 'reflect' });
    const y = run(w, x, (f) => {
      frames.push(f.slice());
      return undefined;
    });
    let err = 0;
    for (let i = 0; i < x.length; i++) err = Math.max(err, Math.abs(y[i]! - x[i]!));
    expect(err).toBeLessThan(1e-6);
    // Frame 0 starts 128 samples before sample 0: its lead-in is x[127], …, x[1] (and, folded at
    // x[127] since the frame holds only x[0 … 127], x[126] first).
    const f0 = frames[0]!;
    for (let k = 1; k < 128; k++) expect(f0[128 - k]).toBe(x[k]);
    expect(f0[0]).toBe(x[126]);
    for (let i = 0; i < 128; i++) expect(f0[128 + i]).toBe(x[i]);
    // The last frame starts at 1024 − 128 = 896 and holds x[896 … 999], then x[998], x[997], ….
    const last = frames.at(-1)!;
    const start = (frames.length - 1) * 128 - 128;
    const real = x.length - start;
    for (let i = 0; i < real; i++) expect(last[i]).toBe(x[start + i]);
    for (let k = 1; k < real; k++) expect(last[real - 1 + k]).toBe(x[x.length - 1 - k]);
    // Beyond that it folds at x[896], the frame's first sample.
    expect(last[2 * real - 1]).toBe(x[start + 1]);
    // With zeros (the default) the same frames hold zeros there.
    const zframes: Float32Array[] = [];
    run(new OverlapAddWindower(opts), x, (f) => {
      zframes.push(f.slice());
      return undefined;
    });
    expect(zframes[0]!.subarray(0, 128).every((v) => v === 0)).toBe(true);
    // A signal shorter than the padding folds again and again, and a single sample repeats.
    const tiny = new OverlapAddWindower({ ...opts, padding: 'reflect' });
    const seen: Float32Array[] = [];
    tiny.flush(() => undefined);
    const three = new OverlapAddWindower({ ...opts, padding: 'reflect' });
    three.push(Float32Array.from([1, 2, 3]), () => undefined);
    three.flush((f) => {
      seen.push(f.slice());
      return undefined;
    });
    expect(Array.from(seen[0]!.subarray(124, 136))).toEqual([1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2]);
    expect(() => new OverlapAddWindower({ ...opts, padding: 'edge' as 'zeros' })).toThrow(/padding/);
  });

  it('rejects windows that are not COLA at the hop, and bad sizes', () => {
    expect(colaDeviation(makeWindow('hann', 1024), makeWindow('rect', 1024), 256)).toBeLessThan(1e-12);
    expect(colaDeviation(makeWindow('rect', 1000), makeWindow('rect', 1000), 300)).toBeGreaterThan(0.2);
    expect(
      () =>
        new OverlapAddWindower({
          windowLength: 1000,
          hop: 300,
          analysisWindow: 'rect',
          synthesisWindow: 'rect',
        }),
    ).toThrow(/COLA/);
    expect(() => new OverlapAddWindower({ windowLength: 100, hop: 200 })).toThrow(/hop/);
    expect(() => new OverlapAddWindower({ windowLength: 0, hop: 1 })).toThrow(/windowLength/);
    const w = new OverlapAddWindower({ windowLength: 64, hop: 32 });
    expect(() => w.push(new Float32Array(100), () => new Float32Array(3))).toThrow(/length 64/);
  });
});
