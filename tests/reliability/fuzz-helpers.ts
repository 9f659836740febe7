/**
 * Shared pieces of the fuzz tests: byte mutations of real files, a check that an error is a "clear"
 * one, and an allocation tracer that proves header sizes never drive allocations past the input.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { SonodiffError } from '../../src/errors.ts';
import { ProtocolError } from '../../src/protocol/index.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const TRAIN = path.resolve(ROOT, '../shared/data/train');

export function repoFile(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(ROOT, rel)));
}

export function trainFile(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(TRAIN, rel)));
}

/** Fixed fast-check seed per target (override with FUZZ_SEED to explore). */
export function fuzzSeed(offset: number): number {
  const env = process.env['FUZZ_SEED'];
  return (env === undefined ? 20_251_204 : Number(env)) + offset;
}

export type ErrorKind = 'SonodiffError' | 'ProtocolError' | 'RangeError';

/**
 * Why `err` is not an acceptable failure, or undefined when it is: one of the allowed classes, with a
 * non-empty one-line message (and a stable code for SonodiffError/ProtocolError).
 */
export function unclearError(err: unknown, allowed: readonly ErrorKind[]): string | undefined {
  const msg = err instanceof Error ? err.message : undefined;
  const name = err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err);
  if (msg === undefined || msg.length === 0) return `empty or non-Error failure: ${name}`;
  if (msg.includes('\n')) return `multi-line message: ${name}`;
  if (err instanceof SonodiffError) {
    return allowed.includes('SonodiffError') && err.code.length > 0 ? undefined : `unexpected ${name}`;
  }
  if (err instanceof ProtocolError) {
    return allowed.includes('ProtocolError') && err.code.length > 0 ? undefined : `unexpected ${name}`;
  }
  // RangeError, not a subclass from a stack overflow ("Maximum call stack size exceeded").
  if (err instanceof RangeError && err.constructor === RangeError && !/call stack/.test(msg)) {
    return allowed.includes('RangeError') ? undefined : `unexpected ${name}`;
  }
  return `crash-like ${name}`;
}

const INTERESTING_U8 = [0, 1, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_U32 = [
  0, 1, 2, 3, 4, 7, 8, 16, 24, 40, 0xff, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff,
];

/** One edit of a byte string. Positions are fractions so the same edit applies to any length. */
export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'byte'; at: number; value: number }
  | { op: 'u32'; at: number; value: number; big: boolean }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; n: number }
  | { op: 'copy'; from: number; to: number; n: number };

// Unbiased: fast-check's default bias toward 0 would cut most files to nothing.
const frac = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((v) => v / 1_000_000);

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  w(4, fc.record({ op: fc.constant('flip' as const), at: frac, bit: fc.integer({ min: 0, max: 7 }) })),
  w(
    4,
    fc.record({
      op: fc.constant('byte' as const),
      at: frac,
      value: fc.oneof(fc.constantFrom(...INTERESTING_U8), fc.integer({ min: 0, max: 255 })),
    }),
  ),
  w(
    4,
    fc.record({
      op: fc.constant('u32' as const),
      at: frac,
      value: fc.oneof(fc.constantFrom(...INTERESTING_U32), fc.nat({ max: 0xffff_ffff })),
      big: fc.boolean(),
    }),
  ),
  w(1, fc.record({ op: fc.constant('truncate' as const), at: frac })),
  w(2, fc.record({ op: fc.constant('insert' as const), at: frac, bytes: fc.uint8Array({ maxLength: 24 }) })),
  w(2, fc.record({ op: fc.constant('delete' as const), at: frac, n: fc.integer({ min: 1, max: 64 }) })),
  w(
    2,
    fc.record({ op: fc.constant('copy' as const), from: frac, to: frac, n: fc.integer({ min: 1, max: 64 }) }),
  ),
);

/** Edits biased to the first bytes (where headers live) half of the time. */
export const mutationsArb = fc.array(mutationArb, { minLength: 1, maxLength: 4 });

/** Applies mutations to a copy of `input`. Header-biased: every third edit's position is squared. */
export function mutate(input: Uint8Array, edits: readonly Mutation[]): Uint8Array {
  let b = input.slice();
  const pos = (f: number, len: number, bias: boolean) =>
    Math.min(len, Math.floor((bias ? f * f * f : f) * len));
  edits.forEach((e, i) => {
    const bias = i % 3 === 0;
    const len = b.length;
    switch (e.op) {
      case 'flip':
        if (len > 0) {
          const at = Math.min(len - 1, pos(e.at, len, bias));
          b[at] = b[at]! ^ (1 << e.bit);
        }
        break;
      case 'byte':
        if (len > 0) b[Math.min(len - 1, pos(e.at, len, bias))] = e.value;
        break;
      case 'u32': {
        const at = Math.min(Math.max(0, len - 4), pos(e.at, len, bias));
        if (at + 4 <= len) new DataView(b.buffer).setUint32(at, e.value, !e.big);
        break;
      }
      case 'truncate':
        b = b.slice(0, pos(e.at, len, false));
        break;
      case 'insert': {
        const at = pos(e.at, len, bias);
        const out = new Uint8Array(len + e.bytes.length);
        out.set(b.subarray(0, at));
        out.set(e.bytes, at);
        out.set(b.subarray(at), at + e.bytes.length);
        b = out;
        break;
      }
      case 'delete': {
        const at = pos(e.at, len, bias);
        const out = new Uint8Array(Math.max(0, len - Math.min(e.n, len - at)));
        out.set(b.subarray(0, at));
        out.set(b.subarray(at + e.n), at);
        b = out;
        break;
      }
      case 'copy': {
        const from = pos(e.from, len, false);
        const to = pos(e.to, len, bias);
        const n = Math.min(e.n, len - from, len - to);
        if (n > 0) b.copyWithin(to, from, from + n);
        break;
      }
    }
  });
  return b;
}

/** Typed-array and ArrayBuffer constructors watched by `traceAllocations`. */
const CTORS = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'Uint8Array',
  'Int8Array',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
] as const;

export interface AllocationTrace<T> {
  value: T | undefined;
  error: unknown;
  threw: boolean;
  /** Bytes requested by the largest single `new TypedArray(n)` / `new ArrayBuffer(n)`. */
  maxBytes: number;
  /** Bytes requested by all of them together. */
  totalBytes: number;
  ms: number;
}

function requestedBytes(name: string, args: unknown[]): number {
  const a = args[0];
  const per =
    name === 'ArrayBuffer' || name === 'SharedArrayBuffer'
      ? 1
      : ((globalThis as unknown as Record<string, { BYTES_PER_ELEMENT: number }>)[name]?.BYTES_PER_ELEMENT ??
        1);
  if (typeof a === 'number') return a * per;
  if (a instanceof ArrayBuffer || a instanceof SharedArrayBuffer) return 0; // a view: no new memory
  if (a !== null && typeof a === 'object' && 'length' in a)
    return Number((a as { length: number }).length) * per;
  return 0;
}

/**
 * Runs a synchronous function with the global typed-array constructors wrapped, recording what the
 * code under test asks to allocate. The wrapping lasts only for the call (no await inside).
 */
export function traceAllocations<T>(fn: () => T): AllocationTrace<T> {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = new Map<string, unknown>();
  let maxBytes = 0;
  let totalBytes = 0;
  for (const name of CTORS) {
    const real = g[name] as (new (...args: unknown[]) => object) | undefined;
    if (real === undefined) continue;
    saved.set(name, real);
    g[name] = new Proxy(real, {
      construct(target, args, newTarget) {
        const n = requestedBytes(name, args);
        maxBytes = Math.max(maxBytes, n);
        totalBytes += n;
        return Reflect.construct(target, args, newTarget === g[name] ? target : newTarget);
      },
    });
  }
  const t0 = performance.now();
  let value: T | undefined;
  let error: unknown;
  let threw = false;
  try {
    value = fn();
  } catch (err) {
    error = err;
    threw = true;
  } finally {
    for (const [name, real] of saved) g[name] = real;
  }
  return { value, error, threw, maxBytes, totalBytes, ms: performance.now() - t0 };
}

/** Rejects after `ms` (a hang detector for async targets). */
export async function withinMs<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (hang)`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Tallies outcomes of a fuzz target for the report printed by each test. */
export class Tally {
  readonly name: string;
  runs = 0;
  ok = 0;
  readonly codes = new Map<string, number>();
  maxMs = 0;
  private readonly t0 = performance.now();

  constructor(name: string) {
    this.name = name;
  }

  record(err: unknown, ms: number): void {
    this.runs++;
    this.maxMs = Math.max(this.maxMs, ms);
    if (err === undefined) {
      this.ok++;
      return;
    }
    const code = (err as { code?: string }).code ?? (err as Error).constructor.name;
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
  }

  summary(): string {
    const codes = [...this.codes.entries()].map(([k, v]) => `${k} ${v}`).join(', ');
    const s = (performance.now() - this.t0) / 1000;
    return `${this.name}: ${this.runs} inputs in ${s.toFixed(1)} s (max ${this.maxMs.toFixed(1)} ms each): ${this.ok} decoded, errors ${codes || 'none'}`;
  }
}
