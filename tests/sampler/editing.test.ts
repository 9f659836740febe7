import { describe, expect, it } from 'vitest';
import { isSonodiffError } from '../../src/errors.ts';
import {
  batchNoise,
  continuation,
  type Denoiser,
  karrasSigmas,
  levelsFromSigmas,
  loopSeamRatio,
  type SamplerEvent,
  sample,
  strengthLevels,
  type TimeInput,
  timeFrequencyMask,
  timeMask,
} from '../../src/sampler/index.ts';
import { gaussianDenoiser } from './gaussian.ts';

const levels10 = levelsFromSigmas('ve', [...karrasSigmas(10, 0.01, 40), 0]);

describe('init + strength (diffusers img2img semantics)', () => {
  it('runs the last floor(steps·strength) steps, starting from α·init + σ·ε at that level', async () => {
    expect(strengthLevels(levels10, 0.6)).toEqual(levels10.slice(4)); // 10 − floor(6) = 4
    expect(strengthLevels(levels10, 1)).toEqual(levels10);
    expect(() => strengthLevels(levels10, 0.05)).toThrow(/no step/);
    const init = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i / 5));
    const seen: Array<{ x: Float32Array; t: TimeInput }> = [];
    const inner = gaussianDenoiser('epsilon');
    const den: Denoiser = async (x, t, c) => {
      seen.push({ x: Float32Array.from(x), t });
      return inner(x, t, c);
    };
    const r = await sample({
      denoiser: den,
      shape: [1, 1, 256],
      levels: levels10,
      sampler: 'euler',
      prediction: 'epsilon',
      seed: 4,
      init: { x: init, strength: 0.6 },
    });
    expect(r.modelCalls).toBe(6);
    expect(seen[0].t.sigma).toBe(levels10[4].sigma);
    const z = batchNoise({ seed: 4 }, 1, 256, 0);
    // σ-space: the init keeps weight 1 and receives exactly σ_start of noise (not σ_max = 40).
    for (let i = 0; i < 256; i += 17) expect(seen[0].x[i]).toBeCloseTo(init[i] + levels10[4].sigma * z[i], 4);
    let resid = 0;
    for (let i = 0; i < 256; i++) resid += (seen[0].x[i] - init[i]) ** 2;
    expect(Math.sqrt(resid / 256) / levels10[4].sigma).toBeGreaterThan(0.85);
    expect(Math.sqrt(resid / 256) / levels10[4].sigma).toBeLessThan(1.15);
    expect(levels10[4].sigma).toBeLessThan(levels10[0].sigma / 10);
  });

  it('lower strength keeps the result closer to the init', async () => {
    const init = Float32Array.from({ length: 512 }, (_, i) => 0.3 + 0.4 * Math.sin(i / 7));
    const dist = async (strength: number) => {
      const r = await sample({
        denoiser: gaussianDenoiser('epsilon'),
        shape: [1, 1, 512],
        levels: levels10,
        sampler: 'euler',
        prediction: 'epsilon',
        seed: 8,
        init: { x: init, strength },
      });
      let d = 0;
      for (let i = 0; i < 512; i++) d += (r.x[i] - init[i]) ** 2;
      return Math.sqrt(d / 512);
    };
    const [a, b, c] = [await dist(0.3), await dist(0.6), await dist(1)];
    expect(a).toBeLessThan(b);
    expect(b).toBeLessThan(c);
  });
});

describe('inpainting, outpainting and continuation', () => {
  it('keeps known content exactly where the time mask is 0 and regenerates inside', async () => {
    const shape = [2, 1, 128];
    const known = Float32Array.from({ length: 128 }, (_, i) => Math.cos(i / 9));
    const mask = timeMask(shape, 40, 80);
    const r = await sample({
      denoiser: gaussianDenoiser('v_prediction'),
      shape,
      levels: levels10,
      sampler: 'dpmpp_2m',
      prediction: 'v_prediction',
      seed: 1,
      inpaint: { known, mask },
    });
    for (let b = 0; b < 2; b++) {
      for (let i = 0; i < 128; i++) {
        const v = r.x[b * 128 + i];
        if (i < 40 || i >= 80) expect(v).toBeCloseTo(known[i], 5);
      }
      let diff = 0;
      for (let i = 40; i < 80; i++) diff += Math.abs(r.x[b * 128 + i] - known[i]);
      expect(diff / 40).toBeGreaterThan(0.1);
    }
  });

  it('a time × frequency box regenerates only that box of a [B, C, F, T] state', async () => {
    const shape = [1, 2, 8, 32];
    const mask = timeFrequencyMask(shape, { timeStart: 8, timeEnd: 24, freqStart: 2, freqEnd: 5 });
    let ones = 0;
    for (const v of mask) ones += v;
    expect(ones).toBe(2 * 3 * 16);
    const known = Float32Array.from({ length: 512 }, (_, i) => (i % 13) / 13);
    const r = await sample({
      denoiser: gaussianDenoiser('epsilon'),
      shape,
      levels: levels10,
      sampler: 'unipc',
      prediction: 'epsilon',
      seed: 2,
      inpaint: { known, mask },
    });
    let changed = 0;
    for (let i = 0; i < 512; i++) {
      if (mask[i] === 0) expect(r.x[i]).toBeCloseTo(known[i], 5);
      else if (Math.abs(r.x[i] - known[i]) > 1e-3) changed++;
    }
    expect(changed).toBeGreaterThan(90);
  });

  it('continuation keeps the context window and generates the rest', async () => {
    const shape = [1, 1, 96];
    const ctx = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i / 4));
    const { known, mask } = continuation(ctx, 32, shape);
    expect(mask[31]).toBe(0);
    expect(mask[32]).toBe(1);
    const r = await sample({
      denoiser: gaussianDenoiser('epsilon'),
      shape,
      levels: levels10,
      sampler: 'heun',
      prediction: 'epsilon',
      seed: 3,
      inpaint: { known, mask },
    });
    for (let i = 0; i < 32; i++) expect(r.x[i]).toBeCloseTo(ctx[i], 5);
    expect(r.x.subarray(32).some((v) => Math.abs(v) > 0.05)).toBe(true);
  });
});

describe('seamless loops', () => {
  // A smoothing denoiser that is blind to wrap-around: Gaussian blur with zero padding at the ends.
  const W = 6;
  const kern = Array.from({ length: 6 * W + 1 }, (_, k) => Math.exp(-0.5 * ((k - 3 * W) / W) ** 2));
  const ks = kern.reduce((a, b) => a + b, 0);
  const smooth: Denoiser = async (x, t) => {
    const len = t.shape[t.shape.length - 1];
    const out = new Float32Array(x.length);
    const k = t.alpha / (t.alpha * t.alpha + t.sigma * t.sigma);
    for (let r = 0; r < x.length / len; r++) {
      for (let i = 0; i < len; i++) {
        let s = 0;
        for (let j = -3 * W; j <= 3 * W; j++)
          if (i + j >= 0 && i + j < len) s += kern[j + 3 * W] * x[r * len + i + j];
        out[r * len + i] = (k * s) / ks;
      }
    }
    return out;
  };
  const levels = levelsFromSigmas('ve', [...karrasSigmas(30, 0.01, 40), 0]);
  const seam = async (loop: Parameters<typeof sample>[0]['loop'], seed: number) => {
    const r = await sample({
      denoiser: smooth,
      shape: [2, 1, 256],
      levels,
      sampler: 'euler',
      prediction: 'sample',
      seed,
      loop,
    });
    return loopSeamRatio(r.x, 256);
  };

  it('without loop handling the end does not join the start (seam ≫ interior steps)', async () => {
    for (const seed of [1, 2, 3]) expect(await seam(undefined, seed)).toBeGreaterThan(5);
  });
  it("'shift' and 'pad' modes make the seam no larger than a typical interior step ×2", async () => {
    for (const seed of [1, 2, 3]) {
      expect(await seam({ mode: 'shift' }, seed)).toBeLessThan(2);
      expect(await seam({ mode: 'pad', padFrames: 32 }, seed)).toBeLessThan(2);
    }
  });
});

describe('classifier-free guidance', () => {
  // 'sample' model whose output is the condition value everywhere, so x0 = u + w(c − u) exactly.
  const calls: Array<{ shape: readonly number[]; cond: readonly number[] }> = [];
  const condModel: Denoiser<number> = async (x, t, cond) => {
    calls.push({ shape: t.shape, cond });
    const item = x.length / t.shape[0];
    const out = new Float32Array(x.length);
    for (let b = 0; b < t.shape[0]; b++) out.fill(cond[b], b * item, (b + 1) * item);
    return out;
  };

  it('batches cond and uncond into one call of batch 2B and combines u + w(c − u)', async () => {
    calls.length = 0;
    const r = await sample({
      denoiser: condModel,
      shape: [2, 1, 16],
      levels: levels10,
      sampler: 'euler',
      prediction: 'sample',
      seed: 1,
      cond: [1, 2],
      guidance: { scale: 3, uncond: [0.5] },
    });
    expect(calls.length).toBe(10);
    for (const c of calls) {
      expect(c.shape).toEqual([4, 1, 16]);
      expect(c.cond).toEqual([1, 2, 0.5, 0.5]);
    }
    expect(r.x[0]).toBeCloseTo(0.5 + 3 * (1 - 0.5), 5);
    expect(r.x[16]).toBeCloseTo(0.5 + 3 * (2 - 0.5), 5);
  });

  it('guidance interval: outside [lo, hi] only the conditional batch runs', async () => {
    calls.length = 0;
    await sample({
      denoiser: condModel,
      shape: [1, 1, 8],
      levels: levels10,
      sampler: 'euler',
      prediction: 'sample',
      seed: 1,
      cond: [1],
      guidance: { scale: 2, uncond: [0], interval: [0.5, 10] },
    });
    for (let i = 0; i < calls.length; i++) {
      const s = levels10[i].sigma;
      expect(calls[i].shape[0]).toBe(s >= 0.5 && s <= 10 ? 2 : 1);
    }
    expect(calls.some((c) => c.shape[0] === 1) && calls.some((c) => c.shape[0] === 2)).toBe(true);
  });

  it('guidance rescale φ = 1 restores the conditional std per item (Lin et al. 2024)', async () => {
    // cond outputs have std 1 (±1 pattern), uncond 0: guided = w·c has std w; rescaled back to 1.
    const pattern: Denoiser<number> = async (x, t, cond) => {
      const out = new Float32Array(x.length);
      const item = x.length / t.shape[0];
      for (let b = 0; b < t.shape[0]; b++)
        for (let i = 0; i < item; i++) out[b * item + i] = cond[b] * (i % 2 ? 1 : -1);
      return out;
    };
    const run = (rescale: number) =>
      sample({
        denoiser: pattern,
        shape: [1, 1, 64],
        levels: levels10,
        sampler: 'euler',
        prediction: 'sample',
        seed: 1,
        cond: [1],
        guidance: { scale: 4, uncond: [0], rescale },
      });
    const plain = await run(0);
    const resc = await run(1);
    expect(Math.abs(plain.x[1])).toBeCloseTo(4, 5);
    expect(Math.abs(resc.x[1])).toBeCloseTo(1, 3);
    const half = await run(0.5);
    expect(Math.abs(half.x[1])).toBeCloseTo(2.5, 3);
  });
});

describe('events and cancellation', () => {
  it('emits start, one step event per step with t and σ, previews on request, then done', async () => {
    const events: SamplerEvent[] = [];
    const levels = levelsFromSigmas('vp', [...karrasSigmas(6, 0.02, 30), 0], { timeOf: (s) => 100 * s });
    const r = await sample({
      denoiser: gaussianDenoiser('epsilon'),
      shape: [1, 1, 32],
      levels,
      sampler: 'heun',
      prediction: 'epsilon',
      seed: 1,
      onEvent: (e) => events.push(e),
      preview: 2,
    });
    expect(events[0]).toMatchObject({ type: 'start', steps: 6, modelCalls: 11 });
    const steps = events.filter((e) => e.type === 'step');
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6]);
    steps.forEach((e, i) => {
      expect(e.sigma).toBe(levels[i].sigma);
      expect(e.t).toBeCloseTo(100 * (levels[i].sigma / levels[i].alpha), 9);
      expect(e.x0Preview !== undefined).toBe(e.step % 2 === 0);
    });
    const done = events[events.length - 1];
    expect(done).toMatchObject({ type: 'done', steps: 6, modelCalls: 11 });
    expect(r.modelCalls).toBe(11);
  });

  it('an AbortSignal stops sampling between model calls with ERR_ABORTED', async () => {
    const ac = new AbortController();
    let calls = 0;
    const inner = gaussianDenoiser('epsilon');
    const den: Denoiser = async (x, t, c) => {
      calls++;
      return inner(x, t, c);
    };
    const run = sample({
      denoiser: den,
      shape: [1, 1, 16],
      levels: levels10,
      sampler: 'dpmpp_2m',
      prediction: 'epsilon',
      seed: 1,
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'step' && e.step === 3) ac.abort();
      },
    });
    await expect(run).rejects.toSatisfy((e: unknown) => isSonodiffError(e) && e.code === 'ERR_ABORTED');
    expect(calls).toBe(3);
    const pre = new AbortController();
    pre.abort();
    await expect(
      sample({
        denoiser: den,
        shape: [1, 1, 4],
        levels: levels10,
        sampler: 'euler',
        prediction: 'epsilon',
        seed: 1,
        signal: pre.signal,
      }),
    ).rejects.toThrow(/aborted/);
    expect(calls).toBe(3);
  });

  it('validates its arguments', async () => {
    const base = {
      denoiser: gaussianDenoiser('epsilon'),
      shape: [1, 1, 4],
      levels: levels10,
      prediction: 'epsilon' as const,
      seed: 1,
    };
    await expect(sample({ ...base, sampler: 'plms' as 'euler' })).rejects.toThrow(TypeError);
    await expect(sample({ ...base, sampler: 'euler', levels: levels10.slice(0, 1) })).rejects.toThrow(
      RangeError,
    );
    await expect(sample({ ...base, sampler: 'euler', shape: [1] })).rejects.toThrow(/shape/);
    await expect(
      sample({ ...base, sampler: 'euler', guidance: { scale: 2, uncond: [1, 2, 3] } }),
    ).rejects.toThrow(/uncond/);
    const bad: Denoiser = async () => new Float32Array(3);
    await expect(sample({ ...base, sampler: 'euler', denoiser: bad })).rejects.toSatisfy(
      (e: unknown) => isSonodiffError(e) && e.code === 'ERR_MODEL',
    );
  });
});
