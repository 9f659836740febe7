/**
 * Expected values are derived from the formulas in diffusers' scheduler sources
 * (scheduling_ddim.py / scheduling_euler_discrete.py / scheduling_dpmsolver_multistep.py /
 * scheduling_flow_match_euler_discrete.py / scheduling_edm_euler.py, `set_timesteps` and `__init__`)
 * and k-diffusion's sampling.py; each test states the derivation next to the number.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSonodiffError } from '../../src/errors.ts';
import {
  alphasCumprod,
  betaSchedule,
  exponentialSigmas,
  flowShift,
  karrasSigmas,
  levelsFromSigmas,
  planFromDiffusersConfig,
  polyexponentialSigmas,
  readDiffusersConfig,
  rescaleZeroTerminalSnr,
  roundHalfEven,
  sigmaToT,
  spacedTimesteps,
  vpSigmas,
} from '../../src/sampler/index.ts';

const SD = {
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  beta_end: 0.012,
  num_train_timesteps: 1000,
};

describe('β schedules', () => {
  it('linear and scaled_linear follow linspace (in β and in √β)', () => {
    const lin = betaSchedule('linear', 1000, 0.0001, 0.02);
    expect(lin[0]).toBe(0.0001);
    expect(lin[999]).toBe(0.02);
    expect(lin[500]).toBeCloseTo(0.0001 + (500 * (0.02 - 0.0001)) / 999, 15);
    const sc = betaSchedule('scaled_linear', 1000, 0.00085, 0.012);
    const r = Math.sqrt(0.00085) + (250 / 999) * (Math.sqrt(0.012) - Math.sqrt(0.00085));
    expect(sc[250]).toBeCloseTo(r * r, 15);
  });

  it('squaredcos_cap_v2: β_i = min(1 − ᾱ((i+1)/N)/ᾱ(i/N), 0.999), ᾱ(t) = cos²((t+0.008)/1.008·π/2)', () => {
    const b = betaSchedule('squaredcos_cap_v2', 1000);
    const f = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    expect(b[0]).toBeCloseTo(1 - f(0.001) / f(0), 15);
    expect(b[999]).toBe(0.999); // ᾱ(1) = cos²(π/2) ≈ 0 so the cap applies
  });

  it('sigmoid: sigmoid(linspace(−6, 6, N))·(β1 − β0) + β0, symmetric about the middle', () => {
    const b = betaSchedule('sigmoid', 1001, 0.0001, 0.02);
    expect(b[500]).toBeCloseTo(0.0001 + 0.5 * (0.02 - 0.0001), 15);
    expect(b[0]).toBeCloseTo(0.0001 + (0.02 - 0.0001) / (1 + Math.exp(6)), 15);
  });

  it('zero-terminal-SNR rescale keeps ᾱ_0 and makes ᾱ_T = 0 (Lin et al. 2024, Alg. 1)', () => {
    const b = betaSchedule('scaled_linear', 1000, 0.00085, 0.012);
    const ac = alphasCumprod(b);
    const ac2 = alphasCumprod(rescaleZeroTerminalSnr(b));
    expect(ac2[0]).toBeCloseTo(ac[0], 12);
    expect(ac2[999]).toBeCloseTo(0, 20);
    // Middle: √ᾱ' = (√ᾱ − √ᾱ_T)·√ᾱ_0/(√ᾱ_0 − √ᾱ_T).
    const s = (i: number) => Math.sqrt(ac[i]);
    expect(Math.sqrt(ac2[400])).toBeCloseTo(((s(400) - s(999)) * s(0)) / (s(0) - s(999)), 12);
  });

  it('Stable Diffusion’s schedule gives σ_max ≈ 14.6146 and σ_min ≈ 0.0292 (values diffusers prints as init_noise_sigma/sigmas[-1])', () => {
    const sig = vpSigmas(alphasCumprod(betaSchedule('scaled_linear', 1000, 0.00085, 0.012)));
    expect(sig[999]).toBeCloseTo(14.6146, 3);
    expect(sig[0]).toBeCloseTo(Math.sqrt(0.00085 / (1 - 0.00085)), 12);
  });
});

describe('timestep spacing (numpy semantics, round half to even)', () => {
  it('leading with steps_offset = 1: SD’s 50-step DDIM grid 981, 961, …, 1', () => {
    const t = spacedTimesteps('leading', 1000, 50, 1);
    expect(t[0]).toBe(981);
    expect(t[49]).toBe(1);
    expect(t.every((v, i) => i === 0 || t[i - 1] - v === 20)).toBe(true);
  });
  it('linspace: round(linspace(0, 999, 10)) reversed; trailing: arange(1000, 0, −100) − 1', () => {
    expect(spacedTimesteps('linspace', 1000, 10)).toEqual([999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
    expect(spacedTimesteps('trailing', 1000, 10)).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    // trailing with 3 steps: round(1000 − i·333.33…) − 1 = 999, 666, 332
    expect(spacedTimesteps('trailing', 1000, 3)).toEqual([999, 666, 332]);
  });
  it('roundHalfEven matches numpy.round', () => {
    expect([0.5, 1.5, 2.5, 3.5, 499.5, 2.4999].map(roundHalfEven)).toEqual([0, 2, 2, 4, 500, 2]);
  });
});

describe('continuous σ schedules', () => {
  it('Karras: (σmax^{1/ρ} + r(σmin^{1/ρ} − σmax^{1/ρ}))^ρ', () => {
    const s = karrasSigmas(3, 0.002, 80, 7);
    expect(s[0]).toBeCloseTo(80, 10);
    expect(s[2]).toBeCloseTo(0.002, 12);
    expect(s[1]).toBeCloseTo(((80 ** (1 / 7) + 0.002 ** (1 / 7)) / 2) ** 7, 12);
  });
  it('exponential is geometric; polyexponential with ρ = 1 equals it', () => {
    const e = exponentialSigmas(5, 0.01, 100);
    expect(e[2]).toBeCloseTo(1, 12); // geometric mean of 0.01 and 100
    const p = polyexponentialSigmas(5, 0.01, 100, 1);
    for (let i = 0; i < 5; i++) expect(p[i]).toBeCloseTo(e[i], 12);
    // ρ = 2 bends towards σmin: at the middle, exp(0.25·ln(σmax/σmin) + ln σmin)
    expect(polyexponentialSigmas(3, 0.01, 100, 2)[1]).toBeCloseTo(
      Math.exp(0.25 * Math.log(1e4) + Math.log(0.01)),
      12,
    );
  });
  it('levels: VP has α² + σ² = 1 and σ/α = σ̃; flow has α = 1 − t; EDM has c_in = 1/√(σ² + σd²)', () => {
    const [vp] = levelsFromSigmas('vp', [3]);
    expect(vp.alpha ** 2 + vp.sigma ** 2).toBeCloseTo(1, 14);
    expect(vp.sigma / vp.alpha).toBeCloseTo(3, 14);
    const [fl] = levelsFromSigmas('flow', [0.25]);
    expect(fl).toMatchObject({ alpha: 0.75, sigma: 0.25, t: 250 });
    const [ed] = levelsFromSigmas('edm', [2], { sigmaData: 0.5 });
    expect(ed.cIn).toBeCloseTo(1 / Math.sqrt(4.25), 14);
    expect(ed.t).toBeCloseTo(Math.log(2) / 4, 14);
  });
  it('sigmaToT inverts the training σ table at integer timesteps and interpolates in log σ', () => {
    const sig = vpSigmas(alphasCumprod(betaSchedule('linear', 1000)));
    const ls = sig.map(Math.log);
    for (const t of [0, 1, 250, 998, 999]) expect(sigmaToT(sig[t], ls)).toBeCloseTo(t, 8);
    expect(sigmaToT(Math.exp((ls[10] + ls[11]) / 2), ls)).toBeCloseTo(10.5, 8);
  });
});

describe('diffusers scheduler_config.json → plan', () => {
  it('DDIMScheduler (SD config): leading + offset, ᾱ at each t, final ᾱ = 1 (set_alpha_to_one), clip_sample honoured', () => {
    const p = planFromDiffusersConfig(
      { _class_name: 'DDIMScheduler', ...SD, steps_offset: 1, clip_sample: false },
      50,
    );
    expect(p.sampler).toBe('ddim');
    expect(p.timesteps.slice(0, 3)).toEqual([981, 961, 941]);
    const ac = alphasCumprod(betaSchedule('scaled_linear', 1000, 0.00085, 0.012));
    expect(p.levels[0].alpha).toBeCloseTo(Math.sqrt(ac[981]), 12);
    expect(p.levels[50]).toMatchObject({ alpha: 1, sigma: 0 });
    expect(p.settings.clipX0).toBeUndefined();
    expect(planFromDiffusersConfig({ _class_name: 'DDIMScheduler' }, 10).settings.clipX0).toBe(1); // default clip_sample = true
  });

  it('DPMSolverMultistepScheduler defaults: linspace over steps + 1 with the last dropped', () => {
    const p = planFromDiffusersConfig({ _class_name: 'DPMSolverMultistepScheduler', ...SD }, 10);
    // round(linspace(0, 999, 11))[::-1][:-1]; 499.5 rounds to even 500
    expect(p.timesteps).toEqual([999, 899, 799, 699, 599, 500, 400, 300, 200, 100]);
    expect(p.sampler).toBe('dpmpp_2m');
    expect(p.settings).toMatchObject({ order: 2, lowerOrderFinal: true, solverType: 'midpoint' });
    expect(p.sigmas[0]).toBeCloseTo(14.6146, 3);
    expect(p.sigmas[10]).toBe(0); // final_sigmas_type = "zero"
    const sde = planFromDiffusersConfig(
      { _class_name: 'DPMSolverMultistepScheduler', algorithm_type: 'sde-dpmsolver++' },
      10,
    );
    expect(sde.sampler).toBe('dpmpp_2m_sde');
  });

  it('DPMSolverMultistep with Karras: σ from the full training range, timesteps = round(sigma_to_t)', () => {
    const p = planFromDiffusersConfig(
      { _class_name: 'DPMSolverMultistepScheduler', ...SD, use_karras_sigmas: true },
      20,
    );
    const sig = vpSigmas(alphasCumprod(betaSchedule('scaled_linear', 1000, 0.00085, 0.012)));
    expect(p.sigmas[0]).toBeCloseTo(Math.fround(sig[999]), 4);
    expect(p.sigmas[19]).toBeCloseTo(Math.fround(sig[0]), 6);
    expect(p.timesteps[0]).toBe(999);
    expect(p.timesteps[19]).toBe(0);
  });

  it('EulerDiscreteScheduler: fractional linspace timesteps, σ interpolated, init_noise_sigma = σmax', () => {
    const p = planFromDiffusersConfig({ _class_name: 'EulerDiscreteScheduler', ...SD }, 4);
    expect(p.timesteps).toEqual([999, 666, 333, 0]);
    const sig = vpSigmas(alphasCumprod(betaSchedule('scaled_linear', 1000, 0.00085, 0.012)));
    expect(p.sigmas[1]).toBeCloseTo(sig[666], 5);
    expect(p.sigmas[4]).toBe(0);
    // init_noise_sigma σmax in VE units = σ_native = σmax/√(σmax²+1) here.
    expect(p.initNoiseScale).toBeCloseTo(p.levels[0].sigma, 6);
    const lead = planFromDiffusersConfig(
      { _class_name: 'EulerDiscreteScheduler', ...SD, timestep_spacing: 'leading', steps_offset: 1 },
      4,
    );
    expect(lead.timesteps).toEqual([751, 501, 251, 1]);
    expect(lead.initNoiseScale).toBeCloseTo(1, 6); // √(σmax² + 1)·α = 1
  });

  it('UniPC and Heun map to their samplers with the diffusers defaults', () => {
    const u = planFromDiffusersConfig({ _class_name: 'UniPCMultistepScheduler' }, 8);
    expect(u.sampler).toBe('unipc');
    expect(u.settings).toMatchObject({ order: 2, uniPcVariant: 'bh2', lowerOrderFinal: true });
    const h = planFromDiffusersConfig({ _class_name: 'HeunDiscreteScheduler', use_karras_sigmas: true }, 8);
    expect(h.sampler).toBe('heun');
    expect(h.sigmas.length).toBe(9);
    expect(h.sigmas[1] / h.sigmas[0]).toBeLessThan(1);
  });

  it('FlowMatchEulerDiscreteScheduler with shift 3: σ_max = 1, σ_min = shift(shift(1/N)), then shifted again', () => {
    const p = planFromDiffusersConfig({ _class_name: 'FlowMatchEulerDiscreteScheduler', shift: 3 }, 4);
    const smin = Math.fround(flowShift(Math.fround(1 / 1000), 3));
    const raw = [1, 1 + (smin - 1) / 3, 1 + (2 * (smin - 1)) / 3, smin];
    for (let i = 0; i < 4; i++) expect(p.sigmas[i]).toBeCloseTo(flowShift(raw[i], 3), 6);
    expect(p.sigmas[4]).toBe(0);
    expect(p.timesteps[0]).toBeCloseTo(1000, 3);
    expect(p.levels[0]).toMatchObject({ alpha: 0, sigma: 1 });
    expect(p.sampler).toBe('flow_euler');
  });

  it('EDMEulerScheduler: Karras σ(0.002, 80, ρ = 7), c_noise = ln σ / 4, c_in, edm parameterisation', () => {
    const p = planFromDiffusersConfig({ _class_name: 'EDMEulerScheduler' }, 5);
    expect(p.sigmas[0]).toBeCloseTo(80, 4);
    expect(p.timesteps[0]).toBeCloseTo(Math.log(80) / 4, 6);
    expect(p.levels[0].cIn).toBeCloseTo(1 / Math.sqrt(6400.25), 8);
    expect(p.prediction).toBe('edm');
  });

  it('rejects unknown classes, unsupported options and unreadable files with SonodiffError', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isSonodiffError(e) ? e.code : 'other';
      }
      return 'none';
    };
    expect(code(() => planFromDiffusersConfig({ _class_name: 'LMSDiscreteScheduler' }, 10))).toBe(
      'ERR_MODEL',
    );
    expect(
      code(() => planFromDiffusersConfig({ _class_name: 'DDIMScheduler', thresholding: true }, 10)),
    ).toBe('ERR_MODEL');
    expect(
      code(() => planFromDiffusersConfig({ _class_name: 'DDIMScheduler', timestep_spacing: 'odd' }, 10)),
    ).toBe('ERR_MODEL');
    expect(code(() => readDiffusersConfig('/nonexistent/scheduler_config.json', 10))).toBe(
      'ERR_INPUT_MISSING',
    );
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-sched-'));
    const f = path.join(dir, 'scheduler_config.json');
    writeFileSync(f, '{ not json');
    expect(code(() => readDiffusersConfig(f, 10))).toBe('ERR_MODEL');
    writeFileSync(f, JSON.stringify({ _class_name: 'EulerDiscreteScheduler', ...SD }));
    expect(readDiffusersConfig(f, 4).timesteps).toEqual([999, 666, 333, 0]);
    expect(() => planFromDiffusersConfig({ _class_name: 'DDIMScheduler' }, 0)).toThrow(RangeError);
  });
});
