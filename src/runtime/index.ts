export { float32Tensor, int64Tensor, ModelSession, Runtime, type RuntimeOptions } from './runtime.ts';
export type {
  ComputeDevice,
  CpuSettings,
  DeviceProbe,
  Feeds,
  ResolvedDevice,
  SessionInfo,
  SessionOptions,
  TensorData,
  TensorType,
  ValueInfo,
} from './types.ts';
export { COMPUTE_DEVICES } from './types.ts';
