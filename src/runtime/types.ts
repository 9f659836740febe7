/** Compute devices a user can ask for. `auto` tries CUDA, then WebGPU, then CPU. */
export type ComputeDevice = 'auto' | 'cpu' | 'cuda' | 'webgpu';
/** Devices that actually run a model. */
export type ResolvedDevice = Exclude<ComputeDevice, 'auto'>;

export const COMPUTE_DEVICES: readonly ComputeDevice[] = ['auto', 'cpu', 'cuda', 'webgpu'];

/** Element types we move between threads. */
export type TensorType = 'float32' | 'int64' | 'int32' | 'float16' | 'bool';

/** A tensor as plain data, so it can cross a worker boundary. */
export interface TensorData {
  type: TensorType;
  dims: number[];
  data: Float32Array | BigInt64Array | Int32Array | Uint16Array | Uint8Array;
}

export type Feeds = Record<string, TensorData>;

export interface CpuSettings {
  /** Threads inside one operator. Default: the cores divided among the worker threads. */
  intraOpThreads?: number;
  /** onnxruntime graph optimisation; `all` measured 1.37× faster than `extended` here. */
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** The CPU memory arena; disabling it cost 17% here. */
  memoryArena?: boolean;
  /**
   * Busy-wait threads; off when several workers share the cores (spinning cost 50% with two). Default
   * on with one worker, except for a pack's vocoder: its threads would spin on after each decode
   * while the denoiser runs.
   */
  spinning?: boolean;
}

export interface SessionOptions {
  device?: ComputeDevice;
  cpu?: CpuSettings;
}

/** Why a device did or did not start, for `sonodiff devices` and `auto` reports. */
export interface DeviceProbe {
  device: ResolvedDevice;
  available: boolean;
  reason: string;
}

/** Name, element type and shape of a model input or output (symbolic dimensions as strings). */
export interface ValueInfo {
  name: string;
  type: string;
  shape: (number | string)[];
}

export interface SessionInfo {
  device: ResolvedDevice;
  /** Devices `auto` tried before the one that ran, with the reason each did not. */
  skipped: DeviceProbe[];
  inputNames: string[];
  outputNames: string[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  loadMs: number;
}
