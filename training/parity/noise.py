"""sonodiff's portable noise in NumPy: Philox4x32-10 + Box-Muller, bit-for-bit the definition in
docs/sampler.md (src/sampler/rng.ts). The PyTorch reference sampler draws its noise here, so a
seed means the same noise in Python and in TypeScript.
"""
from __future__ import annotations

import numpy as np

M0 = np.uint64(0xD2511F53)
M1 = np.uint64(0xCD9E8D57)
W0 = np.uint64(0x9E3779B9)
W1 = np.uint64(0xBB67AE85)
MASK = np.uint64(0xFFFFFFFF)
NOISE_DOMAIN = 0x736F6E6F  # 'sono'


def philox4x32(c0, c1, c2, c3, k0, k1):
    """Vectorised Philox4x32-10 over uint64 arrays holding uint32 values."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) & MASK for c in (c0, c1, c2, c3))
    k0 = np.uint64(k0) & MASK
    k1 = np.uint64(k1) & MASK
    for _ in range(10):
        p0 = M0 * c0
        p1 = M1 * c2
        hi0, lo0 = p0 >> np.uint64(32), p0 & MASK
        hi1, lo1 = p1 >> np.uint64(32), p1 & MASK
        c0, c1, c2, c3 = (hi1 ^ c1 ^ k0) & MASK, lo1, (hi0 ^ c3 ^ k1) & MASK, lo0
        k0 = (k0 + W0) & MASK
        k1 = (k1 + W1) & MASK
    return c0, c1, c2, c3


def gaussian(length: int, seed: int, item: int = 0, draw: int = 0, domain: int = NOISE_DOMAIN) -> np.ndarray:
    """`length` standard normals for one item, float32, identical to gaussianFill in rng.ts."""
    k0, k1 = seed % 2**32, (seed // 2**32) % 2**32
    blocks = (length + 3) // 4
    b = np.arange(blocks, dtype=np.uint64)
    r0, r1, r2, r3 = philox4x32(b, np.full_like(b, draw), np.full_like(b, item), np.full_like(b, domain), k0, k1)
    inv = 1.0 / 2**32
    u = lambda r: (r.astype(np.float64) + 0.5) * inv  # noqa: E731
    rad0 = np.sqrt(-2.0 * np.log(u(r0)))
    th0 = 2.0 * np.pi * u(r1)
    rad1 = np.sqrt(-2.0 * np.log(u(r2)))
    th1 = 2.0 * np.pi * u(r3)
    z = np.stack([rad0 * np.cos(th0), rad0 * np.sin(th0), rad1 * np.cos(th1), rad1 * np.sin(th1)], axis=1)
    return z.reshape(-1)[:length].astype(np.float32)


if __name__ == "__main__":
    import json

    print(json.dumps({f"seed{s}_item{i}_draw{d}": gaussian(10, s, i, d).tolist()
                      for s, i, d in [(0, 0, 0), (42, 3, 1), (2**40 + 7, 1, 5)]}))
