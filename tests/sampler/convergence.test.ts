import { describe, expect, it } from 'vitest';
import {
  batchNoise,
  karrasSigmas,
  levelsFromSigmas,
  type NoiseLevel,
  type Parameterisation,
  type SamplerName,
  type SamplerSettings,
  sample,
} from '../../src/sampler/index.ts';
import { exactOde, fitOrder, gaussianDenoiser } from './gaussian.ts';

const N_ELEM = 256;
const STEPS = [20, 40, 80, 160];

/** Plans ending at a small non-zero level, so every step is a genuine ODE step. */
function plan(form: 'vp' | 've' | 'flow', n: number): NoiseLevel[] {
  if (form === 'flow') {
    const t = Array.from({ length: n }, (_, i) => 0.999 - (0.998 * i) / n);
    return levelsFromSigmas('flow', [...t, 0.001]);
  }
  return levelsFromSigmas(form, karrasSigmas(n + 1, 0.02, form === 'vp' ? 20 : 40));
}

async function odeError(
  name: SamplerName,
  form: 'vp' | 've' | 'flow',
  n: number,
  prediction: Parameterisation,
  settings: SamplerSettings = {},
): Promise<number> {
  const levels = plan(form, n);
  const r = await sample({
    denoiser: gaussianDenoiser(prediction),
    shape: [1, 1, N_ELEM],
    levels,
    sampler: name,
    prediction,
    seed: 11,
    settings,
  });
  // The run started from σ0·z with z = the seed's draw 0.
  const z = batchNoise({ seed: 11 }, 1, N_ELEM, 0);
  let err = 0;
  for (let i = 0; i < N_ELEM; i++) {
    const x0 = Math.fround(levels[0].sigma * z[i]);
    err = Math.max(err, Math.abs(r.x[i] - exactOde(x0, levels[0], levels[levels.length - 1])));
  }
  return err;
}

async function order(
  name: SamplerName,
  form: 'vp' | 've' | 'flow',
  prediction: Parameterisation,
  settings: SamplerSettings = {},
) {
  const errs: number[] = [];
  for (const n of STEPS) errs.push(await odeError(name, form, n, prediction, settings));
  return { p: fitOrder(STEPS, errs), errs };
}

describe('deterministic samplers converge to the exact probability-flow ODE solution', () => {
  // Prediction types rotate so each conversion is exercised inside a full sampling run.
  const cases: Array<
    [SamplerName, 'vp' | 've' | 'flow', Parameterisation, number, number, SamplerSettings?]
  > = [
    ['euler', 've', 'epsilon', 0.9, 1.1],
    ['euler', 'vp', 'v_prediction', 0.9, 1.1],
    ['ddim', 'vp', 'epsilon', 0.9, 1.1],
    ['flow_euler', 'flow', 'flow', 0.9, 1.1],
    ['heun', 've', 'edm', 1.85, 2.3],
    ['heun', 'vp', 'epsilon', 1.85, 2.3],
    ['heun', 'flow', 'flow', 1.85, 2.7],
    ['dpmpp_2m', 'vp', 'epsilon', 1.85, 2.3],
    ['dpmpp_2m', 've', 'sample', 1.85, 2.3],
    ['dpmpp_2m', 'flow', 'flow', 1.85, 2.3],
    ['dpmpp_2m', 'vp', 'v_prediction', 1.85, 2.3, { solverType: 'heun' }],
    // UniPC-2 adds the corrector's extra order: the theory (Zhao et al. 2023, Thm 3.3) gives p + 1 = 3.
    ['unipc', 'vp', 'epsilon', 1.85, 3.5],
    ['unipc', 'flow', 'flow', 1.85, 3.5],
    // 3M with η = 0 is DPM-Solver++(3M); its first-order warm-up step caps the global order at 2.
    ['dpmpp_3m_sde', 'vp', 'epsilon', 1.5, 3.5, { eta: 0 }],
  ];
  for (const [name, form, pred, lo, hi, settings] of cases) {
    it(`${name} (${form}, ${pred}${settings ? ` ${JSON.stringify(settings)}` : ''}) has order in [${lo}, ${hi}]`, async () => {
      const { p, errs } = await order(name, form, pred, settings);
      // Errors shrink monotonically and the finest run is accurate.
      for (let i = 1; i < errs.length; i++) expect(errs[i]).toBeLessThan(errs[i - 1]);
      expect(errs[errs.length - 1]).toBeLessThan(lo < 1.5 ? 0.03 : 2e-3);
      expect(p).toBeGreaterThan(lo);
      expect(p).toBeLessThan(hi);
    });
  }

  it('Euler, DDIM(η=0) and flow Euler take the same step (x0-form identity)', async () => {
    const a = await odeError('euler', 'vp', 20, 'epsilon');
    const b = await odeError('ddim', 'vp', 20, 'epsilon');
    const c = await odeError('flow_euler', 'vp', 20, 'epsilon');
    expect(Math.abs(a - b)).toBeLessThan(1e-5);
    expect(Math.abs(a - c)).toBeLessThan(1e-5);
  });
});
