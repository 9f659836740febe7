import type { SamplerName } from '../types.ts';
import type { SamplerFn } from './common.ts';
import { dpmpp2m, dpmpp2mSde, dpmpp3mSde } from './dpmpp.ts';
import { ddim, ddpm, euler, eulerAncestral, flowEuler } from './first-order.ts';
import { heun } from './heun.ts';
import { unipc } from './unipc.ts';

export const SAMPLERS: Readonly<Record<SamplerName, SamplerFn>> = {
  ddpm,
  ddim,
  euler,
  euler_ancestral: eulerAncestral,
  heun,
  dpmpp_2m: dpmpp2m,
  dpmpp_2m_sde: dpmpp2mSde,
  dpmpp_3m_sde: dpmpp3mSde,
  unipc,
  flow_euler: flowEuler,
};

/** Model calls a sampler makes for a plan of `steps` steps (Heun: two per step except a final step to σ = 0). */
export function modelCallsFor(name: SamplerName, steps: number, finalSigmaZero: boolean): number {
  if (name === 'heun') return 2 * steps - (finalSigmaZero ? 1 : 0);
  return steps;
}

export type { SamplerFn, SamplerRuntime } from './common.ts';
