import os from 'node:os';
import type { CpuSettings, ResolvedDevice } from './types.ts';

/** onnxruntime session options for one device; kept in one place so every worker agrees. */
export function ortSessionOptions(
  device: ResolvedDevice,
  cpu: CpuSettings,
  workers: number,
): Record<string, unknown> {
  const cores = Math.max(1, os.availableParallelism());
  const intra = cpu.intraOpThreads ?? Math.max(1, Math.floor(cores / Math.max(1, workers)));
  const spinning = cpu.spinning ?? workers <= 1;
  const providers: unknown[] =
    device === 'cpu' ? ['cpu'] : [device === 'cuda' ? { name: 'cuda' } : { name: 'webgpu' }];
  return {
    executionProviders: providers,
    graphOptimizationLevel: cpu.graphOptimization ?? 'all',
    intraOpNumThreads: intra,
    interOpNumThreads: 1,
    enableCpuMemArena: cpu.memoryArena ?? true,
    executionMode: 'sequential',
    logSeverityLevel: 3,
    extra: {
      session: {
        intra_op: { allow_spinning: spinning ? '1' : '0' },
        inter_op: { allow_spinning: spinning ? '1' : '0' },
      },
    },
  };
}

/** The order `auto` tries devices in. */
export const AUTO_ORDER: readonly ResolvedDevice[] = ['cuda', 'webgpu', 'cpu'];
