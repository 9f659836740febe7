/**
 * UniPC (Zhao et al. 2023) with data prediction and B(h) = e^{−h}... as diffusers
 * UniPCMultistepScheduler (predict_x0 = true): bh2 uses B(h) = expm1(−h), bh1 uses B(h) = −h.
 * Each step first corrects the state just reached (UniC, reusing this step's model output), then
 * predicts the next (UniP). With hh = −h, φ_1 = expm1(hh), for k = 1..p:
 *   R_k = (r_1^{k−1}, …, r_{p−1}^{k−1}, 1), b_k = k!·φ_{k+1}(hh)/B(h), φ_{k+1} = φ_k/hh − 1/(k+1)!
 * Predictor order 2 uses ρ = ½; corrector order 1 uses ρ = ½; otherwise ρ solves R ρ = b.
 */
import type { NoiseLevel } from '../types.ts';
import type { SamplerFn } from './common.ts';

function lambda(l: NoiseLevel): number {
  return Math.log(l.alpha) - Math.log(l.sigma);
}

/** Solves a small dense system by Gaussian elimination with partial pivoting. */
export function solveSmall(m: number[][], rhs: number[]): number[] {
  const n = rhs.length;
  const a = m.map((row, i) => [...row.slice(0, n), rhs[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    for (let r = c + 1; r < n; r++) {
      const f = a[r][c] / a[c][c];
      for (let k = c; k <= n; k++) a[r][k] -= f * a[c][k];
    }
  }
  const out = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r][n];
    for (let k = r + 1; k < n; k++) s -= a[r][k] * out[k];
    out[r] = s / a[r][r];
  }
  return out;
}

interface BhTerms {
  hPhi1: number;
  bh: number;
  rows: number[][];
  b: number[];
}

function bhTerms(h: number, rks: number[], order: number, variant: 'bh1' | 'bh2'): BhTerms {
  const hh = -h;
  const hPhi1 = Math.expm1(hh);
  let hPhiK = hPhi1 / hh - 1;
  let fact = 1;
  const bh = variant === 'bh2' ? Math.expm1(hh) : hh;
  const rows: number[][] = [];
  const b: number[] = [];
  for (let k = 1; k <= order; k++) {
    rows.push(rks.map((r) => r ** (k - 1)));
    b.push((hPhiK * fact) / bh);
    fact *= k + 1;
    hPhiK = hPhiK / hh - 1 / fact;
  }
  return { hPhi1, bh, rows, b };
}

/** x ← ratio·base + w0·m0 + wm·m + Σ w_k·d_k, specialised so the hot loop has no inner arrays. */
function axpyHistory(
  x: Float32Array,
  ratio: number,
  base: Float32Array,
  w0: number,
  m0: Float32Array,
  wm: number,
  m: Float32Array,
  dks: Float32Array[],
  w: number[],
): void {
  const n = x.length;
  if (dks.length === 0) {
    for (let j = 0; j < n; j++) x[j] = ratio * base[j] + w0 * m0[j] + wm * m[j];
  } else if (dks.length === 1) {
    const d = dks[0];
    const a = w[0];
    for (let j = 0; j < n; j++) x[j] = ratio * base[j] + w0 * m0[j] + wm * m[j] + a * d[j];
  } else {
    const d = dks[0];
    const e = dks[1];
    const a = w[0];
    const c = w[1];
    for (let j = 0; j < n; j++) x[j] = ratio * base[j] + w0 * m0[j] + wm * m[j] + a * d[j] + c * e[j];
  }
}

export const unipc: SamplerFn = async (x, levels, rt) => {
  const maxOrder = rt.settings.order ?? 2;
  if (![1, 2, 3].includes(maxOrder)) throw new RangeError(`order must be 1, 2 or 3, got ${maxOrder}`);
  const variant = rt.settings.uniPcVariant ?? 'bh2';
  const lof = rt.settings.lowerOrderFinal ?? true;
  const disabled = new Set(rt.settings.disableCorrector ?? []);
  const steps = levels.length - 1;
  const n = x.length;
  const hist: Float32Array[] = []; // model outputs (x0̂), newest last; hist[k] at level lvIdx[k]
  const lvIdx: number[] = [];
  let lastSample: Float32Array | undefined;
  const lastBuf = new Float32Array(x.length);
  let lastOrder = 1;
  let warm = 0;
  for (let i = 0; i < steps; i++) {
    const m = await rt.predict(x, levels[i]);
    if (i > 0 && lastSample !== undefined && !disabled.has(i - 1)) {
      // UniC: re-solve the step (i−1 → i) from lastSample using this step's output m.
      const t = levels[i];
      const s0 = levels[i - 1];
      const m0 = hist[hist.length - 1];
      const h = lambda(t) - lambda(s0);
      const rks: number[] = [];
      const dks: Float32Array[] = [];
      for (let k = 1; k < lastOrder; k++) {
        const mi = hist[hist.length - 1 - k];
        const rk = (lambda(levels[lvIdx[lvIdx.length - 1 - k]]) - lambda(s0)) / h;
        rks.push(rk);
        dks.push(mi);
      }
      rks.push(1);
      const { hPhi1, bh, rows, b } = bhTerms(h, rks, lastOrder, variant);
      const rho = lastOrder === 1 ? [0.5] : solveSmall(rows, b);
      // x = ratio·x_prev − α(hφ1 + B·Σρ_k/r_k·(−1) + B·ρ_last·(−1))·m0 + α·B·(−Σ(ρ_k/r_k)·m_k − ρ_last·m)
      const ratio = t.sigma / s0.sigma;
      const w = dks.map((_, k) => (-t.alpha * bh * rho[k]) / rks[k]);
      const wm = -t.alpha * bh * rho[rho.length - 1];
      const w0 = -t.alpha * hPhi1 - w.reduce((acc, v) => acc + v, 0) - wm;
      axpyHistory(x, ratio, lastSample, w0, m0, wm, m, dks, w);
    }
    hist.push(m);
    lvIdx.push(i);
    if (hist.length > maxOrder) {
      hist.shift();
      lvIdx.shift();
    }
    let order = lof ? Math.min(maxOrder, steps - i) : maxOrder;
    order = Math.min(order, warm + 1);
    const b = levels[i + 1];
    if (b.sigma === 0) order = 1; // higher-order terms diverge as h → ∞
    lastBuf.set(x);
    lastSample = lastBuf;
    lastOrder = order;
    // UniP: predict level i+1.
    const s0 = levels[i];
    const h = lambda(b) - lambda(s0);
    if (b.sigma === 0) {
      for (let j = 0; j < n; j++) x[j] = b.alpha * m[j];
    } else {
      const rks: number[] = [];
      const dks: Float32Array[] = [];
      for (let k = 1; k < order; k++) {
        rks.push((lambda(levels[lvIdx[lvIdx.length - 1 - k]]) - lambda(s0)) / h);
        dks.push(hist[hist.length - 1 - k]);
      }
      rks.push(1);
      const { hPhi1, bh, rows, b: bv } = bhTerms(h, rks, order, variant);
      let rho: number[] = [];
      if (order === 2) rho = [0.5];
      else if (order > 2)
        rho = solveSmall(
          rows.slice(0, -1).map((r) => r.slice(0, -1)),
          bv.slice(0, -1),
        );
      const ratio = b.sigma / s0.sigma;
      const w = dks.map((_, k) => (-b.alpha * bh * rho[k]) / rks[k]);
      const w0 = -b.alpha * hPhi1 - w.reduce((acc, v) => acc + v, 0);
      axpyHistory(x, ratio, x, w0, m, 0, m, dks, w);
    }
    if (warm < maxOrder) warm++;
    rt.endStep(i, x, m);
  }
  return x;
};
