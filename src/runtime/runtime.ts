/**
 * The main-thread side of the runtime: a small pool of worker threads, each owning onnxruntime
 * sessions. Callers get `ModelSession` handles whose `run()` returns a promise and never blocks
 * the event loop. Sessions are cached by (model, device, settings) and shared; the last
 * `dispose()` releases them (creating and releasing many sessions leaks in onnxruntime-node).
 */
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { SonodiffError } from '../errors.ts';
import type { LoadResult, ModelSource, WorkerRequest, WorkerResponse } from './protocol.ts';
import {
  COMPUTE_DEVICES,
  type CpuSettings,
  type DeviceProbe,
  type Feeds,
  type SessionInfo,
  type SessionOptions,
  type TensorData,
  type ValueInfo,
} from './types.ts';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const workerUrl = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

/** How long dispose() waits for model calls in flight before ending their thread anyway. */
const TERMINATE_GRACE_MS = 30_000;

class RuntimeWorker {
  private worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly idleWaiters: Array<() => void> = [];
  private nextId = 1;
  /** Sessions loaded on this worker; used to spread models across workers. */
  load = 0;
  dead = false;

  constructor() {
    this.worker = new Worker(workerUrl);
    this.worker.unref();
    this.worker.on('message', (msg: WorkerResponse) => this.onMessage(msg));
    this.worker.on('error', (err: Error) => this.fail(`runtime worker crashed: ${err.message}`));
    this.worker.on('exit', (code) => this.fail(`runtime worker exited with code ${code}`));
  }

  private onMessage(msg: WorkerResponse): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (this.pending.size === 0) {
      this.worker.unref();
      for (const w of this.idleWaiters.splice(0)) w();
    }
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new SonodiffError(msg.error.code, msg.error.message));
  }

  /** The thread is gone: fail what it still owed (idempotent: the pending map is cleared). */
  private fail(message: string): void {
    this.dead = true;
    for (const p of this.pending.values()) p.reject(new SonodiffError('ERR_INTERNAL', message));
    this.pending.clear();
    for (const w of this.idleWaiters.splice(0)) w();
  }

  request<T>(req: DistributiveOmit<WorkerRequest, 'id'>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead)
      return Promise.reject(new SonodiffError('ERR_INTERNAL', 'runtime worker is no longer running'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      // Keep the process alive only while work is outstanding.
      this.worker.ref();
      this.worker.postMessage({ ...req, id } as WorkerRequest, transfer);
    });
  }

  async terminate(): Promise<void> {
    this.dead = true;
    // Ending the thread while onnxruntime runs on it aborts the whole process (a Napi::Error thrown
    // from the native completion callback): let the calls in flight finish first, within reason.
    if (this.pending.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, TERMINATE_GRACE_MS);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await this.worker.terminate();
    this.fail('runtime was disposed');
  }
}

export interface RuntimeOptions {
  /** Worker threads; sessions are spread across them. Default 1 (2 cores: one model call at a time). */
  workers?: number;
}

interface CacheEntry {
  key: string;
  promise: Promise<{ worker: RuntimeWorker; info: LoadResult }>;
  refs: number;
  /** Loads the model again on a live worker (after its worker crashed). */
  start: () => Promise<{ worker: RuntimeWorker; info: LoadResult }>;
}

export class Runtime {
  readonly workerCount: number;
  private workers: RuntimeWorker[] = [];
  private readonly cache = new Map<string, CacheEntry>();
  private disposed = false;

  constructor(options: RuntimeOptions = {}) {
    const n = options.workers ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > os.availableParallelism() * 4) {
      throw new RangeError(`workers must be an integer from 1 to ${os.availableParallelism() * 4}, got ${n}`);
    }
    this.workerCount = n;
  }

  private pickWorker(): RuntimeWorker {
    this.workers = this.workers.filter((w) => !w.dead);
    if (this.workers.length < this.workerCount) {
      const w = new RuntimeWorker();
      this.workers.push(w);
      return w;
    }
    return this.workers.reduce((a, b) => (b.load < a.load ? b : a));
  }

  /** Loads (or shares an already loaded) model. `source` is a path to a .onnx file or its bytes. */
  async load(source: string | Uint8Array, options: SessionOptions = {}): Promise<ModelSession> {
    if (this.disposed) throw new SonodiffError('ERR_INTERNAL', 'runtime is disposed');
    const device = options.device ?? 'auto';
    if (!COMPUTE_DEVICES.includes(device)) {
      throw new RangeError(`device must be one of ${COMPUTE_DEVICES.join(', ')}, got ${String(device)}`);
    }
    const cpu: CpuSettings = options.cpu ?? {};
    let src: ModelSource;
    let key: string;
    if (typeof source === 'string') {
      const abs = path.resolve(source);
      const st = await stat(abs).catch(() => undefined);
      if (!st) throw new SonodiffError('ERR_MODEL', 'model file does not exist', { path: source });
      if (!st.isFile()) throw new SonodiffError('ERR_MODEL', 'model path is not a file', { path: source });
      src = { path: abs };
      key = `${abs}:${st.mtimeMs}:${st.size}`;
    } else if (source instanceof Uint8Array) {
      src = { bytes: source.slice() };
      key = `bytes:${source.byteLength}:${fingerprint(source)}`;
    } else {
      throw new TypeError('source must be a file path or a Uint8Array of ONNX bytes');
    }
    key += `|${device}|${JSON.stringify(cpu)}`;
    let entry = this.cache.get(key);
    if (entry === undefined) {
      const start = () => {
        const worker = this.pickWorker();
        worker.load++;
        return worker
          .request<LoadResult>({ op: 'load', source: src, device, cpu, workers: this.workerCount })
          .then((info) => ({ worker, info }))
          .catch((err: unknown) => {
            worker.load--;
            if (err instanceof SonodiffError && typeof source === 'string' && err.path === undefined) {
              throw new SonodiffError(err.code, err.message, { path: source, cause: err });
            }
            throw err;
          });
      };
      entry = { key, promise: start(), refs: 0, start };
      this.cache.set(key, entry);
    } else {
      const seen = entry.promise;
      // Same entry, so handles loaded before a crash keep their reference counts right.
      if ((await seen.then((e) => e.worker.dead).catch(() => true)) && entry.promise === seen) {
        entry.promise = entry.start();
      }
    }
    entry.refs++;
    try {
      const { worker, info } = await entry.promise;
      return new ModelSession(this, entry.key, worker, info);
    } catch (err) {
      entry.refs--;
      // Nobody holds the failed model: forget it, so a later load tries afresh.
      if (entry.refs === 0 && this.cache.get(key) === entry) this.cache.delete(key);
      throw err;
    }
  }

  /** Which compute devices can start on this machine, and why the others cannot. */
  async probeDevices(): Promise<DeviceProbe[]> {
    return this.pickWorker().request<DeviceProbe[]>({ op: 'probe' });
  }

  /**
   * @internal The live worker and session id behind `key`, loading the model again when its worker
   * has died (a crash fails the calls in flight; later calls run on a new worker).
   */
  async revive(key: string): Promise<{ worker: RuntimeWorker; info: LoadResult }> {
    const entry = this.cache.get(key);
    if (entry === undefined || this.disposed) {
      throw new SonodiffError('ERR_INTERNAL', 'runtime worker is no longer running');
    }
    const seen = entry.promise;
    const current = await seen.catch(() => undefined);
    if (current !== undefined && !current.worker.dead) return current;
    // Concurrent callers share one reload.
    if (entry.promise === seen) entry.promise = entry.start();
    return entry.promise;
  }

  /** @internal Called by ModelSession.dispose(). */
  async releaseSession(key: string): Promise<void> {
    const entry = this.cache.get(key);
    if (!entry) return;
    entry.refs--;
    if (entry.refs > 0) return;
    this.cache.delete(key);
    const live = await entry.promise.catch(() => undefined);
    if (live === undefined) return;
    const { worker, info } = live;
    worker.load--;
    if (!worker.dead) await worker.request({ op: 'release', sessionId: info.sessionId });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.cache.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}

function fingerprint(bytes: Uint8Array): number {
  // FNV-1a over a sample of the bytes: enough to tell cached in-memory models apart.
  let h = 0x811c9dc5;
  const step = Math.max(1, Math.floor(bytes.length / 4096));
  for (let i = 0; i < bytes.length; i += step) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** A loaded model. Many handles may share one underlying session. */
export class ModelSession {
  readonly device: SessionInfo['device'];
  readonly skipped: DeviceProbe[];
  readonly inputNames: string[];
  readonly outputNames: string[];
  /** Input and output names, element types and shapes as the model declares them. */
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  readonly loadMs: number;
  private readonly runtime: Runtime;
  private readonly key: string;
  private worker: RuntimeWorker;
  private sessionId: number;
  private disposed = false;
  /** Model calls made through this handle and their wall time (round trip to the worker). */
  readonly stats = { calls: 0, totalMs: 0 };

  constructor(runtime: Runtime, key: string, worker: RuntimeWorker, info: LoadResult) {
    this.runtime = runtime;
    this.key = key;
    this.worker = worker;
    this.sessionId = info.sessionId;
    this.device = info.device;
    this.skipped = info.skipped;
    this.inputNames = info.inputNames;
    this.outputNames = info.outputNames;
    this.inputs = info.inputs;
    this.outputs = info.outputs;
    this.loadMs = info.loadMs;
  }

  /**
   * Runs the model. Input arrays are copied to the worker (the caller keeps its buffers);
   * outputs are transferred back without a copy.
   */
  async run(feeds: Feeds, outputs?: string[]): Promise<Record<string, TensorData>> {
    if (this.disposed) throw new SonodiffError('ERR_INTERNAL', 'session is disposed');
    for (const name of Object.keys(feeds)) {
      if (!this.inputNames.includes(name)) {
        throw new RangeError(
          `feeds has unknown input "${name}"; the model takes ${this.inputNames.join(', ')}`,
        );
      }
    }
    for (const name of this.inputNames) {
      if (!(name in feeds)) throw new RangeError(`feeds is missing input "${name}"`);
    }
    if (this.worker.dead) {
      const live = await this.runtime.revive(this.key);
      this.worker = live.worker;
      this.sessionId = live.info.sessionId;
    }
    const t0 = performance.now();
    const out = await this.worker.request<Record<string, TensorData>>(
      outputs
        ? { op: 'run', sessionId: this.sessionId, feeds, outputs }
        : { op: 'run', sessionId: this.sessionId, feeds },
    );
    this.stats.calls++;
    this.stats.totalMs += performance.now() - t0;
    return out;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.runtime.releaseSession(this.key);
  }
}

/** Convenience constructors for tensors. */
export function float32Tensor(data: Float32Array, dims: number[]): TensorData {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length)
    throw new RangeError(`dims ${JSON.stringify(dims)} need ${n} values, data has ${data.length}`);
  return { type: 'float32', dims, data };
}

export function int64Tensor(
  values: ArrayLike<number | bigint>,
  dims: number[] = [values.length],
): TensorData {
  const data = BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
  return { type: 'int64', dims, data };
}
