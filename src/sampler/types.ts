/**
 * Shared types of the diffusion core. The noise process is always described natively:
 * x_t = alpha_t * x0 + sigma_t * eps, with (alpha, sigma) given per sampling level, so one
 * sampler implementation serves VP, VE/EDM and rectified-flow models.
 */

/** What the model was trained to output. `flow` is the rectified-flow velocity v = eps - x0. */
export type Parameterisation = 'epsilon' | 'v_prediction' | 'sample' | 'flow' | 'edm';

/** One noise level of a sampling plan. */
export interface NoiseLevel {
  /** Signal scale alpha_t of x_t = alpha_t x0 + sigma_t eps. */
  alpha: number;
  /** Noise scale sigma_t (native, not divided by alpha). */
  sigma: number;
  /** The time value handed to the model: a discrete timestep, sigma, c_noise or flow t × N. */
  t: number;
  /** Factor applied to x before the model sees it (EDM's c_in); 1 when absent. */
  cIn?: number;
}

/** What the denoiser receives besides the state. */
export interface TimeInput {
  /** The model's own time value (see NoiseLevel.t). */
  t: number;
  alpha: number;
  sigma: number;
  /** Shape of the x passed in this call, batch first (2B when guidance is batched). */
  shape: readonly number[];
}

/**
 * The model. Returns its raw output in its own parameterisation, same length as x.
 * `cond` holds one condition per batch item of this call (so batched guidance passes
 * [cond_0..cond_B-1, uncond_0..uncond_B-1]).
 */
export type Denoiser<C = unknown> = (
  x: Float32Array,
  t: TimeInput,
  cond: readonly C[],
) => Promise<Float32Array>;

export type SamplerName =
  | 'ddpm'
  | 'ddim'
  | 'euler'
  | 'euler_ancestral'
  | 'heun'
  | 'dpmpp_2m'
  | 'dpmpp_2m_sde'
  | 'dpmpp_3m_sde'
  | 'unipc'
  | 'flow_euler';

export const SAMPLER_NAMES: readonly SamplerName[] = [
  'ddpm',
  'ddim',
  'euler',
  'euler_ancestral',
  'heun',
  'dpmpp_2m',
  'dpmpp_2m_sde',
  'dpmpp_3m_sde',
  'unipc',
  'flow_euler',
];

/** Per-sampler knobs; each sampler reads only the ones it documents. */
export interface SamplerSettings {
  /** DDIM η, ancestral η (Euler ancestral, DPM++ SDE). Defaults: ddim 0, others 1. */
  eta?: number;
  /** Multistep order cap (dpmpp_2m: 1–3 → 3 uses the 3M update with η = 0; unipc: 1–3). */
  order?: number;
  /** diffusers `lower_order_final`: drop to lower orders over the last steps when steps < 15. Default true. */
  lowerOrderFinal?: boolean;
  /** diffusers `euler_at_final` (DPM-Solver++ family). Default false. */
  eulerAtFinal?: boolean;
  /** UniPC steps (0-based) whose corrector is skipped (diffusers `disable_corrector`). */
  disableCorrector?: readonly number[];
  /** Heun's ODE coordinates: 've' (x/alpha against sigma/alpha, k-diffusion) or 'flow'. */
  heunCoordinates?: 've' | 'flow';
  /** Clamp predicted x0 to ±clipX0 (diffusers `clip_sample` / `clip_sample_range`). */
  clipX0?: number;
  /** Noise multiplier for stochastic samplers (k-diffusion s_noise). Default 1. */
  sNoise?: number;
  /** DPM-Solver++ second-order form (diffusers `solver_type`). Default 'midpoint'. */
  solverType?: 'midpoint' | 'heun';
  /** UniPC B(h) (diffusers `solver_type`). Default 'bh2'. */
  uniPcVariant?: 'bh1' | 'bh2';
}
