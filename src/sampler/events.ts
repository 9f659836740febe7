/** Progress events of one sampling run, as a discriminated union on `type`. */
import { SonodiffError } from '../errors.ts';
import type { SamplerName } from './types.ts';

export type SamplerEvent =
  | { type: 'start'; sampler: SamplerName; steps: number; modelCalls: number; shape: readonly number[] }
  | {
      type: 'step';
      /** 1-based index of the finished step. */
      step: number;
      steps: number;
      /** Model time value and native σ of the level the step started from. */
      t: number;
      sigma: number;
      /** The step's x0 estimate (a copy), when previews were requested. */
      x0Preview?: Float32Array;
    }
  | { type: 'done'; steps: number; modelCalls: number; elapsedMs: number };

export type SamplerEventHandler = (event: SamplerEvent) => void;

/** Throws SonodiffError('ERR_ABORTED') when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) {
    throw new SonodiffError('ERR_ABORTED', `sampling aborted ${where}`, { cause: signal.reason });
  }
}
