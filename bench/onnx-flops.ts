/**
 * FLOPs of one ONNX model call, counted from the graph with concrete input shapes.
 *
 * - A minimal protobuf reader for ModelProto (opset imports, graph nodes and attributes,
 *   initializers' dims and — for small integer/float tensors — their values, inputs' shapes).
 *   External data is not read; initializers stored that way still give their dims.
 * - Shape propagation for the ops torch exports at opset 17 (including the Shape → Gather →
 *   Concat → Reshape chains of dynamic axes, which need small integer values carried along).
 * - Counting: Conv, ConvTranspose, MatMul, Gemm and Einsum count 2 FLOPs per multiply-add
 *   (`matmulFlops`, the figure compared with a matrix-multiply ceiling); bias adds of Conv/Gemm
 *   and every other op that computes float values count 1 FLOP per output element (per input
 *   element for reductions) in `otherFlops`, which is reported apart and not used for efficiency.
 *   Shape-only ops (Shape, Reshape, Transpose, Concat, Slice, Pad, Gather, Cast, …) count 0.
 *
 * Also here: `buildModel`, a minimal writer for small test graphs, and `matmulModel(n)`, the bytes
 * of a one-node MatMul graph for measuring the matrix-multiply ceiling.
 */

// ---------------------------------------------------------------- protobuf reading

class Reader {
  readonly buf: Uint8Array;
  readonly end: number;
  pos: number;
  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  more(): boolean {
    return this.pos < this.end;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new RangeError('protobuf: truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
    }
  }
  /** A varint as a signed 64-bit value, as a JS number. */
  int(): number {
    return Number(BigInt.asIntN(64, this.varint()));
  }
  /** Field number and wire type of the next key. */
  key(): [number, number] {
    const k = Number(this.varint());
    return [k >>> 3, k & 7];
  }
  bytes(): Uint8Array {
    const n = Number(this.varint());
    if (this.pos + n > this.end) throw new RangeError('protobuf: length past the end');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  sub(): Reader {
    const n = Number(this.varint());
    if (this.pos + n > this.end) throw new RangeError('protobuf: length past the end');
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
  f32(): number {
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) {
      const n = Number(this.varint()); // read first: `pos += varint()` would use the old pos
      this.pos += n;
    } else if (wire === 5) this.pos += 4;
    else throw new RangeError(`protobuf: unsupported wire type ${wire}`);
  }
  /** Repeated varints, packed (wire 2) or not (wire 0). */
  ints(wire: number, into: number[]): void {
    if (wire === 0) into.push(this.int());
    else {
      const r = this.sub();
      while (r.more()) into.push(r.int());
    }
  }
  floats(wire: number, into: number[]): void {
    if (wire === 5) into.push(this.f32());
    else {
      const r = this.sub();
      while (r.more()) into.push(r.f32());
    }
  }
}

const utf8 = new TextDecoder();

/** ONNX TensorProto.DataType values this file reads. */
const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** Decoded values for tensors of at most `MAX_VALUES` elements (shapes, axes, scales, scalars). */
  values?: number[];
}

export interface OnnxAttribute {
  name: string;
  f?: number;
  i?: number;
  s?: string;
  t?: OnnxTensor;
  floats: number[];
  ints: number[];
}

export interface OnnxNode {
  op: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, OnnxAttribute>;
}

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  /** Concrete sizes, symbolic names (dynamic axes) or undefined where unset. */
  dims: Array<number | string | undefined>;
}

export interface OnnxModel {
  irVersion: number;
  opset: number;
  producer: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  /** Graph inputs that are not initializers. */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

const MAX_VALUES = 4096;

function readTensor(r: Reader): OnnxTensor {
  const t: OnnxTensor = { name: '', dims: [], dataType: 0 };
  let raw: Uint8Array | undefined;
  const floatData: number[] = [];
  const intData: number[] = [];
  while (r.more()) {
    const [f, w] = r.key();
    if (f === 1) r.ints(w, t.dims);
    else if (f === 2) t.dataType = r.int();
    else if (f === 4) r.floats(w, floatData);
    else if (f === 5 || f === 7) r.ints(w, intData);
    else if (f === 8) t.name = utf8.decode(r.bytes());
    else if (f === 9) raw = r.bytes();
    else r.skip(w);
  }
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count <= MAX_VALUES) {
    if (raw !== undefined && raw.length > 0) {
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const v: number[] = [];
      for (let i = 0; i < count; i++) {
        if (t.dataType === DT.FLOAT) v.push(dv.getFloat32(4 * i, true));
        else if (t.dataType === DT.DOUBLE) v.push(dv.getFloat64(8 * i, true));
        else if (t.dataType === DT.INT64) v.push(Number(dv.getBigInt64(8 * i, true)));
        else if (t.dataType === DT.INT32) v.push(dv.getInt32(4 * i, true));
        else if (t.dataType === DT.INT8) v.push(dv.getInt8(i));
        else if (t.dataType === DT.UINT8 || t.dataType === DT.BOOL) v.push(dv.getUint8(i));
        else break;
      }
      if (v.length === count) t.values = v;
    } else if (floatData.length === count) t.values = floatData;
    else if (intData.length === count) t.values = intData;
  }
  return t;
}

function readAttribute(r: Reader): OnnxAttribute {
  const a: OnnxAttribute = { name: '', floats: [], ints: [] };
  while (r.more()) {
    const [f, w] = r.key();
    if (f === 1) a.name = utf8.decode(r.bytes());
    else if (f === 2) a.f = r.f32();
    else if (f === 3) a.i = r.int();
    else if (f === 4) a.s = utf8.decode(r.bytes());
    else if (f === 5) a.t = readTensor(r.sub());
    else if (f === 7) r.floats(w, a.floats);
    else if (f === 8) r.ints(w, a.ints);
    else r.skip(w);
  }
  return a;
}

function readNode(r: Reader): OnnxNode {
  const n: OnnxNode = { op: '', domain: '', name: '', inputs: [], outputs: [], attrs: new Map() };
  while (r.more()) {
    const [f, w] = r.key();
    if (f === 1) n.inputs.push(utf8.decode(r.bytes()));
    else if (f === 2) n.outputs.push(utf8.decode(r.bytes()));
    else if (f === 3) n.name = utf8.decode(r.bytes());
    else if (f === 4) n.op = utf8.decode(r.bytes());
    else if (f === 5) {
      const a = readAttribute(r.sub());
      n.attrs.set(a.name, a);
    } else if (f === 7) n.domain = utf8.decode(r.bytes());
    else r.skip(w);
  }
  return n;
}

function readValueInfo(r: Reader): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '', elemType: 0, dims: [] };
  while (r.more()) {
    const [f, w] = r.key();
    if (f === 1) v.name = utf8.decode(r.bytes());
    else if (f === 2) {
      // TypeProto.tensor_type (1) → elem_type (1), shape (2) → dim (1) → dim_value (1) | dim_param (2)
      const tp = r.sub();
      while (tp.more()) {
        const [tf, tw] = tp.key();
        if (tf !== 1) {
          tp.skip(tw);
          continue;
        }
        const tt = tp.sub();
        while (tt.more()) {
          const [ttf, ttw] = tt.key();
          if (ttf === 1) v.elemType = tt.int();
          else if (ttf === 2) {
            const sh = tt.sub();
            while (sh.more()) {
              const [sf, sw] = sh.key();
              if (sf !== 1) {
                sh.skip(sw);
                continue;
              }
              const d = sh.sub();
              let dim: number | string | undefined;
              while (d.more()) {
                const [df, dw] = d.key();
                if (df === 1) dim = d.int();
                else if (df === 2) dim = utf8.decode(d.bytes());
                else d.skip(dw);
              }
              v.dims.push(dim);
            }
          } else tt.skip(ttw);
        }
      }
    } else r.skip(w);
  }
  return v;
}

/** Parses ONNX ModelProto bytes (the subset needed to count FLOPs). */
export function parseOnnx(bytes: Uint8Array): OnnxModel {
  const m: OnnxModel = {
    irVersion: 0,
    opset: 0,
    producer: '',
    nodes: [],
    initializers: new Map(),
    inputs: [],
    outputs: [],
  };
  const r = new Reader(bytes);
  let graph: Reader | undefined;
  while (r.more()) {
    const [f, w] = r.key();
    if (f === 1) m.irVersion = r.int();
    else if (f === 2) m.producer = utf8.decode(r.bytes());
    else if (f === 7) graph = r.sub();
    else if (f === 8) {
      const o = r.sub();
      let domain = '';
      let version = 0;
      while (o.more()) {
        const [of, ow] = o.key();
        if (of === 1) domain = utf8.decode(o.bytes());
        else if (of === 2) version = o.int();
        else o.skip(ow);
      }
      if (domain === '' || domain === 'ai.onnx') m.opset = version;
    } else r.skip(w);
  }
  if (graph === undefined) throw new Error('ONNX model has no graph');
  const inputs: OnnxValueInfo[] = [];
  while (graph.more()) {
    const [f, w] = graph.key();
    if (f === 1) m.nodes.push(readNode(graph.sub()));
    else if (f === 5) {
      const t = readTensor(graph.sub());
      m.initializers.set(t.name, t);
    } else if (f === 11) inputs.push(readValueInfo(graph.sub()));
    else if (f === 12) m.outputs.push(readValueInfo(graph.sub()));
    else graph.skip(w);
  }
  m.inputs = inputs.filter((i) => !m.initializers.has(i.name));
  return m;
}

// ---------------------------------------------------------------- shape propagation and counting

interface Value {
  shape: number[];
  /** Known contents (small integer tensors on shape paths, constants), row-major. */
  values?: number[];
}

export interface FlopCount {
  /** 2 × multiply-adds of Conv, ConvTranspose, MatMul, Gemm and Einsum. */
  matmulFlops: number;
  /** 1 per output element of other float-computing ops and of Conv/Gemm bias adds. */
  otherFlops: number;
  /** Per op type: nodes and FLOPs (matmul-class or other, whichever the op counts). */
  byOp: Map<string, { nodes: number; flops: number }>;
  /** Shapes of the graph outputs. */
  outputs: Record<string, number[]>;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function broadcast(...shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v !== 1) {
        if (d !== 1 && d !== v)
          throw new RangeError(`cannot broadcast ${shapes.map((x) => `[${x}]`).join(' ')}`);
        d = v;
      }
    }
    out.push(d);
  }
  return out;
}

/** Elementwise evaluation with numpy broadcasting, for known small values. */
function evalBroadcast(inputs: Value[], f: (...x: number[]) => number): Value {
  const shape = broadcast(...inputs.map((v) => v.shape));
  if (inputs.some((v) => v.values === undefined) || size(shape) > MAX_VALUES) return { shape };
  const n = size(shape);
  const out = new Array<number>(n);
  const strides = inputs.map((v) => {
    const st = new Array<number>(shape.length).fill(0);
    let acc = 1;
    for (let i = v.shape.length - 1; i >= 0; i--) {
      const axis = shape.length - v.shape.length + i;
      st[axis] = v.shape[i] === 1 ? 0 : acc;
      acc *= v.shape[i]!;
    }
    return st;
  });
  for (let k = 0; k < n; k++) {
    let rem = k;
    const idx = new Array<number>(inputs.length).fill(0);
    for (let a = shape.length - 1; a >= 0; a--) {
      const c = rem % shape[a]!;
      rem = Math.floor(rem / shape[a]!);
      for (let j = 0; j < inputs.length; j++) idx[j] += c * strides[j]![a]!;
    }
    out[k] = f(...idx.map((i, j) => inputs[j]!.values![i]!));
  }
  return { shape, values: out };
}

const ELEMENTWISE: Record<string, (...x: number[]) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => (Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b),
  Pow: (a, b) => a ** b,
  Max: (...x) => Math.max(...x),
  Min: (...x) => Math.min(...x),
  Mod: (a, b) => a % b,
  Equal: (a, b) => Number(a === b),
  Less: (a, b) => Number(a < b),
  LessOrEqual: (a, b) => Number(a <= b),
  Greater: (a, b) => Number(a > b),
  GreaterOrEqual: (a, b) => Number(a >= b),
  And: (a, b) => Number(Boolean(a) && Boolean(b)),
  Or: (a, b) => Number(Boolean(a) || Boolean(b)),
  Where: (c, a, b) => (c ? a : b),
  PRelu: (a, s) => (a < 0 ? a * s : a),
};

/** Same-shape unary ops; null = values not evaluated (they never feed a shape in torch exports). */
const UNARY: Record<string, ((x: number) => number) | null> = {
  Relu: (x) => Math.max(0, x),
  Sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  Tanh: Math.tanh,
  Exp: Math.exp,
  Log: Math.log,
  Sqrt: Math.sqrt,
  Neg: (x) => -x,
  Abs: Math.abs,
  Reciprocal: (x) => 1 / x,
  Floor: Math.floor,
  Ceil: Math.ceil,
  Round: Math.round,
  Sin: Math.sin,
  Cos: Math.cos,
  Softplus: (x) => Math.log1p(Math.exp(x)),
  Not: (x) => Number(!x),
  Sign: Math.sign,
  Identity: (x) => x,
  Cast: (x) => x,
  Dropout: (x) => x,
  IsNaN: (x) => Number(Number.isNaN(x)),
  Erf: null,
  HardSigmoid: null,
  LeakyRelu: null,
  Elu: null,
  Selu: null,
  Gelu: null,
  Mish: null,
  HardSwish: null,
  Celu: null,
};

/** Unary ops that move no arithmetic (0 FLOPs). */
const FREE_UNARY = new Set(['Identity', 'Cast', 'Dropout', 'Not', 'IsNaN']);

const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

/**
 * Propagates `inputShapes` through `model` and counts FLOPs. `inputValues` may give the contents
 * of integer inputs that shapes depend on (none of the shipped models need it).
 */
export function countFlops(
  model: OnnxModel,
  inputShapes: Record<string, number[]>,
  inputValues: Record<string, number[]> = {},
): FlopCount {
  const env = new Map<string, Value>();
  for (const [name, t] of model.initializers)
    env.set(name, t.values !== undefined ? { shape: t.dims, values: t.values } : { shape: t.dims });
  for (const inp of model.inputs) {
    const s = inputShapes[inp.name];
    if (s === undefined) {
      if (inp.dims.every((d) => typeof d === 'number')) env.set(inp.name, { shape: inp.dims as number[] });
      else throw new RangeError(`countFlops: give a shape for input "${inp.name}" [${inp.dims.join(', ')}]`);
    } else {
      if (s.length !== inp.dims.length)
        throw new RangeError(`countFlops: input "${inp.name}" has rank ${inp.dims.length}, got [${s}]`);
      s.forEach((d, i) => {
        const decl = inp.dims[i];
        if (typeof decl === 'number' && decl !== d)
          throw new RangeError(`countFlops: input "${inp.name}" axis ${i} is fixed at ${decl}, got ${d}`);
      });
      const vals = inputValues[inp.name];
      env.set(inp.name, vals !== undefined ? { shape: s, values: vals } : { shape: s });
    }
  }
  const res: FlopCount = { matmulFlops: 0, otherFlops: 0, byOp: new Map(), outputs: {} };
  for (const node of model.nodes) {
    const get = (i: number): Value | undefined => {
      const name = node.inputs[i];
      if (name === undefined || name === '') return undefined;
      const v = env.get(name);
      if (v === undefined) throw new Error(`countFlops: ${node.op} "${node.name}" reads unknown "${name}"`);
      return v;
    };
    const { outputs, flops, matmul } = inferNode(node, get);
    outputs.forEach((v, i) => {
      const name = node.outputs[i];
      if (name !== undefined && name !== '') env.set(name, v);
    });
    if (matmul) res.matmulFlops += flops.matmul;
    res.otherFlops += flops.other;
    const key = node.op;
    const e = res.byOp.get(key) ?? { nodes: 0, flops: 0 };
    e.nodes++;
    e.flops += flops.matmul + flops.other;
    res.byOp.set(key, e);
  }
  for (const o of model.outputs) {
    const v = env.get(o.name);
    if (v !== undefined) res.outputs[o.name] = v.shape;
  }
  return res;
}

interface Inferred {
  outputs: Value[];
  flops: { matmul: number; other: number };
  matmul: boolean;
}

function attrInt(node: OnnxNode, name: string, dflt: number): number {
  return node.attrs.get(name)?.i ?? dflt;
}
function attrInts(node: OnnxNode, name: string): number[] | undefined {
  const a = node.attrs.get(name);
  return a === undefined ? undefined : a.ints;
}

function convOut(
  node: OnnxNode,
  inSp: number[],
  kSp: number[],
  transposed: boolean,
): { out: number[]; pads: number[] } {
  const n = inSp.length;
  const strides = attrInts(node, 'strides') ?? new Array(n).fill(1);
  const dil = attrInts(node, 'dilations') ?? new Array(n).fill(1);
  let pads = attrInts(node, 'pads') ?? new Array(2 * n).fill(0);
  const autoPad = node.attrs.get('auto_pad')?.s ?? 'NOTSET';
  const out: number[] = [];
  if (!transposed) {
    for (let i = 0; i < n; i++) {
      const ek = dil[i]! * (kSp[i]! - 1) + 1;
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(Math.ceil(inSp[i]! / strides[i]!));
      else if (autoPad === 'VALID') out.push(Math.floor((inSp[i]! - ek) / strides[i]!) + 1);
      else out.push(Math.floor((inSp[i]! + pads[i]! + pads[i + n]! - ek) / strides[i]!) + 1);
    }
  } else {
    const outPad = attrInts(node, 'output_padding') ?? new Array(n).fill(0);
    const outShape = attrInts(node, 'output_shape');
    for (let i = 0; i < n; i++) {
      if (outShape !== undefined && outShape.length > 0) out.push(outShape[outShape.length - n + i]!);
      else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(inSp[i]! * strides[i]!);
      else {
        if (autoPad === 'VALID') pads = new Array(2 * n).fill(0);
        const ek = dil[i]! * (kSp[i]! - 1) + 1;
        out.push(strides[i]! * (inSp[i]! - 1) + outPad[i]! + ek - pads[i]! - pads[i + n]!);
      }
    }
  }
  return { out, pads };
}

/** Shape of numpy-style matmul of a [..., M, K] by b [..., K, N] (1-D operands promoted). */
function matmulShape(a: number[], b: number[]): { shape: number[]; macs: number } {
  const A = a.length === 1 ? [1, a[0]!] : a;
  const B = b.length === 1 ? [b[0]!, 1] : b;
  const M = A[A.length - 2]!;
  const K = A[A.length - 1]!;
  const K2 = B[B.length - 2]!;
  const N = B[B.length - 1]!;
  if (K !== K2) throw new RangeError(`MatMul: inner sizes differ ([${a}] × [${b}])`);
  const batch = broadcast(A.slice(0, -2), B.slice(0, -2));
  const shape = [...batch, ...(a.length === 1 ? [] : [M]), ...(b.length === 1 ? [] : [N])];
  return { shape, macs: size(batch) * M * K * N };
}

function reduceShape(
  shape: number[],
  axes: number[] | undefined,
  keep: boolean,
  noopEmpty: boolean,
): number[] {
  const r = shape.length;
  if (axes === undefined || axes.length === 0) {
    if (noopEmpty && axes !== undefined) return shape;
    return keep ? shape.map(() => 1) : [];
  }
  const set = new Set(axes.map((a) => normAxis(a, r)));
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return out;
}

function sliceDims(
  shape: number[],
  starts: number[],
  ends: number[],
  axes: number[],
  steps: number[],
): { shape: number[]; ranges: Array<[number, number, number]> } {
  const out = [...shape];
  const ranges: Array<[number, number, number]> = shape.map((d) => [0, d, 1]);
  for (let j = 0; j < starts.length; j++) {
    const ax = normAxis(axes[j]!, shape.length);
    const d = shape[ax]!;
    const step = steps[j] ?? 1;
    const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
    let s = starts[j]!;
    let e = ends[j]!;
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (step > 0) {
      s = clamp(s, 0, d);
      e = clamp(e, 0, d);
      out[ax] = Math.max(0, Math.ceil((e - s) / step));
    } else {
      s = clamp(s, 0, d - 1);
      e = clamp(e, -1, d - 1);
      out[ax] = Math.max(0, Math.ceil((s - e) / -step));
    }
    ranges[ax] = [s, e, step];
  }
  return { shape: out, ranges };
}

function flatIndex(shape: readonly number[], idx: readonly number[]): number {
  let k = 0;
  for (let a = 0; a < shape.length; a++) k = k * shape[a]! + idx[a]!;
  return k;
}

/** Values of a tensor of `shape` whose element at each multi-index is `at(index)`. */
function gatherIndices(shape: readonly number[], at: (idx: number[]) => number): number[] | undefined {
  const n = size(shape);
  if (n > MAX_VALUES) return undefined;
  const out = new Array<number>(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    out[k] = at(idx);
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}

function inferNode(node: OnnxNode, get: (i: number) => Value | undefined): Inferred {
  const op = node.op;
  const zero = { matmul: 0, other: 0 };
  const x = get(0);
  const one = (v: Value, other = 0): Inferred => ({
    outputs: [v],
    flops: { matmul: 0, other },
    matmul: false,
  });
  const need = (v: Value | undefined, what: string): Value => {
    if (v === undefined) throw new Error(`countFlops: ${op} "${node.name}" lacks ${what}`);
    return v;
  };
  const known = (v: Value | undefined, what: string): number[] => {
    const vals = need(v, what).values;
    if (vals === undefined)
      throw new Error(`countFlops: ${op} "${node.name}" needs the value of ${what}, which is not constant`);
    return vals;
  };
  if (node.domain !== '' && node.domain !== 'ai.onnx')
    throw new Error(`countFlops: custom-domain op ${node.domain}.${op} is not supported`);

  if (op in ELEMENTWISE) {
    const ins = node.inputs.map((_, i) => need(get(i), `input ${i}`));
    const v = evalBroadcast(ins, ELEMENTWISE[op]!);
    const counts = ![
      'Equal',
      'Less',
      'LessOrEqual',
      'Greater',
      'GreaterOrEqual',
      'And',
      'Or',
      'Where',
    ].includes(op);
    return one(v, counts && v.values === undefined ? size(v.shape) : 0);
  }
  if (op in UNARY) {
    const v = need(x, 'input');
    const f = UNARY[op];
    // Constant-folded values cost nothing at run time (onnxruntime folds them too).
    if (v.values !== undefined && f) return one({ shape: v.shape, values: v.values.map(f) });
    return one({ shape: v.shape }, FREE_UNARY.has(op) || v.values !== undefined ? 0 : size(v.shape));
  }
  switch (op) {
    case 'Constant': {
      const a = [...node.attrs.values()][0];
      if (a === undefined) throw new Error('countFlops: Constant without a value');
      if (a.t !== undefined) return one({ shape: a.t.dims, values: a.t.values });
      if (a.name === 'value_float' && a.f !== undefined) return one({ shape: [], values: [a.f] });
      if (a.name === 'value_int' && a.i !== undefined) return one({ shape: [], values: [a.i] });
      if (a.name === 'value_floats') return one({ shape: [a.floats.length], values: a.floats });
      if (a.name === 'value_ints') return one({ shape: [a.ints.length], values: a.ints });
      throw new Error(`countFlops: Constant with attribute ${a.name} is not supported`);
    }
    case 'Shape': {
      const s = need(x, 'input').shape;
      const r = s.length;
      const start = normAxis(attrInt(node, 'start', 0), r);
      const endAttr = node.attrs.get('end')?.i;
      const end = endAttr === undefined ? r : normAxis(endAttr, r);
      const v = s.slice(Math.max(0, start), Math.min(r, end));
      return one({ shape: [v.length], values: v });
    }
    case 'Size':
      return one({ shape: [], values: [size(need(x, 'input').shape)] });
    case 'Gather': {
      const data = need(x, 'data');
      const idx = need(get(1), 'indices');
      const axis = normAxis(attrInt(node, 'axis', 0), data.shape.length);
      const shape = [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)];
      if (data.values !== undefined && idx.values !== undefined && data.shape.length === 1) {
        const d = data.shape[0]!;
        return one({ shape, values: idx.values.map((i) => data.values![i < 0 ? i + d : i]!) });
      }
      return one({ shape });
    }
    case 'Unsqueeze': {
      const v = need(x, 'input');
      const axes = get(1) !== undefined ? known(get(1), 'axes') : (attrInts(node, 'axes') ?? []);
      const r = v.shape.length + axes.length;
      const set = new Set(axes.map((a) => normAxis(a, r)));
      const shape: number[] = [];
      let k = 0;
      for (let i = 0; i < r; i++) shape.push(set.has(i) ? 1 : v.shape[k++]!);
      return one({ shape, values: v.values });
    }
    case 'Squeeze': {
      const v = need(x, 'input');
      const axes = get(1) !== undefined ? known(get(1), 'axes') : attrInts(node, 'axes');
      const set = new Set((axes ?? []).map((a) => normAxis(a, v.shape.length)));
      const shape = v.shape.filter((d, i) =>
        axes === undefined || axes.length === 0 ? d !== 1 : !set.has(i),
      );
      return one({ shape, values: v.values });
    }
    case 'Concat': {
      const ins = node.inputs.map((_, i) => need(get(i), `input ${i}`)).filter((v) => v.shape.length > 0);
      const r = ins[0]!.shape.length;
      const axis = normAxis(attrInt(node, 'axis', 0), r);
      const shape = [...ins[0]!.shape];
      shape[axis] = ins.reduce((a, v) => a + v.shape[axis]!, 0);
      const values =
        r === 1 && ins.every((v) => v.values !== undefined) ? ins.flatMap((v) => v.values!) : undefined;
      return one({ shape, values });
    }
    case 'Reshape': {
      const v = need(x, 'data');
      const target = known(get(1), 'shape');
      const allowZero = attrInt(node, 'allowzero', 0) === 1;
      const shape = target.map((d, i) => (d === 0 && !allowZero ? v.shape[i]! : d));
      const neg = shape.indexOf(-1);
      if (neg >= 0) shape[neg] = size(v.shape) / size(shape.filter((_, i) => i !== neg));
      if (size(shape) !== size(v.shape))
        throw new RangeError(`countFlops: Reshape "${node.name}" [${v.shape}] → [${shape}]`);
      return one({ shape, values: v.values });
    }
    case 'Flatten': {
      const v = need(x, 'input');
      const axis = normAxis(attrInt(node, 'axis', 1), v.shape.length);
      return one({ shape: [size(v.shape.slice(0, axis)), size(v.shape.slice(axis))], values: v.values });
    }
    case 'Expand': {
      const v = need(x, 'input');
      const shape = broadcast(v.shape, known(get(1), 'shape'));
      const vals =
        v.values !== undefined && size(shape) <= MAX_VALUES
          ? evalBroadcast([v, { shape, values: new Array(size(shape)).fill(0) }], (a) => a).values
          : undefined;
      return one({ shape, values: vals });
    }
    case 'ConstantOfShape': {
      const shape = known(x, 'shape');
      const fill = node.attrs.get('value')?.t?.values?.[0] ?? 0;
      return one({
        shape,
        values: size(shape) <= MAX_VALUES ? new Array(size(shape)).fill(fill) : undefined,
      });
    }
    case 'Range': {
      const [s] = known(x, 'start');
      const [l] = known(get(1), 'limit');
      const [d] = known(get(2), 'delta');
      const n = Math.max(0, Math.ceil((l! - s!) / d!));
      return one({
        shape: [n],
        values: n <= MAX_VALUES ? Array.from({ length: n }, (_, i) => s! + i * d!) : undefined,
      });
    }
    case 'Transpose': {
      const v = need(x, 'input');
      const perm = attrInts(node, 'perm') ?? v.shape.map((_, i) => v.shape.length - 1 - i);
      const shape = perm.map((p) => v.shape[p]!);
      const values =
        v.values === undefined
          ? undefined
          : gatherIndices(shape, (idx) => {
              const src = new Array<number>(idx.length);
              perm.forEach((p, i) => {
                src[p] = idx[i]!;
              });
              return v.values![flatIndex(v.shape, src)]!;
            });
      return one({ shape, values });
    }
    case 'Slice': {
      const v = need(x, 'data');
      const starts = known(get(1), 'starts');
      const ends = known(get(2), 'ends');
      const axes = get(3) !== undefined ? known(get(3), 'axes') : starts.map((_, i) => i);
      const steps = get(4) !== undefined ? known(get(4), 'steps') : starts.map(() => 1);
      const { shape, ranges } = sliceDims(v.shape, starts, ends, axes, steps);
      const values =
        v.values === undefined
          ? undefined
          : gatherIndices(
              shape,
              (idx) =>
                v.values![
                  flatIndex(
                    v.shape,
                    idx.map((k, a) => ranges[a]![0] + k * ranges[a]![2]),
                  )
                ]!,
            );
      return one({ shape, values });
    }
    case 'Split': {
      const v = need(x, 'input');
      const axis = normAxis(attrInt(node, 'axis', 0), v.shape.length);
      const d = v.shape[axis]!;
      const n = node.outputs.length;
      const parts =
        get(1) !== undefined
          ? known(get(1), 'split')
          : (attrInts(node, 'split') ??
            Array.from({ length: n }, (_, i) =>
              i < n - 1 ? Math.ceil(d / n) : d - Math.ceil(d / n) * (n - 1),
            ));
      return {
        outputs: parts.map((p) => {
          const s = [...v.shape];
          s[axis] = p;
          return { shape: s };
        }),
        flops: zero,
        matmul: false,
      };
    }
    case 'Tile': {
      const v = need(x, 'input');
      const reps = known(get(1), 'repeats');
      return one({ shape: v.shape.map((d, i) => d * reps[i]!) });
    }
    case 'Pad': {
      const v = need(x, 'data');
      const r = v.shape.length;
      const pads = get(1) !== undefined ? known(get(1), 'pads') : (attrInts(node, 'pads') ?? []);
      const axes =
        get(3) !== undefined ? known(get(3), 'axes').map((a) => normAxis(a, r)) : v.shape.map((_, i) => i);
      const k = axes.length;
      const shape = [...v.shape];
      axes.forEach((a, j) => {
        shape[a] = shape[a]! + pads[j]! + pads[j + k]!;
      });
      return one({ shape });
    }
    case 'Resize':
    case 'Upsample': {
      const v = need(x, 'X');
      let shape: number[];
      const sizes = op === 'Resize' ? get(3) : undefined;
      const scalesV = op === 'Resize' ? get(2) : get(1);
      if (sizes !== undefined && size(sizes.shape) > 0) shape = known(sizes, 'sizes');
      else {
        const scales = known(scalesV, 'scales');
        shape = v.shape.map((d, i) => Math.floor(d * scales[i]!));
      }
      return one({ shape });
    }
    case 'DepthToSpace':
    case 'SpaceToDepth': {
      const v = need(x, 'input');
      const b = attrInt(node, 'blocksize', 1);
      const [n, c, h, w] = v.shape as [number, number, number, number];
      return one({
        shape: op === 'DepthToSpace' ? [n, c / (b * b), h * b, w * b] : [n, c * b * b, h / b, w / b],
      });
    }
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceProd':
    case 'ReduceL2':
    case 'ReduceSumSquare':
    case 'ReduceLogSumExp': {
      const v = need(x, 'data');
      const keep = attrInt(node, 'keepdims', 1) === 1;
      const noop = attrInt(node, 'noop_with_empty_axes', 0) === 1;
      const axes = get(1) !== undefined ? known(get(1), 'axes') : attrInts(node, 'axes');
      return one({ shape: reduceShape(v.shape, axes, keep, noop) }, size(v.shape));
    }
    case 'ArgMax':
    case 'ArgMin': {
      const v = need(x, 'data');
      const keep = attrInt(node, 'keepdims', 1) === 1;
      return one({ shape: reduceShape(v.shape, [attrInt(node, 'axis', 0)], keep, false) }, 0);
    }
    case 'Softmax':
    case 'LogSoftmax':
    case 'InstanceNormalization':
    case 'LayerNormalization':
    case 'GroupNormalization':
    case 'BatchNormalization':
    case 'CumSum':
    case 'Clip':
    case 'Trilu': {
      const v = need(x, 'input');
      const outputs: Value[] = [{ shape: v.shape }];
      return { outputs, flops: { matmul: 0, other: op === 'Trilu' ? 0 : size(v.shape) }, matmul: false };
    }
    case 'Conv': {
      const X = need(x, 'X').shape;
      const W = need(get(1), 'W').shape;
      const g = attrInt(node, 'group', 1);
      const { out } = convOut(node, X.slice(2), W.slice(2), false);
      const shape = [X[0]!, W[0]!, ...out];
      const macs = X[0]! * W[0]! * size(out) * (X[1]! / g) * size(W.slice(2));
      return {
        outputs: [{ shape }],
        flops: { matmul: 2 * macs, other: get(2) !== undefined ? size(shape) : 0 },
        matmul: true,
      };
    }
    case 'ConvTranspose': {
      const X = need(x, 'X').shape;
      const W = need(get(1), 'W').shape;
      const g = attrInt(node, 'group', 1);
      const { out } = convOut(node, X.slice(2), W.slice(2), true);
      const shape = [X[0]!, W[1]! * g, ...out];
      // Every input pixel scatters a (M/g × k…) patch for each of its C/g input channels.
      const macs = X[0]! * X[1]! * size(X.slice(2)) * W[1]! * size(W.slice(2));
      return {
        outputs: [{ shape }],
        flops: { matmul: 2 * macs, other: get(2) !== undefined ? size(shape) : 0 },
        matmul: true,
      };
    }
    case 'MatMul': {
      const { shape, macs } = matmulShape(need(x, 'A').shape, need(get(1), 'B').shape);
      return { outputs: [{ shape }], flops: { matmul: 2 * macs, other: 0 }, matmul: true };
    }
    case 'Gemm': {
      const A = need(x, 'A').shape;
      const B = need(get(1), 'B').shape;
      const [M, K] = attrInt(node, 'transA', 0) ? [A[1]!, A[0]!] : [A[0]!, A[1]!];
      const N = attrInt(node, 'transB', 0) ? B[0]! : B[1]!;
      return {
        outputs: [{ shape: [M, N] }],
        flops: { matmul: 2 * M * K * N, other: get(2) !== undefined ? M * N : 0 },
        matmul: true,
      };
    }
    case 'Einsum': {
      const eq = (node.attrs.get('equation')?.s ?? '').replace(/\s/g, '');
      const [lhs, rhs] = eq.split('->') as [string, string | undefined];
      const terms = lhs.split(',');
      if (eq.includes('.')) throw new Error('countFlops: Einsum with ellipsis is not supported');
      const dims = new Map<string, number>();
      terms.forEach((t, i) => {
        const s = need(get(i), `operand ${i}`).shape;
        [...t].forEach((c, j) => {
          dims.set(c, Math.max(dims.get(c) ?? 1, s[j]!));
        });
      });
      const outIdx =
        rhs ??
        [...dims.keys()]
          .filter((c) => terms.join('').split(c).length === 2)
          .sort()
          .join('');
      const shape = [...outIdx].map((c) => dims.get(c)!);
      const macs = size([...dims.values()]);
      return {
        outputs: [{ shape }],
        flops: { matmul: terms.length > 1 ? 2 * macs : 0, other: terms.length > 1 ? 0 : macs },
        matmul: true,
      };
    }
    default:
      throw new Error(`countFlops: op ${op} ("${node.name}") is not supported`);
  }
}

// ---------------------------------------------------------------- a minimal model writer

function varint(n: number): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const fld = (f: number, wire: number) => varint(f * 8 + wire);
const vint = (f: number, n: number) => [...fld(f, 0), ...varint(n)];
const lenField = (f: number, body: number[]) => [...fld(f, 2), ...varint(body.length), ...body];
const str = (f: number, s: string) => lenField(f, [...new TextEncoder().encode(s)]);

export interface ModelSpec {
  /** Graph inputs (float32 unless `int64`), with fixed sizes or symbolic names. */
  inputs: Array<{ name: string; dims: Array<number | string>; int64?: boolean }>;
  outputs: Array<{ name: string; dims: Array<number | string> }>;
  /** Attributes: an integer → INT, an array → INTS, a string → STRING. */
  nodes: Array<{
    op: string;
    inputs: string[];
    outputs: string[];
    attrs?: Record<string, number | number[] | string>;
  }>;
}

function valueInfoBytes(name: string, dims: Array<number | string>, elemType: number): number[] {
  const shape = dims.flatMap((d) => lenField(1, typeof d === 'number' ? vint(1, d) : str(2, d)));
  return [...str(1, name), ...lenField(2, lenField(1, [...vint(1, elemType), ...lenField(2, shape)]))];
}

function attributeBytes(name: string, v: number | number[] | string): number[] {
  if (typeof v === 'string') return [...str(1, name), ...str(4, v), ...vint(20, 3)];
  if (Array.isArray(v)) return [...str(1, name), ...v.flatMap((x) => vint(8, x)), ...vint(20, 7)];
  return [...str(1, name), ...vint(3, v), ...vint(20, 2)];
}

/** Bytes of an opset-17 ModelProto with the given nodes (no initializers: weights are inputs). */
export function buildModel(spec: ModelSpec): Uint8Array {
  const graph = [
    ...spec.nodes.flatMap((n) =>
      lenField(1, [
        ...n.inputs.flatMap((i) => str(1, i)),
        ...n.outputs.flatMap((o) => str(2, o)),
        ...str(4, n.op),
        ...Object.entries(n.attrs ?? {}).flatMap(([k, v]) => lenField(5, attributeBytes(k, v))),
      ]),
    ),
    ...str(2, 'graph'),
    ...spec.inputs.flatMap((i) =>
      lenField(11, valueInfoBytes(i.name, i.dims, i.int64 ? DT.INT64 : DT.FLOAT)),
    ),
    ...spec.outputs.flatMap((o) => lenField(12, valueInfoBytes(o.name, o.dims, DT.FLOAT))),
  ];
  return Uint8Array.from([
    ...vint(1, 8),
    ...lenField(8, [...str(1, ''), ...vint(2, 17)]),
    ...lenField(7, graph),
  ]);
}

/** Bytes of a model computing C = A·B for float32 A, B of [n, n] (for the matrix-multiply ceiling). */
export function matmulModel(n: number): Uint8Array {
  return buildModel({
    inputs: [
      { name: 'A', dims: [n, n] },
      { name: 'B', dims: [n, n] },
    ],
    outputs: [{ name: 'C', dims: [n, n] }],
    nodes: [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['C'] }],
  });
}
