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

import { BLOCKS_PER_CALL, philoxWasm } from './philox-wasm.ts';

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

/** Fallback where WebAssembly is unavailable: the same words from the pure-JS Philox. */
function philoxWordsJs(
  words: Uint32Array,
  blocks: number,
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
): void {
  const r = new Uint32Array(4);
  for (let b = 0; b < blocks; b++) {
    philox4x32(c0 + b, c1, c2, c3, k0, k1, r);
    words.set(r, 4 * b);
  }
}

let jsWords: Uint32Array | undefined;

/**
 * Fills `out` (offset `offset`, `length` values) with standard normals for one item.
 * `draw` numbers the successive draws of a run (initial noise = 0, then one per noisy step).
 * Philox runs in WebAssembly (i64.mul is the exact 32×32→64 product JS lacks) in batches of 4096
 * blocks; Box–Muller stays here, with Math.log/sqrt/cos/sin in double precision as defined.
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
  const c1 = draw >>> 0;
  const c2 = item >>> 0;
  const c3 = domain >>> 0;
  const wasm = philoxWasm();
  const words = wasm !== null ? wasm.words : (jsWords ??= new Uint32Array(4 * BLOCKS_PER_CALL));
  for (let b0 = 0; b0 < blocks; b0 += BLOCKS_PER_CALL) {
    const nb = Math.min(BLOCKS_PER_CALL, blocks - b0);
    if (wasm !== null) wasm.fill(nb, b0, c1, c2, c3, key0, key1);
    else philoxWordsJs(words, nb, b0, c1, c2, c3, key0, key1);
    // All complete blocks of this batch; a trailing partial block (length % 4) is handled below.
    const full = Math.min(nb, Math.floor(length / 4) - b0);
    let o = offset + 4 * b0;
    for (let i = 0; i < 4 * full; i += 4) {
      const rad0 = Math.sqrt(-2 * Math.log((words[i]! + 0.5) * INV32));
      const th0 = TWO_PI * ((words[i + 1]! + 0.5) * INV32);
      const rad1 = Math.sqrt(-2 * Math.log((words[i + 2]! + 0.5) * INV32));
      const th1 = TWO_PI * ((words[i + 3]! + 0.5) * INV32);
      out[o] = rad0 * Math.cos(th0);
      out[o + 1] = rad0 * Math.sin(th0);
      out[o + 2] = rad1 * Math.cos(th1);
      out[o + 3] = rad1 * Math.sin(th1);
      o += 4;
    }
    if (full < nb) {
      const i = 4 * full;
      const n = length - 4 * (b0 + full);
      const rad0 = Math.sqrt(-2 * Math.log((words[i]! + 0.5) * INV32));
      const th0 = TWO_PI * ((words[i + 1]! + 0.5) * INV32);
      const rad1 = Math.sqrt(-2 * Math.log((words[i + 2]! + 0.5) * INV32));
      const th1 = TWO_PI * ((words[i + 3]! + 0.5) * INV32);
      out[o] = rad0 * Math.cos(th0);
      if (n > 1) out[o + 1] = rad0 * Math.sin(th0);
      if (n > 2) out[o + 2] = rad1 * Math.cos(th1);
    }
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
