/** Typed arrays back to back in one new array (the parts are not modified). */
function join<T extends Float32Array | Uint8Array>(parts: readonly T[], alloc: (n: number) => T): T {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = alloc(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Audio sample blocks back to back in one new Float32Array. */
export function joinSamples(parts: readonly Float32Array[]): Float32Array {
  return join(parts, (n) => new Float32Array(n));
}

/** Byte blocks back to back in one new Uint8Array (its own ArrayBuffer, unlike a pooled Buffer.concat). */
export function joinBytes(parts: readonly Uint8Array[]): Uint8Array {
  return join(parts, (n) => new Uint8Array(n));
}
