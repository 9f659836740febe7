/** Noise levels for a pack: σ-space (EDM-family) packs use Karras σ; others go through diffusers' rules. */
import type { ModelManifest } from '../packs/index.ts';
import {
  karrasSigmas,
  levelsFromSigmas,
  type NoiseLevel,
  type Parameterisation,
  planFromDiffusersConfig,
  SAMPLER_NAMES,
  type SamplerName,
  type SamplerSettings,
} from '../sampler/index.ts';

export interface SamplingPlan {
  levels: NoiseLevel[];
  prediction: Parameterisation;
  sampler: SamplerName;
  initNoiseScale: number;
  sigmaData?: number;
  /** Sampler settings the pack asks for (defaults.clipX0). */
  settings: SamplerSettings;
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

export function planSampling(m: ModelManifest, steps: number, samplerName?: string): SamplingPlan {
  if (!Number.isInteger(steps) || steps < 1 || steps > 1000) {
    throw new RangeError(`steps must be an integer from 1 to 1000, got ${steps}`);
  }
  const sampler = (samplerName ?? m.defaults.sampler) as SamplerName;
  if (!SAMPLER_NAMES.includes(sampler)) {
    throw new RangeError(`sampler must be one of ${SAMPLER_NAMES.join(', ')}, got ${String(samplerName)}`);
  }
  const settings: SamplerSettings = m.defaults.clipX0 !== undefined ? { clipX0: m.defaults.clipX0 } : {};
  const cls = String(m.scheduler['_class_name'] ?? '');
  if (m.io.timestepKind === 'sigma' || cls.startsWith('EDM')) {
    // The exported graph already applies EDM preconditioning: it takes σ and returns x0.
    const sigmaMin = num(m.scheduler['sigma_min'], 0.002);
    const sigmaMax = num(m.scheduler['sigma_max'], 80);
    const rho = num(m.scheduler['rho'], 7);
    const sigmas = [...karrasSigmas(steps, sigmaMin, sigmaMax, rho), 0];
    const levels = levelsFromSigmas('ve', sigmas);
    return { levels, prediction: m.prediction, sampler, initNoiseScale: sigmaMax, settings };
  }
  const plan = planFromDiffusersConfig(
    { _class_name: 'DDIMScheduler', ...m.scheduler, prediction_type: m.prediction },
    steps,
  );
  return {
    levels: plan.levels,
    prediction: plan.prediction,
    sampler,
    initNoiseScale: plan.initNoiseScale,
    settings,
    ...(plan.sigmaData !== undefined ? { sigmaData: plan.sigmaData } : {}),
  };
}
