import { describe, expect, it } from 'vitest';
import {
  karrasSigmas,
  levelsFromSigmas,
  type SamplerName,
  type SamplerSettings,
  sample,
} from '../../src/sampler/index.ts';
import { gaussianDenoiser, MU, meanVar, S } from './gaussian.ts';

describe('stochastic samplers reproduce the data distribution', () => {
  // 16384 draws: standard error of the mean 0.5/128 ≈ 0.004, of the variance ≈ 0.25·√(2/16384) ≈ 0.0028.
  // Step counts are chosen so the O(1/steps) discretisation bias stays below that tolerance.
  const cases: Array<[SamplerName, 'vp' | 've', number, SamplerSettings]> = [
    ['ddpm', 'vp', 1000, {}],
    ['ddim', 've', 1000, { eta: 1 }],
    ['euler_ancestral', 'vp', 1000, {}],
    ['dpmpp_2m_sde', 'vp', 250, {}],
    ['dpmpp_3m_sde', 've', 250, {}],
  ];
  for (const [name, form, steps, settings] of cases) {
    it(`${name} (${form}, ${steps} steps): mean ${MU}, variance ${S * S}`, async () => {
      const levels = levelsFromSigmas(form, [...karrasSigmas(steps, 0.002, 80), 0]);
      const r = await sample({
        denoiser: gaussianDenoiser('epsilon'),
        shape: [1, 1, 16384],
        levels,
        sampler: name,
        prediction: 'epsilon',
        seed: 3,
        settings,
      });
      const { mean, variance } = meanVar(r.x);
      expect(Math.abs(mean - MU)).toBeLessThan(0.012);
      expect(Math.abs(variance - S * S)).toBeLessThan(0.01);
    });
  }

  it('DDPM equals DDIM with η = 1 (same posterior), and the ODE sampler is far from ancestral output', async () => {
    const levels = levelsFromSigmas('vp', [...karrasSigmas(30, 0.01, 50), 0]);
    const run = (sampler: SamplerName, settings: SamplerSettings) =>
      sample({
        denoiser: gaussianDenoiser('epsilon'),
        shape: [2, 1, 512],
        levels,
        sampler,
        prediction: 'epsilon',
        seed: 5,
        settings,
      });
    const a = await run('ddpm', {});
    const b = await run('ddim', { eta: 1 });
    const c = await run('ddim', { eta: 0 });
    let dab = 0;
    let dac = 0;
    for (let i = 0; i < a.x.length; i++) {
      dab = Math.max(dab, Math.abs(a.x[i] - b.x[i]));
      dac = Math.max(dac, Math.abs(a.x[i] - c.x[i]));
    }
    expect(dab).toBeLessThan(1e-5);
    expect(dac).toBeGreaterThan(0.1);
  });
});
