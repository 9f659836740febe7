/**
 * Builds a sampling plan from a Hugging Face diffusers `scheduler_config.json`: same keys and
 * class defaults → the same timesteps and sigmas diffusers' `set_timesteps` produces (sigmas to
 * float32 precision, since diffusers computes ᾱ in float32). Keys that would change results but
 * are not implemented are rejected rather than ignored. See docs/sampler.md for the key list.
 */
import { readFileSync } from 'node:fs';
import { SonodiffError } from '../errors.ts';
import {
  alphasCumprod,
  type BetaSchedule,
  betaSchedule,
  eulerTimesteps,
  exponentialSigmas,
  type Formulation,
  flowShift,
  flowTimeShift,
  interpUniform,
  karrasSigmas,
  linspace,
  rescaleZeroTerminalSnr,
  roundHalfEven,
  sigmaToT,
  spacedTimesteps,
  type TimestepSpacing,
  vpSigmas,
} from './schedules.ts';
import type { NoiseLevel, Parameterisation, SamplerName, SamplerSettings } from './types.ts';

export type DiffusersConfig = Record<string, unknown>;

export interface DiffusersPlan {
  className: string;
  sampler: SamplerName;
  settings: SamplerSettings;
  prediction: Parameterisation;
  sigmaData?: number;
  formulation: Formulation;
  /** diffusers' `scheduler.timesteps` (one per step; Heun's interleaving not repeated). */
  timesteps: number[];
  /** diffusers' `scheduler.sigmas` convention: VE σ = sqrt((1−ᾱ)/ᾱ) (flow: t), steps + 1 values. */
  sigmas: number[];
  levels: NoiseLevel[];
  /** Std of the initial noise in native units that diffusers' pipelines use (init_noise_sigma rescaled). */
  initNoiseScale: number;
}

export const SUPPORTED_SCHEDULERS = [
  'DDPMScheduler',
  'DDIMScheduler',
  'EulerDiscreteScheduler',
  'EulerAncestralDiscreteScheduler',
  'HeunDiscreteScheduler',
  'DPMSolverMultistepScheduler',
  'UniPCMultistepScheduler',
  'FlowMatchEulerDiscreteScheduler',
  'EDMEulerScheduler',
] as const;

class Cfg {
  readonly c: DiffusersConfig;
  readonly file: string;
  constructor(c: DiffusersConfig, file: string) {
    this.c = c;
    this.file = file;
  }
  private bad(key: string, want: string): never {
    throw new SonodiffError(
      'ERR_MODEL',
      `scheduler config key "${key}" must be ${want}, got ${JSON.stringify(this.c[key])}`,
      { path: this.file },
    );
  }
  num(key: string, def: number): number {
    const v = this.c[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.bad(key, 'a number');
    return v;
  }
  optNum(key: string): number | undefined {
    const v = this.c[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.bad(key, 'a number or null');
    return v;
  }
  bool(key: string, def: boolean): boolean {
    const v = this.c[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') this.bad(key, 'true or false');
    return v;
  }
  str<T extends string>(key: string, def: T, allowed: readonly T[]): T {
    const v = this.c[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string' || !allowed.includes(v as T)) this.bad(key, `one of ${allowed.join(', ')}`);
    return v as T;
  }
  /** Rejects a key unless it has its default (a feature we do not implement). */
  only(key: string, def: unknown): void {
    const v = this.c[key];
    if (
      v !== undefined &&
      v !== null &&
      v !== def &&
      !(Array.isArray(v) && v.length === 0 && Array.isArray(def))
    ) {
      this.bad(key, `${JSON.stringify(def)} (other values are not supported)`);
    }
  }
}

function trainSchedule(cfg: Cfg, schedules: readonly BetaSchedule[]): { ac: Float64Array; n: number } {
  const trained = cfg.c['trained_betas'];
  let betas: Float64Array;
  if (Array.isArray(trained) && trained.length > 0) {
    if (!trained.every((v) => typeof v === 'number'))
      throw new SonodiffError('ERR_MODEL', 'trained_betas must be numbers', { path: cfg.file });
    betas = Float64Array.from(trained as number[]);
  } else {
    const n = cfg.num('num_train_timesteps', 1000);
    betas = betaSchedule(
      cfg.str('beta_schedule', 'linear', schedules),
      n,
      cfg.num('beta_start', 0.0001),
      cfg.num('beta_end', 0.02),
    );
  }
  if (cfg.bool('rescale_betas_zero_snr', false)) betas = rescaleZeroTerminalSnr(betas);
  return { ac: alphasCumprod(betas), n: betas.length };
}

type DiffusersPrediction = 'epsilon' | 'v_prediction' | 'sample' | 'flow_prediction';

function prediction(cfg: Cfg, def: DiffusersPrediction): Parameterisation {
  const p = cfg.str<DiffusersPrediction>('prediction_type', def, [
    'epsilon',
    'v_prediction',
    'sample',
    'flow_prediction',
  ]);
  return p === 'flow_prediction' ? 'flow' : p;
}

function vpLevel(ac: number, t: number): NoiseLevel {
  return { alpha: Math.sqrt(ac), sigma: Math.sqrt(1 - ac), t };
}

function vpFromVe(s: number, t: number): NoiseLevel {
  const alpha = 1 / Math.sqrt(s * s + 1);
  return { alpha, sigma: s * alpha, t };
}

const f32 = Math.fround;

function ddimLike(cfg: Cfg, cls: string, steps: number): DiffusersPlan {
  const ddpm = cls === 'DDPMScheduler';
  const { ac, n } = trainSchedule(
    cfg,
    ddpm
      ? ['linear', 'scaled_linear', 'squaredcos_cap_v2', 'sigmoid']
      : ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  );
  cfg.only('thresholding', false);
  if (ddpm) cfg.only('variance_type', 'fixed_small');
  const spacing = cfg.str<TimestepSpacing>('timestep_spacing', 'leading', [
    'leading',
    'linspace',
    'trailing',
  ]);
  const timesteps = spacedTimesteps(spacing, n, steps, cfg.num('steps_offset', 0));
  const levels = timesteps.map((t) => vpLevel(ac[t], t));
  const finalAc = ddpm || cfg.bool('set_alpha_to_one', true) ? 1 : ac[0];
  levels.push(vpLevel(finalAc, -1));
  const settings: SamplerSettings = {};
  if (cfg.bool('clip_sample', true)) settings.clipX0 = cfg.num('clip_sample_range', 1);
  return {
    className: cls,
    sampler: ddpm ? 'ddpm' : 'ddim',
    settings,
    prediction: prediction(cfg, 'epsilon'),
    formulation: 'vp',
    timesteps,
    sigmas: levels.map((l) => l.sigma / l.alpha),
    levels,
    initNoiseScale: 1,
  };
}

/** Euler/EulerAncestral/Heun: fractional linspace timesteps, σ interpolated in t, optional Karras/exponential. */
function eulerLike(cfg: Cfg, cls: string, steps: number): DiffusersPlan {
  const { ac, n } = trainSchedule(cfg, ['linear', 'scaled_linear', 'squaredcos_cap_v2']);
  if (cfg.bool('rescale_betas_zero_snr', false)) ac[ac.length - 1] = 2 ** -24; // as diffusers: finite first σ
  const ancestral = cls === 'EulerAncestralDiscreteScheduler';
  cfg.str('interpolation_type', 'linear', ['linear']);
  cfg.only('use_beta_sigmas', false);
  const spacing = cfg.str<TimestepSpacing>('timestep_spacing', 'linspace', [
    'leading',
    'linspace',
    'trailing',
  ]);
  const trainSig = vpSigmas(ac);
  const logSig = trainSig.map(Math.log);
  let timesteps = eulerTimesteps(spacing, n, steps, cfg.num('steps_offset', 0));
  let sigmas = timesteps.map((t) => interpUniform(t, trainSig));
  const karras = !ancestral && cfg.bool('use_karras_sigmas', false);
  const expo = !ancestral && cfg.bool('use_exponential_sigmas', false);
  if (karras || expo) {
    const smin = cfg.optNum('sigma_min') ?? sigmas[sigmas.length - 1];
    const smax = cfg.optNum('sigma_max') ?? sigmas[0];
    sigmas = karras ? karrasSigmas(steps, smin, smax) : exponentialSigmas(steps, smin, smax);
    timesteps = sigmas.map((s) => sigmaToT(s, logSig));
  }
  const continuous =
    cls === 'EulerDiscreteScheduler' &&
    cfg.str('timestep_type', 'discrete', ['discrete', 'continuous']) === 'continuous';
  const pred = prediction(cfg, 'epsilon');
  if (continuous && pred === 'v_prediction') timesteps = sigmas.map((s) => 0.25 * Math.log(s));
  const finalType = ancestral ? 'zero' : cfg.str('final_sigmas_type', 'zero', ['zero', 'sigma_min']);
  const last = finalType === 'zero' ? 0 : trainSig[0];
  const all = [...sigmas, last].map(f32);
  const levels = all.map((s, i) => vpFromVe(s, i < timesteps.length ? timesteps[i] : 0));
  const settings: SamplerSettings = {};
  if (cls === 'HeunDiscreteScheduler') {
    settings.heunCoordinates = 've';
    if (cfg.bool('clip_sample', false)) settings.clipX0 = cfg.num('clip_sample_range', 1);
  }
  // init_noise_sigma: σmax for linspace/trailing, sqrt(σmax² + 1) otherwise; in native units × α.
  const smax = Math.max(...all);
  const initVe = spacing === 'linspace' || spacing === 'trailing' ? smax : Math.sqrt(smax * smax + 1);
  return {
    className: cls,
    sampler: cls === 'HeunDiscreteScheduler' ? 'heun' : ancestral ? 'euler_ancestral' : 'euler',
    settings,
    prediction: pred,
    formulation: 'vp',
    timesteps,
    sigmas: all,
    levels,
    initNoiseScale: initVe / Math.sqrt(all[0] * all[0] + 1),
  };
}

/** DPMSolverMultistep / UniPC: steps + 1 grid with the last dropped. */
function multistep(cfg: Cfg, cls: string, steps: number): DiffusersPlan {
  const { ac, n } = trainSchedule(cfg, ['linear', 'scaled_linear', 'squaredcos_cap_v2']);
  const dpm = cls === 'DPMSolverMultistepScheduler';
  if (cfg.bool('rescale_betas_zero_snr', false)) ac[ac.length - 1] = 2 ** -24;
  cfg.only('thresholding', false);
  cfg.only('use_beta_sigmas', false);
  cfg.only('use_lu_lambdas', false);
  cfg.only('variance_type', null);
  cfg.only('use_dynamic_shifting', false);
  cfg.only('solver_p', null);
  const order = cfg.num('solver_order', 2);
  if (![1, 2, 3].includes(order))
    throw new SonodiffError('ERR_MODEL', `solver_order must be 1, 2 or 3, got ${order}`, { path: cfg.file });
  const spacing = cfg.str<TimestepSpacing>('timestep_spacing', 'linspace', [
    'leading',
    'linspace',
    'trailing',
  ]);
  const offset = cfg.num('steps_offset', 0);
  // lambda_min_clipped: drop the noisiest training steps whose λ lies below it.
  const lmc = dpm ? cfg.num('lambda_min_clipped', Number.NEGATIVE_INFINITY) : Number.NEGATIVE_INFINITY;
  let clipped = 0;
  for (let t = n - 1; t >= 0; t--) {
    const lam = 0.5 * Math.log(ac[t]) - 0.5 * Math.log(1 - ac[t]);
    if (lam >= lmc) break;
    clipped++;
  }
  const lastT = n - clipped;
  let timesteps: number[];
  if (spacing === 'linspace') {
    timesteps = [...linspace(0, lastT - 1, steps + 1)].map(roundHalfEven).reverse().slice(0, -1);
  } else if (spacing === 'leading') {
    const ratio = Math.floor(lastT / (steps + 1));
    timesteps = Array.from({ length: steps + 1 }, (_, i) => roundHalfEven(i * ratio))
      .reverse()
      .slice(0, -1)
      .map((t) => t + offset);
  } else {
    const ratio = n / steps;
    const len = Math.ceil(lastT / ratio);
    timesteps = Array.from({ length: len }, (_, i) => roundHalfEven(lastT - i * ratio) - 1);
  }
  const trainSig = vpSigmas(ac);
  const logSig = trainSig.map(Math.log);
  const finalType = cfg.str('final_sigmas_type', 'zero', ['zero', 'sigma_min']);
  const flow = cfg.bool('use_flow_sigmas', false);
  let sigmas: number[];
  let last: number;
  if (cfg.bool('use_karras_sigmas', false) || cfg.bool('use_exponential_sigmas', false)) {
    const karras = cfg.bool('use_karras_sigmas', false);
    const smin = trainSig[0];
    const smax = trainSig[trainSig.length - 1];
    sigmas = karras ? karrasSigmas(steps, smin, smax) : exponentialSigmas(steps, smin, smax);
    timesteps = sigmas.map((s) => (karras ? roundHalfEven(sigmaToT(s, logSig)) : sigmaToT(s, logSig)));
    last = finalType === 'zero' ? 0 : sigmas[sigmas.length - 1];
  } else if (flow) {
    const shift = cfg.num('flow_shift', 1);
    const alphas = linspace(1, 1 / n, steps + 1);
    sigmas = [...alphas]
      .map((a) => flowShift(1 - a, shift))
      .reverse()
      .slice(0, -1);
    timesteps = sigmas.map((s) => s * n);
    last = finalType === 'zero' ? 0 : sigmas[sigmas.length - 1];
  } else {
    sigmas = timesteps.map((t) => interpUniform(t, trainSig));
    last = finalType === 'zero' ? 0 : trainSig[0];
  }
  const all = [...sigmas, last].map(f32);
  const levels = all.map((s, i) => {
    const t = i < timesteps.length ? timesteps[i] : 0;
    return flow ? { alpha: 1 - s, sigma: s, t } : vpFromVe(s, t);
  });
  const settings: SamplerSettings = { order, lowerOrderFinal: cfg.bool('lower_order_final', true) };
  let sampler: SamplerName;
  if (dpm) {
    const algo = cfg.str('algorithm_type', 'dpmsolver++', ['dpmsolver++', 'sde-dpmsolver++']);
    settings.solverType = cfg.str<'midpoint' | 'heun'>('solver_type', 'midpoint', ['midpoint', 'heun']);
    settings.eulerAtFinal = cfg.bool('euler_at_final', false);
    if (algo === 'dpmsolver++') sampler = 'dpmpp_2m';
    else sampler = order === 3 ? 'dpmpp_3m_sde' : 'dpmpp_2m_sde';
  } else {
    sampler = 'unipc';
    if (!cfg.bool('predict_x0', true))
      throw new SonodiffError('ERR_MODEL', 'predict_x0 = false is not supported', { path: cfg.file });
    const st = cfg.str('solver_type', 'bh2', ['bh1', 'bh2', 'midpoint', 'heun', 'logrho']);
    settings.uniPcVariant = st === 'bh1' ? 'bh1' : 'bh2';
    const dis = cfg.c['disable_corrector'];
    if (Array.isArray(dis)) settings.disableCorrector = dis.filter((v): v is number => typeof v === 'number');
  }
  return {
    className: cls,
    sampler,
    settings,
    prediction: prediction(cfg, flow ? 'flow_prediction' : 'epsilon'),
    formulation: flow ? 'flow' : 'vp',
    timesteps,
    sigmas: all,
    levels,
    initNoiseScale: 1,
  };
}

function flowMatch(cfg: Cfg, cls: string, steps: number, mu: number | undefined): DiffusersPlan {
  const n = cfg.num('num_train_timesteps', 1000);
  const shift = cfg.num('shift', 1);
  const dynamic = cfg.bool('use_dynamic_shifting', false);
  cfg.only('invert_sigmas', false);
  cfg.only('stochastic_sampling', false);
  cfg.only('use_beta_sigmas', false);
  cfg.str('time_shift_type', 'exponential', ['exponential']);
  if (dynamic && mu === undefined) throw new RangeError('mu is required when use_dynamic_shifting is true');
  // __init__: σ_train = linspace(1, N, N)[::-1]/N (float32), shifted unless dynamic.
  const shiftOnce = (s: number) => (dynamic ? s : flowShift(s, shift));
  const sMax = f32(shiftOnce(1));
  const sMin = f32(shiftOnce(f32(1 / n)));
  let sigmas = [...linspace(sMax * n, sMin * n, steps)].map((t) => t / n);
  if (cfg.bool('use_karras_sigmas', false))
    sigmas = karrasSigmas(steps, sigmas[sigmas.length - 1], sigmas[0]);
  else if (cfg.bool('use_exponential_sigmas', false))
    sigmas = exponentialSigmas(steps, sigmas[sigmas.length - 1], sigmas[0]);
  sigmas = sigmas.map((s) => (dynamic ? flowTimeShift(s, mu as number, 1) : flowShift(s, shift)));
  const term = cfg.optNum('shift_terminal');
  if (term) {
    const scale = (1 - sigmas[sigmas.length - 1]) / (1 - term);
    sigmas = sigmas.map((s) => 1 - (1 - s) / scale);
  }
  const all = [...sigmas.map(f32), 0];
  const timesteps = sigmas.map((s) => f32(f32(s) * n));
  const levels = all.map((s, i) => ({ alpha: 1 - s, sigma: s, t: i < timesteps.length ? timesteps[i] : 0 }));
  return {
    className: cls,
    sampler: 'flow_euler',
    settings: {},
    prediction: 'flow',
    formulation: 'flow',
    timesteps,
    sigmas: all,
    levels,
    initNoiseScale: 1,
  };
}

function edmEuler(cfg: Cfg, cls: string, steps: number): DiffusersPlan {
  const smin = cfg.num('sigma_min', 0.002);
  const smax = cfg.num('sigma_max', 80);
  const sd = cfg.num('sigma_data', 0.5);
  const rho = cfg.num('rho', 7);
  const sched = cfg.str('sigma_schedule', 'karras', ['karras', 'exponential']);
  const pred = cfg.str('prediction_type', 'epsilon', ['epsilon']);
  void pred;
  const sigmas =
    sched === 'karras' ? karrasSigmas(steps, smin, smax, rho) : exponentialSigmas(steps, smin, smax);
  const finalType = cfg.str('final_sigmas_type', 'zero', ['zero', 'sigma_min']);
  const all = [...sigmas, finalType === 'zero' ? 0 : sigmas[sigmas.length - 1]].map(f32);
  const timesteps = sigmas.map((s) => 0.25 * Math.log(s));
  const levels = all.map((s, i) => ({
    alpha: 1,
    sigma: s,
    t: i < timesteps.length ? timesteps[i] : 0,
    cIn: 1 / Math.sqrt(s * s + sd * sd),
  }));
  return {
    className: cls,
    sampler: 'euler',
    settings: {},
    prediction: 'edm',
    sigmaData: sd,
    formulation: 'edm',
    timesteps,
    sigmas: all,
    levels,
    initNoiseScale: Math.sqrt(smax * smax + 1),
  };
}

/**
 * A plan for `steps` inference steps from a parsed scheduler config. `file` names the source in
 * errors. `mu` is the dynamic-shift parameter flow pipelines pass to set_timesteps.
 */
export function planFromDiffusersConfig(
  config: DiffusersConfig,
  steps: number,
  opts: { file?: string; mu?: number } = {},
): DiffusersPlan {
  if (!Number.isInteger(steps) || steps < 1)
    throw new RangeError(`steps must be a positive integer, got ${steps}`);
  const file = opts.file ?? 'scheduler_config.json';
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new SonodiffError('ERR_MODEL', 'scheduler config must be a JSON object', { path: file });
  }
  const cls = config['_class_name'];
  if (typeof cls !== 'string' || !(SUPPORTED_SCHEDULERS as readonly string[]).includes(cls)) {
    throw new SonodiffError(
      'ERR_MODEL',
      `unsupported scheduler _class_name ${JSON.stringify(cls)}; supported: ${SUPPORTED_SCHEDULERS.join(', ')}`,
      { path: file },
    );
  }
  const cfg = new Cfg(config, file);
  switch (cls) {
    case 'DDPMScheduler':
    case 'DDIMScheduler':
      return ddimLike(cfg, cls, steps);
    case 'EulerDiscreteScheduler':
    case 'EulerAncestralDiscreteScheduler':
    case 'HeunDiscreteScheduler':
      return eulerLike(cfg, cls, steps);
    case 'DPMSolverMultistepScheduler':
    case 'UniPCMultistepScheduler':
      return multistep(cfg, cls, steps);
    case 'FlowMatchEulerDiscreteScheduler':
      return flowMatch(cfg, cls, steps, opts.mu);
    default:
      return edmEuler(cfg, cls, steps);
  }
}

/** Reads and plans a scheduler_config.json file. */
export function readDiffusersConfig(file: string, steps: number, opts: { mu?: number } = {}): DiffusersPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'ERR_INPUT_MISSING' : 'ERR_INPUT_UNREADABLE';
    throw new SonodiffError(code, 'cannot read scheduler config', { path: file, cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SonodiffError('ERR_MODEL', 'scheduler config is not valid JSON', { path: file, cause: err });
  }
  return planFromDiffusersConfig(parsed as DiffusersConfig, steps, { ...opts, file });
}
