import { describe, expect, it } from 'vitest';
import {
  batchNoise,
  gaussianFill,
  karrasSigmas,
  levelsFromSigmas,
  philox4x32,
  sample,
  uniformInt,
} from '../../src/sampler/index.ts';
import { gaussianDenoiser } from './gaussian.ts';

const hex = (u: Uint32Array) => [...u].map((v) => v.toString(16).padStart(8, '0')).join(' ');

describe('Philox4x32-10', () => {
  it('matches the Random123 known-answer vectors (kat_vectors: philox4x32 10 rounds)', () => {
    const out = new Uint32Array(4);
    philox4x32(0, 0, 0, 0, 0, 0, out);
    expect(hex(out)).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, out);
    expect(hex(out)).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
    expect(hex(out)).toBe('d16cfe09 94fdcceb 5001e420 24126ea1');
  });

  it('Box–Muller output is standard normal (mean, variance, kurtosis, tail mass)', () => {
    const n = 200_000;
    const z = new Float32Array(n);
    gaussianFill(z, 0, n, 12345, 0, 0);
    let m = 0;
    for (const v of z) m += v;
    m /= n;
    let v2 = 0;
    let v4 = 0;
    let tail = 0;
    for (const v of z) {
      v2 += (v - m) ** 2;
      v4 += (v - m) ** 4;
      if (Math.abs(v) > 1.959964) tail++;
    }
    v2 /= n;
    v4 /= n;
    expect(Math.abs(m)).toBeLessThan(0.01); // 4.5 standard errors
    expect(Math.abs(v2 - 1)).toBeLessThan(0.015);
    expect(Math.abs(v4 / (v2 * v2) - 3)).toBeLessThan(0.06);
    expect(Math.abs(tail / n - 0.05)).toBeLessThan(0.003);
  });
});

describe('noise reproducibility', () => {
  it('same seed gives identical bytes; another seed or draw differs', () => {
    const a = batchNoise({ seed: 42 }, 2, 1001, 3);
    const b = batchNoise({ seed: 42 }, 2, 1001, 3);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    const c = batchNoise({ seed: 43 }, 2, 1001, 3);
    const d = batchNoise({ seed: 42 }, 2, 1001, 4);
    expect(c.some((v, i) => v !== a[i])).toBe(true);
    expect(d.some((v, i) => v !== a[i])).toBe(true);
  });

  it('an item’s noise does not depend on batch size or on its neighbours', () => {
    const one = batchNoise({ seed: 9, itemOffset: 2 }, 1, 333, 0);
    const four = batchNoise({ seed: 9 }, 4, 333, 0);
    expect(Buffer.from(one.buffer).equals(Buffer.from(four.buffer, 2 * 333 * 4, 333 * 4))).toBe(true);
    // Per-item seeds: position in the batch is irrelevant.
    const p = batchNoise({ seed: 0, seeds: [7, 8] }, 2, 100, 1);
    const q = batchNoise({ seed: 0, seeds: [8, 7] }, 2, 100, 1);
    expect([...p.subarray(0, 100)]).toEqual([...q.subarray(100)]);
  });

  it('a whole stochastic sampling run is bit-identical per item for batch 1 and batch 4', async () => {
    const levels = levelsFromSigmas('vp', [...karrasSigmas(12, 0.01, 40), 0]);
    const run = (batch: number, itemOffset = 0) =>
      sample({
        denoiser: gaussianDenoiser('epsilon'),
        shape: [batch, 2, 64],
        levels,
        sampler: 'dpmpp_2m_sde',
        prediction: 'epsilon',
        seed: 2024,
        itemOffset,
      });
    const four = await run(4);
    const again = await run(4);
    expect(Buffer.from(four.x.buffer).equals(Buffer.from(again.x.buffer))).toBe(true);
    for (const item of [0, 3]) {
      const single = await run(1, item);
      expect(Buffer.from(single.x.buffer).equals(Buffer.from(four.x.buffer, item * 128 * 4, 128 * 4))).toBe(
        true,
      );
    }
  });

  it('uniformInt covers its range evenly', () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[uniformInt(8, 5, i)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120);
  });

  it('rejects bad seeds', () => {
    expect(() => batchNoise({ seed: -1 }, 1, 4, 0)).toThrow(RangeError);
    expect(() => batchNoise({ seed: 1.5 }, 1, 4, 0)).toThrow(/seed/);
  });
});
