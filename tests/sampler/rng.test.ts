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
import { BLOCKS_PER_CALL, philoxWasm } from '../../src/sampler/philox-wasm.ts';
import { gaussianDenoiser } from './gaussian.ts';

/** Philox4x32-10 in BigInt arithmetic: an independent reference for the Number/WebAssembly paths. */
function philoxRef(ctr: number[], key: number[]): number[] {
  let [c0, c1, c2, c3] = ctr.map(BigInt) as [bigint, bigint, bigint, bigint];
  let [k0, k1] = key.map(BigInt) as [bigint, bigint];
  const mask = 0xffffffffn;
  for (let r = 0; r < 10; r++) {
    const p0 = 0xd2511f53n * c0;
    const p1 = 0xcd9e8d57n * c2;
    [c0, c1, c2, c3] = [(p1 >> 32n) ^ c1 ^ k0, p1 & mask, (p0 >> 32n) ^ c3 ^ k1, p0 & mask];
    k0 = (k0 + 0x9e3779b9n) & mask;
    k1 = (k1 + 0xbb67ae85n) & mask;
  }
  return [c0, c1, c2, c3].map(Number);
}

/** The documented noise definition, written out directly. */
function gaussianRef(length: number, seed: number, item: number, draw: number): Float32Array {
  const key = [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];
  const out = new Float32Array(length);
  const u = (r: number) => (r + 0.5) / 2 ** 32;
  for (let b = 0; 4 * b < length; b++) {
    const [r0, r1, r2, r3] = philoxRef([b, draw, item, 0x736f6e6f], key) as [number, number, number, number];
    const z = [
      Math.sqrt(-2 * Math.log(u(r0))) * Math.cos(2 * Math.PI * u(r1)),
      Math.sqrt(-2 * Math.log(u(r0))) * Math.sin(2 * Math.PI * u(r1)),
      Math.sqrt(-2 * Math.log(u(r2))) * Math.cos(2 * Math.PI * u(r3)),
      Math.sqrt(-2 * Math.log(u(r2))) * Math.sin(2 * Math.PI * u(r3)),
    ];
    for (let k = 0; k < 4 && 4 * b + k < length; k++) out[4 * b + k] = z[k]!;
  }
  return out;
}

function fnv1a(a: Float32Array): string {
  let h = 0x811c9dc5;
  for (const w of new Uint32Array(a.buffer, a.byteOffset, a.length)) h = Math.imul(h ^ w, 0x01000193) >>> 0;
  return h.toString(16);
}

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

describe('fast noise path (WebAssembly Philox) is bit-identical to the definition', () => {
  it('the WebAssembly block generator matches the BigInt reference and philox4x32', () => {
    const w = philoxWasm();
    expect(w).not.toBeNull();
    const key = [0xa4093822, 0x299f31d0];
    w!.fill(3, 0xfffffffe, 0x85a308d3, 0x13198a2e, 0x03707344, key[0]!, key[1]!);
    const js = new Uint32Array(4);
    for (let b = 0; b < 3; b++) {
      const c0 = (0xfffffffe + b) >>> 0; // the block counter wraps modulo 2^32
      const ref = philoxRef([c0, 0x85a308d3, 0x13198a2e, 0x03707344], key);
      expect([...w!.words.subarray(4 * b, 4 * b + 4)]).toEqual(ref);
      philox4x32(c0, 0x85a308d3, 0x13198a2e, 0x03707344, key[0]!, key[1]!, js);
      expect([...js]).toEqual(ref);
    }
  });

  it('gaussianFill equals the written-out definition across batch boundaries, odd lengths and offsets', () => {
    // 4·BLOCKS_PER_CALL + 7 values cross one internal batch boundary and end in a partial block.
    for (const [len, off, seed, item, draw] of [
      [4 * BLOCKS_PER_CALL + 7, 3, 2 ** 40 + 12345, 7, 11],
      [1, 0, 0, 0, 0],
      [6, 5, 2 ** 53 - 1, 0xffffffff, 0xffffffff],
    ] as const) {
      const got = new Float32Array(off + len + 2).fill(99);
      gaussianFill(got, off, len, seed, item, draw);
      const want = gaussianRef(len, seed, item, draw);
      expect(Buffer.from(got.buffer, off * 4, len * 4).equals(Buffer.from(want.buffer))).toBe(true);
      // Neighbours untouched.
      expect([got[off - 1] ?? 99, got[off + len], got[off + len + 1]]).toEqual([99, 99, 99]);
    }
  });

  it('output is pinned (hashes of the pure-JS implementation before the WebAssembly path)', () => {
    const z = new Float32Array(3 + 4 * BLOCKS_PER_CALL + 7);
    gaussianFill(z, 3, z.length - 3, 2 ** 40 + 12345, 7, 11);
    expect(fnv1a(z)).toBe('b49cff35');
    expect([...z.subarray(3, 5)]).toEqual([-0.5863466262817383, 0.22644443809986115]);
    const big = new Float32Array(1 << 20);
    gaussianFill(big, 0, big.length, 1, 0, 0);
    expect(fnv1a(big)).toBe('82d3da31');
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
