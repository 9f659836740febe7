/**
 * Portable counter-based noise: Philox4x32-10 (Salmon et al., SC'11) with a Box–Muller transform.
 *
 * Bit-exact definition (see docs/sampler.md):
 *   key     = (seed mod 2^32, floor(seed / 2^32) mod 2^32)
 *   counter = (block, draw, item, domain), block = element index / 4 within the item
 *   Philox4x32-10 → four uint32 (r0, r1, r2, r3)
 *   u(r)    = (r + 0.5) / 2^32                       (never 0 or 1)
 *   z0 = sqrt(-2 ln u(r0)) cos(2π u(r1)), z1 = sqrt(-2 ln u(r0)) sin(2π u(r1)), same for (r2, r3)
 *   element 4·block + k of the item takes z_k, rounded to float32.
 * Noise for one item therefore depends only on (seed, item, draw), never on batch size or position.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** Domains keep independent uses of one seed apart (fourth counter word). */
export const NOISE_DOMAIN = 0x736f6e6f; // 'sono'
export const SHIFT_DOMAIN = 0x6c6f6f70; // 'loop'

/** High 32 bits of the 64-bit product of two uint32, exact in doubles via 16-bit halves. */
function mulhi(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const t = al * bl;
  const m1 = ah * bl;
  const m2 = al * bh;
  const mid = (t >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
  return (ah * bh + (m1 >>> 16) + (m2 >>> 16) + (mid >>> 16)) >>> 0;
}

/** Philox4x32-10 of counter (c0..c3) under key (k0, k1); writes four uint32 into out. */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): void {
  c0 >>>= 0;
  c1 >>>= 0;
  c2 >>>= 0;
  c3 >>>= 0;
  k0 >>>= 0;
  k1 >>>= 0;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** Splits a seed (integer in [0, 2^53)) into the two Philox key words. */
export function seedKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be an integer in [0, 2^53), got ${seed}`);
  }
  return [(seed % 0x100000000) >>> 0, Math.floor(seed / 0x100000000) >>> 0];
}

const INV32 = 1 / 0x100000000;
const TWO_PI = 2 * Math.PI;

/**
 * Fills `out` (offset `offset`, `length` values) with standard normals for one item.
 * `draw` numbers the successive draws of a run (initial noise = 0, then one per noisy step).
 * Philox is inlined here (same arithmetic as philox4x32) because this loop dominates noisy steps.
 */
export function gaussianFill(
  out: Float32Array,
  offset: number,
  length: number,
  seed: number,
  item: number,
  draw: number,
  domain = NOISE_DOMAIN,
): void {
  const [key0, key1] = seedKey(seed);
  const blocks = Math.ceil(length / 4);
  const c1in = draw >>> 0;
  const c2in = item >>> 0;
  const c3in = domain >>> 0;
  for (let b = 0; b < blocks; b++) {
    let c0 = b >>> 0;
    let c1 = c1in;
    let c2 = c2in;
    let c3 = c3in;
    let k0 = key0;
    let k1 = key1;
    for (let r = 0; r < 10; r++) {
      // mulhi via 16-bit halves (exact in doubles); lo via Math.imul.
      const a0l = c0 & 0xffff;
      const a0h = c0 >>> 16;
      const t0 = a0l * 0x1f53;
      const m01 = a0h * 0x1f53;
      const m02 = a0l * 0xd251;
      const hi0 =
        (a0h * 0xd251 +
          (m01 >>> 16) +
          (m02 >>> 16) +
          (((t0 >>> 16) + (m01 & 0xffff) + (m02 & 0xffff)) >>> 16)) >>>
        0;
      const lo0 = Math.imul(M0, c0) >>> 0;
      const a2l = c2 & 0xffff;
      const a2h = c2 >>> 16;
      const t2 = a2l * 0x8d57;
      const m21 = a2h * 0x8d57;
      const m22 = a2l * 0xcd9e;
      const hi1 =
        (a2h * 0xcd9e +
          (m21 >>> 16) +
          (m22 >>> 16) +
          (((t2 >>> 16) + (m21 & 0xffff) + (m22 & 0xffff)) >>> 16)) >>>
        0;
      const lo1 = Math.imul(M1, c2) >>> 0;
      c0 = (hi1 ^ c1 ^ k0) >>> 0;
      c1 = lo1;
      c2 = (hi0 ^ c3 ^ k1) >>> 0;
      c3 = lo0;
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const rad0 = Math.sqrt(-2 * Math.log((c0 + 0.5) * INV32));
    const th0 = TWO_PI * ((c1 + 0.5) * INV32);
    const rad1 = Math.sqrt(-2 * Math.log((c2 + 0.5) * INV32));
    const th1 = TWO_PI * ((c3 + 0.5) * INV32);
    const base = offset + 4 * b;
    const n = Math.min(4, length - 4 * b);
    out[base] = rad0 * Math.cos(th0);
    if (n > 1) out[base + 1] = rad0 * Math.sin(th0);
    if (n > 2) out[base + 2] = rad1 * Math.cos(th1);
    if (n > 3) out[base + 3] = rad1 * Math.sin(th1);
  }
}

/** A uniform integer in [0, n) for (seed, counter) in a domain; used for loop shifts. */
export function uniformInt(n: number, seed: number, counter: number, domain = SHIFT_DOMAIN): number {
  const [k0, k1] = seedKey(seed);
  const r = new Uint32Array(4);
  philox4x32(counter, 0, 0, domain, k0, k1, r);
  // 53-bit uniform from two words, then scale: bias is below 2^-20 for any n < 2^32.
  const u = (r[0] * 0x200000 + (r[1] >>> 11)) / 2 ** 53;
  return Math.min(n - 1, Math.floor(u * n));
}

/** How each batch item draws its noise: one seed with item indices, or one seed per item. */
export interface NoiseSource {
  seed: number;
  /** Per-item seeds; when given, item b uses key seeds[b] and item index 0. */
  seeds?: readonly number[];
  /** Item index of batch position 0 (so a batch can continue another's numbering). Default 0. */
  itemOffset?: number;
}

/** Standard normal noise for a whole batch (batch-major), draw number `draw`. */
export function batchNoise(src: NoiseSource, batch: number, itemSize: number, draw: number): Float32Array {
  const out = new Float32Array(batch * itemSize);
  fillBatchNoise(out, src, batch, itemSize, draw);
  return out;
}

export function fillBatchNoise(
  out: Float32Array,
  src: NoiseSource,
  batch: number,
  itemSize: number,
  draw: number,
): void {
  if (src.seeds !== undefined && src.seeds.length < batch) {
    throw new RangeError(`seeds must have one entry per batch item (${batch}), got ${src.seeds.length}`);
  }
  for (let b = 0; b < batch; b++) {
    const seed = src.seeds !== undefined ? src.seeds[b] : src.seed;
    const item = src.seeds !== undefined ? 0 : (src.itemOffset ?? 0) + b;
    gaussianFill(out, b * itemSize, itemSize, seed, item, draw);
  }
}
