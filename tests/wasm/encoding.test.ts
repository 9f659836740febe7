import { describe, expect, it } from 'vitest';
import { name, section, sleb, uleb, vec } from '../../src/wasm/encoding.ts';

describe('WebAssembly encodings', () => {
  it('LEB128 matches the specification examples and round-trips', () => {
    // The DWARF/Wikipedia examples.
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(uleb(0)).toEqual([0]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    const decodeSigned = (bytes: number[]): bigint => {
      let v = 0n;
      let shift = 0n;
      for (const b of bytes) {
        v |= BigInt(b & 0x7f) << shift;
        shift += 7n;
      }
      return bytes.at(-1)! & 0x40 ? v - (1n << shift) : v;
    };
    for (const n of [0, 1, -1, 127, 128, -128, 0x9e3779b9 | 0, 0xd2511f53, -(2 ** 31), 2 ** 40 + 3]) {
      expect(decodeSigned(sleb(n))).toBe(BigInt(n));
    }
  });

  it('sections, vectors and names carry their lengths', () => {
    expect(section(7, [1, 2, 3])).toEqual([7, 3, 1, 2, 3]);
    expect(vec([[1], [2, 3]])).toEqual([2, 1, 2, 3]);
    expect(name('mem')).toEqual([3, 0x6d, 0x65, 0x6d]);
    // A minimal valid module: magic, version and an empty type section.
    const bytes = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...section(1, vec([]))]);
    expect(WebAssembly.validate(bytes)).toBe(true);
  });
});
