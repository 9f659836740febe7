/**
 * Runtime worker: owns onnxruntime sessions. `session.run()` in onnxruntime-node blocks its
 * thread for the whole call, so it must never run on the main thread of a server.
 */
import { existsSync, readdirSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { LoadResult, ModelSource, WorkerError, WorkerRequest, WorkerResponse } from './protocol.ts';
import { AUTO_ORDER, ortSessionOptions } from './session-config.ts';
import type {
  ComputeDevice,
  CpuSettings,
  DeviceProbe,
  Feeds,
  ResolvedDevice,
  TensorData,
  ValueInfo,
} from './types.ts';

if (parentPort === null) throw new Error('runtime worker must run in a worker thread');
const port = parentPort;

const sessions = new Map<number, ort.InferenceSession>();
let nextSessionId = 1;

class TaggedError extends Error {
  readonly code: WorkerError['code'];
  constructor(code: WorkerError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

function bundled(device: ResolvedDevice): boolean {
  const backends = ort.listSupportedBackends?.() ?? [];
  const entry = backends.find((b) => b.name === device);
  return entry?.bundled === true;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.trim();
}

async function create(
  source: ModelSource,
  device: ResolvedDevice,
  cpu: CpuSettings,
  workers: number,
): Promise<ort.InferenceSession> {
  const options = ortSessionOptions(device, cpu, workers) as ort.InferenceSession.SessionOptions;
  return 'path' in source
    ? ort.InferenceSession.create(source.path, options)
    : ort.InferenceSession.create(source.bytes, options);
}

/** Linux exposes GPUs as DRM render nodes or NVIDIA device files; without one, Vulkan finds nothing. */
function linuxHasGpu(): boolean {
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((n) => n.startsWith('renderD'));
  } catch {
    return false;
  }
}

/** Why a GPU device cannot start, or undefined when it might. */
function unavailableReason(device: ResolvedDevice): string | undefined {
  if (device === 'cuda' && !bundled('cuda')) {
    return 'CUDA provider libraries are not installed (onnxruntime-node-install=skip; see README "GPU")';
  }
  // Probing Vulkan without a GPU costs time and prints driver noise on stderr; skip it.
  if (device === 'webgpu' && process.platform === 'linux' && !linuxHasGpu()) {
    return 'no GPU found (no /dev/dri render node or /dev/nvidia0) for WebGPU over Vulkan';
  }
  return undefined;
}

async function load(
  source: ModelSource,
  device: ComputeDevice,
  cpu: CpuSettings,
  workers: number,
): Promise<LoadResult> {
  const t0 = performance.now();
  const order: readonly ResolvedDevice[] = device === 'auto' ? AUTO_ORDER : [device];
  const skipped: DeviceProbe[] = [];
  for (const d of order) {
    const reason = unavailableReason(d);
    if (reason !== undefined) {
      if (device !== 'auto') throw new TaggedError('ERR_DEVICE', `device ${d} cannot start: ${reason}`);
      skipped.push({ device: d, available: false, reason });
      continue;
    }
    let session: ort.InferenceSession;
    try {
      session = await create(source, d, cpu, workers);
    } catch (err) {
      const why = firstLine(err);
      // A model that fails on CPU is a bad model, not a missing device.
      if (d === 'cpu') throw new TaggedError('ERR_MODEL', `cannot load model: ${why}`);
      if (device !== 'auto') throw new TaggedError('ERR_DEVICE', `device ${d} cannot start: ${why}`);
      skipped.push({ device: d, available: false, reason: why });
      continue;
    }
    const sessionId = nextSessionId++;
    sessions.set(sessionId, session);
    return {
      sessionId,
      device: d,
      skipped,
      inputNames: [...session.inputNames],
      outputNames: [...session.outputNames],
      inputs: valueInfos(session.inputMetadata),
      outputs: valueInfos(session.outputMetadata),
      loadMs: performance.now() - t0,
    };
  }
  throw new TaggedError('ERR_DEVICE', 'no device could run the model');
}

function valueInfos(meta: readonly ort.InferenceSession.ValueMetadata[] | undefined): ValueInfo[] {
  return (meta ?? []).map((m) =>
    m.isTensor
      ? {
          name: m.name,
          type: String(m.type),
          shape: m.shape.map((d) => (typeof d === 'number' ? d : String(d))),
        }
      : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

function toOrt(t: TensorData): ort.Tensor {
  return new ort.Tensor(t.type, t.data, t.dims);
}

function fromOrt(t: ort.Tensor): TensorData {
  const type = t.type as TensorData['type'];
  const data = t.data as TensorData['data'];
  return { type, dims: [...t.dims], data };
}

async function run(sessionId: number, feeds: Feeds, outputs?: string[]): Promise<Record<string, TensorData>> {
  const session = sessions.get(sessionId);
  if (session === undefined) throw new TaggedError('ERR_INTERNAL', `session ${sessionId} was released`);
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(t);
  let result: ort.InferenceSession.ReturnType;
  try {
    result = outputs ? await session.run(ortFeeds, outputs) : await session.run(ortFeeds);
  } catch (err) {
    throw new TaggedError('ERR_MODEL', `model run failed: ${firstLine(err)}`);
  }
  const out: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(result)) out[name] = fromOrt(t as ort.Tensor);
  return out;
}

/** Which devices can start here, tried on a one-node model built in memory. */
async function probe(): Promise<DeviceProbe[]> {
  const probes: DeviceProbe[] = [];
  for (const d of AUTO_ORDER) {
    const reason = unavailableReason(d);
    if (reason !== undefined) {
      probes.push({ device: d, available: false, reason });
      continue;
    }
    try {
      const s = await create({ bytes: identityModel() }, d, {}, 1);
      await s.release();
      probes.push({ device: d, available: true, reason: 'session created' });
    } catch (err) {
      probes.push({ device: d, available: false, reason: firstLine(err) });
    }
  }
  return probes;
}

/**
 * A minimal ONNX model (Identity on a float tensor), encoded by hand so probing needs no file.
 * Protobuf fields: ModelProto{ir_version=1:8, opset_import=8, graph=7}; GraphProto{node=1, name=2, input=11, output=12}.
 */
function identityModel(): Uint8Array {
  const bytes: number[] = [];
  const varint = (out: number[], v: number) => {
    while (v > 0x7f) {
      out.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out.push(v);
  };
  const field = (out: number[], num: number, body: number[] | string) => {
    const b = typeof body === 'string' ? [...Buffer.from(body)] : body;
    varint(out, (num << 3) | 2);
    varint(out, b.length);
    out.push(...b);
  };
  const valueInfo = (name: string) => {
    const tensorType: number[] = [];
    varint(tensorType, (1 << 3) | 0);
    varint(tensorType, 1); // elem_type FLOAT
    const type: number[] = [];
    field(type, 1, tensorType); // TypeProto.tensor_type
    const vi: number[] = [];
    field(vi, 1, name);
    field(vi, 2, type);
    return vi;
  };
  const node: number[] = [];
  field(node, 1, 'x');
  field(node, 2, 'y');
  field(node, 4, 'Identity');
  const graph: number[] = [];
  field(graph, 1, node);
  field(graph, 2, 'probe');
  field(graph, 11, valueInfo('x'));
  field(graph, 12, valueInfo('y'));
  const opset: number[] = [];
  varint(opset, (2 << 3) | 0);
  varint(opset, 13);
  varint(bytes, (1 << 3) | 0);
  varint(bytes, 8);
  field(bytes, 8, opset);
  field(bytes, 7, graph);
  return Uint8Array.from(bytes);
}

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.op) {
    case 'load':
      return load(req.source, req.device, req.cpu, req.workers);
    case 'run':
      return run(req.sessionId, req.feeds, req.outputs);
    case 'release': {
      const s = sessions.get(req.sessionId);
      sessions.delete(req.sessionId);
      if (s) await s.release();
      return null;
    }
    case 'probe':
      return probe();
  }
}

function transferables(result: unknown): ArrayBuffer[] {
  if (result === null || typeof result !== 'object') return [];
  const list: ArrayBuffer[] = [];
  for (const v of Object.values(result as Record<string, unknown>)) {
    const data = (v as Partial<TensorData> | null)?.data;
    if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer) list.push(data.buffer);
  }
  return list;
}

port.on('message', (req: WorkerRequest) => {
  handle(req).then(
    (result) => {
      const msg: WorkerResponse = { id: req.id, ok: true, result };
      try {
        port.postMessage(msg, req.op === 'run' ? transferables(result) : []);
      } catch {
        // onnxruntime may hand back views on memory it owns; fall back to copying.
        port.postMessage(msg);
      }
    },
    (err: unknown) => {
      const code = err instanceof TaggedError ? err.code : 'ERR_INTERNAL';
      const msg: WorkerResponse = { id: req.id, ok: false, error: { code, message: firstLine(err) } };
      port.postMessage(msg);
    },
  );
});
