/**
 * Philox4x32-10 block generator as a tiny hand-assembled WebAssembly module.
 *
 * JavaScript has no 32×32→64-bit multiply, so the pure-JS Philox splits each product into 16-bit
 * halves; WebAssembly's i64.mul gives the exact product in one instruction (≈ 10× faster). The module
 * only produces raw uint32 words; Box–Muller stays in JavaScript (rng.ts) so that it keeps using
 * V8's Math.log/sqrt/cos/sin and the noise stays bit-identical to the documented definition.
 *
 * Exported function `fill(blocks, c0, c1, c2, c3, k0, k1)`: for b < blocks, writes Philox4x32-10 of
 * counter (c0 + b, c1, c2, c3) under key (k0, k1) as four little-endian uint32 at byte 16·b of the
 * module's one-page (64 KiB) memory, so at most BLOCKS_PER_CALL blocks per call.
 */

import { I32, I64, name, section, sleb, uleb, vec } from '../wasm/encoding.ts';

/** Blocks that fit in the module's single 64 KiB page. */
export const BLOCKS_PER_CALL = 4096;

const OP = {
  block: 0x02,
  loop: 0x03,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  i32Store: 0x36,
  i32Const: 0x41,
  i64Const: 0x42,
  i32Eqz: 0x45,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Xor: 0x73,
  i64Mul: 0x7e,
  i64ShrU: 0x88,
  i32WrapI64: 0xa7,
  i64ExtendI32U: 0xad,
} as const;

function philoxModuleBytes(): Uint8Array<ArrayBuffer> {
  // Locals: params 0 blocks, 1 c0, 2 c1, 3 c2, 4 c3, 5 k0, 6 k1; then
  // 7 x0, 8 x1, 9 x2, 10 x3 (the state), 11 a0, 12 a1 (round keys), 13 ptr (i32); 14 p0, 15 p1 (i64).
  const [blocks, c0, c1, c2, c3, k0, k1, x0, x1, x2, x3, a0, a1, ptr, p0, p1] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  ];
  const get = (i: number) => [OP.localGet, i];
  const set = (i: number) => [OP.localSet, i];
  const body: number[] = [];
  const emit = (...ops: number[][]) => {
    for (const o of ops) body.push(...o);
  };
  // if blocks == 0 return; (block ... br_if 0 on eqz) around the loop
  emit([OP.block, 0x40], get(blocks), [OP.i32Eqz], [OP.brIf, 0], [OP.loop, 0x40]);
  // state = counter, round keys = key
  emit(get(c0), set(x0), get(c1), set(x1), get(c2), set(x2), get(c3), set(x3));
  emit(get(k0), set(a0), get(k1), set(a1));
  for (let r = 0; r < 10; r++) {
    // p0 = M0·x0, p1 = M1·x2 as exact 64-bit products.
    emit(get(x0), [OP.i64ExtendI32U], [OP.i64Const, ...sleb(0xd2511f53)], [OP.i64Mul], set(p0));
    emit(get(x2), [OP.i64ExtendI32U], [OP.i64Const, ...sleb(0xcd9e8d57)], [OP.i64Mul], set(p1));
    // x0 = hi(p1) ^ x1 ^ a0; x1 = lo(p1); x2 = hi(p0) ^ x3 ^ a1; x3 = lo(p0)
    emit(get(p1), [OP.i64Const, 32], [OP.i64ShrU], [OP.i32WrapI64], get(x1), [OP.i32Xor], get(a0));
    emit([OP.i32Xor], set(x0), get(p1), [OP.i32WrapI64], set(x1));
    emit(get(p0), [OP.i64Const, 32], [OP.i64ShrU], [OP.i32WrapI64], get(x3), [OP.i32Xor], get(a1));
    emit([OP.i32Xor], set(x2), get(p0), [OP.i32WrapI64], set(x3));
    if (r < 9) {
      // Weyl key schedule.
      emit(get(a0), [OP.i32Const, ...sleb(0x9e3779b9 | 0)], [OP.i32Add], set(a0));
      emit(get(a1), [OP.i32Const, ...sleb(0xbb67ae85 | 0)], [OP.i32Add], set(a1));
    }
  }
  // store x0..x3 at ptr (align 2^2, offsets 0/4/8/12)
  emit(get(ptr), get(x0), [OP.i32Store, 2, 0], get(ptr), get(x1), [OP.i32Store, 2, 4]);
  emit(get(ptr), get(x2), [OP.i32Store, 2, 8], get(ptr), get(x3), [OP.i32Store, 2, 12]);
  // ptr += 16; c0 += 1; blocks -= 1; loop while blocks != 0
  emit(get(ptr), [OP.i32Const, 16], [OP.i32Add], set(ptr));
  emit(get(c0), [OP.i32Const, 1], [OP.i32Add], set(c0));
  emit(get(blocks), [OP.i32Const, 1], [OP.i32Sub], [OP.localSet, blocks], get(blocks), [OP.brIf, 0]);
  emit([OP.end], [OP.end], [OP.end]); // loop, block, function

  const locals = vec([
    [7, I32],
    [2, I64],
  ]);
  const func = [...locals, ...body];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec(Array.from({ length: 7 }, () => [I32])), 0x00]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x01, 1, 1]])), // memory: min 1, max 1 page
    ...section(
      7,
      vec([
        [...name('fill'), 0x00, 0],
        [...name('mem'), 0x02, 0],
      ]),
    ),
    ...section(10, vec([[...uleb(func.length), ...func]])),
  ]);
}

export interface PhiloxWasm {
  /** Fills words[0 .. 4·blocks) (a view of the module memory); blocks ≤ BLOCKS_PER_CALL. */
  fill(blocks: number, c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): void;
  readonly words: Uint32Array;
}

let instance: PhiloxWasm | null | undefined;

/** The shared instance, or null where WebAssembly is unavailable (callers fall back to JS). */
export function philoxWasm(): PhiloxWasm | null {
  if (instance !== undefined) return instance;
  try {
    const mod = new WebAssembly.Module(philoxModuleBytes());
    const inst = new WebAssembly.Instance(mod, {});
    const mem = inst.exports['mem'] as WebAssembly.Memory;
    const fill = inst.exports['fill'] as PhiloxWasm['fill'];
    instance = { fill, words: new Uint32Array(mem.buffer, 0, 4 * BLOCKS_PER_CALL) };
  } catch {
    instance = null;
  }
  return instance;
}
