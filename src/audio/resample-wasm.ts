/**
 * The resampler's inner loop as a small hand-assembled WebAssembly SIMD module (f64x2 lanes).
 *
 * Why: the scalar JS dot product runs at ≈ 0.5 G multiply-adds/s; two-lane f64 SIMD with four
 * independent accumulators is several times faster, and the result is still computed in double
 * precision from float32 input and float64 coefficients (no fused multiply-add, fixed summation
 * order), so it is deterministic and equals the JS fallback `polyphaseJs` bit for bit.
 *
 * Memory layout of one instance (one per filter bank): the coefficient table at byte 0, rows of
 * `stride` float64 (stride a multiple of 8, zero padded), then input scratch, then output scratch.
 *
 * Summation order (shared with polyphaseJs): tap m goes to partial sum s[m mod 8], and the result is
 * ((s0 + s2) + (s4 + s6)) + ((s1 + s3) + (s5 + s7)).
 */

import { F64, I32, name, section, sleb, uleb, V128, vec } from '../wasm/encoding.ts';

const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const i32c = (v: number) => [0x41, ...sleb(v)];
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  end: [0x0b],
  brIf: (d: number) => [0x0d, d],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  i32Eqz: [0x45],
  f64Add: [0xa0],
  f64Sub: [0xa1],
  f64Mul: [0xa2],
  f64ConvertI32U: [0xb8],
  i32TruncF64U: [0xab],
  f32DemoteF64: [0xb6],
  f32Store: (offset: number) => [0x38, 2, ...uleb(offset)],
  f64Const0: [0x44, 0, 0, 0, 0, 0, 0, 0, 0],
  // SIMD (0xfd prefix, LEB128 sub-opcode)
  v128Load: (offset: number) => [0xfd, 0x00, 3, ...uleb(offset)],
  v128Load64Zero: (offset: number) => [0xfd, 0x5d, 3, ...uleb(offset)],
  f64x2PromoteLow: [0xfd, 0x5f],
  f64x2Splat: [0xfd, 0x14],
  f64x2ExtractLane: (l: number) => [0xfd, 0x21, l],
  f64x2Add: [0xfd, 0xf0, 0x01],
  f64x2Sub: [0xfd, 0xf1, 0x01],
  f64x2Mul: [0xfd, 0xf2, 0x01],
} as const;

/**
 * Code of one kernel. Params: 0 count, 1 inPtr, 2 phase, 3 up, 4 stepIntBytes, 5 stepPhase,
 * 6 rowBytes, 7 outPtr, and for the interpolating kernel 8 phaseScale (f64).
 * Exact: output k = Σ_m table[phase][m]·in[m]; interpolating: the row is
 * a + frac·(b − a) between rows floor(g) and floor(g) + 1, g = phase·phaseScale, frac = g − floor(g).
 */
function kernel(interp: boolean): number[] {
  const [count, inPtr, phase, up, stepIntBytes, stepPhase, rowBytes, outPtr, phaseScale] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8,
  ];
  const base = interp ? 9 : 8;
  // i32 locals: p, q, qEnd, qb; f64: g; v128: acc0..3, frac
  const p = base;
  const q = base + 1;
  const qEnd = base + 2;
  const qb = base + 3;
  const g = base + 4;
  const acc = [base + 5, base + 6, base + 7, base + 8];
  const frac = base + 9;
  const b: number[] = [];
  const emit = (...parts: ReadonlyArray<number>[]) => {
    for (const x of parts) b.push(...x);
  };
  emit(op.block, get(count), op.i32Eqz, op.brIf(0), op.loop);
  if (interp) {
    // g = phase·phaseScale; row = floor(g); frac = g − row
    emit(get(phase), op.f64ConvertI32U, get(phaseScale), op.f64Mul, set(g));
    emit(get(g), op.i32TruncF64U, set(qb)); // qb temporarily holds the row index
    emit(get(g), get(qb), op.f64ConvertI32U, op.f64Sub, op.f64x2Splat, set(frac));
    emit(get(qb), get(rowBytes), op.i32Mul, set(q));
    emit(get(q), get(rowBytes), op.i32Add, set(qb));
  } else {
    emit(get(phase), get(rowBytes), op.i32Mul, set(q));
  }
  emit(get(q), get(rowBytes), op.i32Add, set(qEnd), get(inPtr), set(p));
  for (const a of acc) emit(op.f64Const0, op.f64x2Splat, set(a));
  emit(op.loop);
  for (let j = 0; j < 4; j++) {
    // acc_j += promote(in[p + 2j .. +1]) · coef[q + 2j .. +1]
    emit(get(acc[j]!), get(p), op.v128Load64Zero(8 * j), op.f64x2PromoteLow);
    if (interp) {
      emit(get(q), op.v128Load(16 * j), get(frac), get(qb), op.v128Load(16 * j));
      emit(get(q), op.v128Load(16 * j), op.f64x2Sub, op.f64x2Mul, op.f64x2Add);
    } else {
      emit(get(q), op.v128Load(16 * j));
    }
    emit(op.f64x2Mul, op.f64x2Add, set(acc[j]!));
  }
  emit(get(p), i32c(32), op.i32Add, set(p));
  if (interp) emit(get(qb), i32c(64), op.i32Add, set(qb));
  emit(get(q), i32c(64), op.i32Add, [0x22, q], get(qEnd), op.i32LtU, op.brIf(0), op.end);
  // out = lane0 + lane1 of (acc0 + acc1) + (acc2 + acc3)
  emit(get(acc[0]!), get(acc[1]!), op.f64x2Add, get(acc[2]!), get(acc[3]!), op.f64x2Add, op.f64x2Add);
  emit(set(acc[0]!), get(outPtr), get(acc[0]!), op.f64x2ExtractLane(0), get(acc[0]!));
  emit(op.f64x2ExtractLane(1), op.f64Add, op.f32DemoteF64, op.f32Store(0));
  emit(get(outPtr), i32c(4), op.i32Add, set(outPtr));
  // advance: inPtr += stepInt; phase += stepPhase; wrap once
  emit(get(inPtr), get(stepIntBytes), op.i32Add, set(inPtr));
  emit(get(phase), get(stepPhase), op.i32Add, set(phase));
  emit(get(phase), get(up), op.i32GeU, op.if);
  emit(get(phase), get(up), op.i32Sub, set(phase), get(inPtr), i32c(4), op.i32Add, set(inPtr), op.end);
  emit(get(count), i32c(1), op.i32Sub, [0x22, count], op.brIf(0), op.end, op.end, op.end);
  const locals = vec([
    [4, I32],
    [1, F64],
    [5, V128],
  ]);
  const body = [...locals, ...b];
  return [...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const params8 = Array.from({ length: 8 }, () => [I32]);
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(
      1,
      vec([
        [0x60, ...vec(params8), 0x00],
        [0x60, ...vec([...params8, [F64]]), 0x00],
      ]),
    ),
    ...section(3, vec([[0], [1]])),
    ...section(5, vec([[0x00, 1]])), // memory: min 1 page, growable
    ...section(
      7,
      vec([
        [...name('exact'), 0x00, 0],
        [...name('interp'), 0x00, 1],
        [...name('mem'), 0x02, 0],
      ]),
    ),
    ...section(10, vec([kernel(false), kernel(true)])),
  ]);
}

type ExactFn = (
  count: number,
  inPtr: number,
  phase: number,
  up: number,
  stepIntBytes: number,
  stepPhase: number,
  rowBytes: number,
  outPtr: number,
) => void;
type InterpFn = (...args: [...Parameters<ExactFn>, phaseScale: number]) => void;

let compiled: WebAssembly.Module | null | undefined;

function wasmModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(moduleBytes());
    } catch {
      compiled = null; // no WebAssembly SIMD here: callers use polyphaseJs
    }
  }
  return compiled;
}

/** Positions and sizes of one batch of outputs (see PolyphaseKernel.run). */
export interface PolyphaseJob {
  /** Input window: the first `inLength` samples from `input[inStart]` (taps of output 0 start there). */
  input: Float32Array;
  inStart: number;
  inLength: number;
  count: number;
  phase: number;
  up: number;
  stepInt: number;
  stepPhase: number;
  /** Interpolated banks: phases / up; 0 for exact banks. */
  phaseScale: number;
  out: Float32Array;
  outStart: number;
}

/** A filter table loaded into its own WebAssembly instance. */
export class PolyphaseKernel {
  private readonly memory: WebAssembly.Memory;
  private readonly exact: ExactFn;
  private readonly interp: InterpFn;
  private readonly tableBytes: number;
  private readonly rowBytes: number;

  private constructor(mod: WebAssembly.Module, table: Float64Array, stride: number) {
    const inst = new WebAssembly.Instance(mod, {});
    this.memory = inst.exports['mem'] as WebAssembly.Memory;
    this.exact = inst.exports['exact'] as ExactFn;
    this.interp = inst.exports['interp'] as InterpFn;
    this.tableBytes = table.byteLength;
    this.rowBytes = stride * 8;
    this.ensure(this.tableBytes);
    new Float64Array(this.memory.buffer, 0, table.length).set(table);
  }

  /** A kernel for `table` (rows of `stride` float64), or null where WebAssembly SIMD is missing. */
  static create(table: Float64Array, stride: number): PolyphaseKernel | null {
    const mod = wasmModule();
    if (mod === null) return null;
    try {
      return new PolyphaseKernel(mod, table, stride);
    } catch {
      return null;
    }
  }

  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / 65536));
  }

  /** Computes job.count outputs into job.out[job.outStart ...]. */
  run(job: PolyphaseJob): void {
    // Input window padded with zeros to the 8-tap stride (zero coefficients meet finite zeros).
    const inPtr = this.tableBytes;
    const inBytes = (job.inLength + 8) * 4;
    const outPtr = inPtr + ((inBytes + 15) & ~15);
    this.ensure(outPtr + job.count * 4);
    const buf = this.memory.buffer;
    const win = new Float32Array(buf, inPtr, job.inLength + 8);
    const avail = Math.min(job.inLength, job.input.length - job.inStart);
    win.set(job.input.subarray(job.inStart, job.inStart + avail));
    win.fill(0, avail);
    const args = [
      job.count,
      inPtr,
      job.phase,
      job.up,
      job.stepInt * 4,
      job.stepPhase,
      this.rowBytes,
      outPtr,
    ] as const;
    if (job.phaseScale === 0) this.exact(...args);
    else this.interp(...args, job.phaseScale);
    job.out.set(new Float32Array(buf, outPtr, job.count), job.outStart);
  }
}

/**
 * The same computation in plain JavaScript, in the same summation order (bit-identical results);
 * used where WebAssembly SIMD is unavailable and as the reference in tests.
 */
export function polyphaseJs(job: PolyphaseJob, table: Float64Array, stride: number): void {
  const { input, up, stepInt, stepPhase, phaseScale, out } = job;
  let base = job.inStart;
  let phase = job.phase;
  const inEnd = job.inStart + job.inLength;
  for (let k = 0; k < job.count; k++) {
    let rowA: number;
    let rowB = 0;
    let frac = 0;
    if (phaseScale === 0) rowA = phase * stride;
    else {
      const g = phase * phaseScale;
      const p0 = Math.floor(g);
      frac = g - p0;
      rowA = p0 * stride;
      rowB = rowA + stride;
    }
    const s = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let m = 0; m < stride; m++) {
      const i = base + m;
      const x = i < inEnd && i < input.length ? input[i]! : 0;
      let c = table[rowA + m]!;
      if (phaseScale !== 0) c = c + frac * (table[rowB + m]! - c);
      s[m & 7] += x * c;
    }
    out[job.outStart + k] = s[0]! + s[2]! + (s[4]! + s[6]!) + (s[1]! + s[3]! + (s[5]! + s[7]!));
    base += stepInt;
    phase += stepPhase;
    if (phase >= up) {
      phase -= up;
      base++;
    }
  }
}
