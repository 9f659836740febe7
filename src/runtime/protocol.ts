/** Messages between the main thread and a runtime worker. Internal to src/runtime. */
import type { ComputeDevice, CpuSettings, Feeds, SessionInfo } from './types.ts';

export type ModelSource = { path: string } | { bytes: Uint8Array };

export type WorkerRequest =
  | { op: 'load'; id: number; source: ModelSource; device: ComputeDevice; cpu: CpuSettings; workers: number }
  | { op: 'run'; id: number; sessionId: number; feeds: Feeds; outputs?: string[] }
  | { op: 'release'; id: number; sessionId: number }
  | { op: 'probe'; id: number };

export interface WorkerError {
  message: string;
  code: 'ERR_MODEL' | 'ERR_DEVICE' | 'ERR_INTERNAL';
}

export type WorkerResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: WorkerError };

export interface LoadResult extends SessionInfo {
  sessionId: number;
}
