import { describe, expect, it } from 'vitest';
import {
  convertPrediction,
  fromX0,
  PARAMETERISATIONS,
  type Parameterisation,
  toX0,
} from '../../src/sampler/index.ts';

const N = 64;
const x0 = Float32Array.from({ length: N }, (_, i) => Math.sin(i * 0.7) * 0.8);
const eps = Float32Array.from({ length: N }, (_, i) => Math.cos(i * 1.3 + 0.2) * 1.1);

const levels = [
  { name: 'VP', alpha: 0.6, sigma: 0.8 },
  { name: 'VE/EDM', alpha: 1, sigma: 3.5, sigmaData: 0.5 },
  { name: 'flow', alpha: 0.3, sigma: 0.7 },
];

describe('parameterisations', () => {
  for (const lv of levels) {
    const x = Float32Array.from(x0, (v, i) => lv.alpha * v + lv.sigma * eps[i]);
    it(`${lv.name}: each kind's defining formula recovers x0 exactly`, () => {
      const r = Math.hypot(lv.alpha, lv.sigma);
      const outputs: Record<Parameterisation, (i: number) => number> = {
        epsilon: (i) => eps[i],
        // v = (α ε − σ x0)/r on the unit-variance-normalised process
        v_prediction: (i) => (lv.alpha * eps[i] - lv.sigma * x0[i]) / r,
        sample: (i) => x0[i],
        flow: (i) => eps[i] - x0[i],
        // F = (D − c_skip x̃)/c_out with D = x0
        edm: (i) => {
          const s = lv.sigma / lv.alpha;
          const sd = lv.sigmaData ?? 0.5;
          const cSkip = (sd * sd) / (s * s + sd * sd);
          const cOut = (s * sd) / Math.sqrt(s * s + sd * sd);
          return (x0[i] - cSkip * (x[i] / lv.alpha)) / cOut;
        },
      };
      for (const kind of PARAMETERISATIONS) {
        const out = Float32Array.from({ length: N }, (_, i) => outputs[kind](i));
        const got = toX0(kind, out, x, lv);
        for (let i = 0; i < N; i++) expect(got[i]).toBeCloseTo(x0[i], 5);
        const back = fromX0(kind, x0, x, lv);
        for (let i = 0; i < N; i++) expect(back[i]).toBeCloseTo(out[i], 4);
      }
    });
    it(`${lv.name}: every pair converts both ways without loss`, () => {
      for (const from of PARAMETERISATIONS) {
        const out = fromX0(from, x0, x, lv);
        for (const to of PARAMETERISATIONS) {
          const there = convertPrediction(from, to, out, x, lv);
          const back = convertPrediction(to, from, there, x, lv);
          for (let i = 0; i < N; i += 7) expect(back[i]).toBeCloseTo(out[i], 4);
        }
      }
    });
  }

  it('flow velocity equals dx/dt of x_t = (1 − t)x0 + tε, and v-prediction reduces to α ε − σ x0 for VP', () => {
    const t = 0.4;
    const dt = 1e-3;
    const lvA = { alpha: 1 - t, sigma: t };
    const xA = Float32Array.from(x0, (v, i) => (1 - t) * v + t * eps[i]);
    const v = fromX0('flow', x0, xA, lvA);
    for (let i = 0; i < N; i += 5) {
      const fd = ((1 - t - dt) * x0[i] + (t + dt) * eps[i] - xA[i]) / dt;
      expect(v[i]).toBeCloseTo(fd, 3);
    }
    const vp = { alpha: 0.8, sigma: 0.6 };
    const xv = Float32Array.from(x0, (a, i) => 0.8 * a + 0.6 * eps[i]);
    const vv = fromX0('v_prediction', x0, xv, vp);
    for (let i = 0; i < N; i += 5) expect(vv[i]).toBeCloseTo(0.8 * eps[i] - 0.6 * x0[i], 5);
  });

  it('rejects ε at α = 0 and unknown kinds', () => {
    const x = new Float32Array(4);
    expect(() => toX0('epsilon', x, x, { alpha: 0, sigma: 1 })).toThrow(RangeError);
    expect(() => toX0('nope' as Parameterisation, x, x, { alpha: 1, sigma: 1 })).toThrow(TypeError);
  });
});
