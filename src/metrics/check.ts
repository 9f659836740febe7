/** Argument checks shared by the metrics (internal; not exported from the barrel). */

export function checkSignal(x: unknown, name: string): asserts x is Float32Array {
  if (!(x instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array`);
}

/** Both signals are Float32Arrays of the same, non-zero length. */
export function checkPair(a: unknown, b: unknown, nameA: string, nameB: string): void {
  checkSignal(a, nameA);
  checkSignal(b, nameB);
  if (a.length === 0) throw new RangeError(`${nameA} must not be empty`);
  if (b.length !== a.length)
    throw new RangeError(`${nameB} must have the same length as ${nameA} (${a.length}), got ${b.length}`);
}

export function checkPositiveInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new RangeError(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}

export function checkFinite(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new RangeError(`${name} must be a finite number, got ${String(v)}`);
  return v;
}
