/**
 * Complex and real FFTs of any length, in double precision.
 * Powers of two use an iterative radix-2 transform; other lengths use Bluestein's chirp-z
 * algorithm over a power-of-two transform, so every size is O(n log n).
 * Real transforms of even length run as a complex transform of half the length.
 * Plans (twiddles, bit reversal) are cached per size: build once, reuse for every frame.
 */

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

class Radix2 {
  readonly n: number;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly rev: Uint32Array;

  constructor(n: number) {
    this.n = n;
    const half = n >> 1;
    this.cos = new Float64Array(half);
    this.sin = new Float64Array(half);
    for (let i = 0; i < half; i++) {
      const a = (-2 * Math.PI * i) / n;
      this.cos[i] = Math.cos(a);
      this.sin[i] = Math.sin(a);
    }
    this.rev = new Uint32Array(n);
    let bits = 0;
    while (1 << bits < n) bits++;
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
  }

  /** In-place forward transform (e^{-i...}); `inverse` flips the sign without scaling. */
  run(re: Float64Array, im: Float64Array, inverse: boolean): void {
    const n = this.n;
    const rev = this.rev;
    for (let i = 0; i < n; i++) {
      const j = rev[i]!;
      if (j > i) {
        let t = re[i]!;
        re[i] = re[j]!;
        re[j] = t;
        t = im[i]!;
        im[i] = im[j]!;
        im[j] = t;
      }
    }
    let bits = 0;
    while (1 << bits < n) bits++;
    let h = 1;
    if (bits % 2 === 1) {
      // An odd number of stages: one plain size-2 stage (twiddle 1, no multiplications) first.
      for (let a = 0; a + 1 < n; a += 2) {
        const br = re[a + 1]!;
        const bi = im[a + 1]!;
        re[a + 1] = re[a]! - br;
        im[a + 1] = im[a]! - bi;
        re[a] = re[a]! + br;
        im[a] = im[a]! + bi;
      }
      h = 2;
    }
    // Then the radix-2 stages two at a time (sizes 2h and 4h in one pass over memory), which
    // halves the loads and stores. W_{4h}^{k+h} = W_{4h}^k · (∓i), so one twiddle serves both.
    const sign = inverse ? -1 : 1;
    const cos = this.cos;
    const sin = this.sin;
    for (; 4 * h <= n; h *= 4) {
      const size = 4 * h;
      const step1 = n / (2 * h);
      const step2 = n / size;
      const kOuter = h < 16;
      const groups = kOuter ? h : n / size;
      const inner = kOuter ? n / size : h;
      for (let g = 0; g < groups; g++) {
        for (let q = 0; q < inner; q++) {
          const k = kOuter ? g : q;
          const a0 = kOuter ? q * size + k : g * size + k;
          const a1 = a0 + h;
          const a2 = a1 + h;
          const a3 = a2 + h;
          const w1r = cos[k * step1]!;
          const w1i = sign * sin[k * step1]!;
          const w2r = cos[k * step2]!;
          const w2i = sign * sin[k * step2]!;
          const w3r = sign * w2i;
          const w3i = -sign * w2r;
          // Stage of size 2h: (a0, a1) and (a2, a3) with twiddle w1.
          let xr = re[a1]! * w1r - im[a1]! * w1i;
          let xi = re[a1]! * w1i + im[a1]! * w1r;
          const b0r = re[a0]! + xr;
          const b0i = im[a0]! + xi;
          const b1r = re[a0]! - xr;
          const b1i = im[a0]! - xi;
          xr = re[a3]! * w1r - im[a3]! * w1i;
          xi = re[a3]! * w1i + im[a3]! * w1r;
          const b2r = re[a2]! + xr;
          const b2i = im[a2]! + xi;
          const b3r = re[a2]! - xr;
          const b3i = im[a2]! - xi;
          // Stage of size 4h: (a0, a2) with w2 and (a1, a3) with w3.
          xr = b2r * w2r - b2i * w2i;
          xi = b2r * w2i + b2i * w2r;
          re[a0] = b0r + xr;
          im[a0] = b0i + xi;
          re[a2] = b0r - xr;
          im[a2] = b0i - xi;
          xr = b3r * w3r - b3i * w3i;
          xi = b3r * w3i + b3i * w3r;
          re[a1] = b1r + xr;
          im[a1] = b1i + xi;
          re[a3] = b1r - xr;
          im[a3] = b1i - xi;
        }
      }
    }
  }
}

class Bluestein {
  readonly n: number;
  private readonly m: number;
  private readonly inner: Radix2;
  private readonly chirpRe: Float64Array;
  private readonly chirpIm: Float64Array;
  /** FFT of the conjugate chirp filter, precomputed. */
  private readonly filtRe: Float64Array;
  private readonly filtIm: Float64Array;
  private readonly bufRe: Float64Array;
  private readonly bufIm: Float64Array;

  constructor(n: number) {
    this.n = n;
    let m = 1;
    while (m < 2 * n - 1) m <<= 1;
    this.m = m;
    this.inner = new Radix2(m);
    this.chirpRe = new Float64Array(n);
    this.chirpIm = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      // k^2 mod 2n keeps the angle small so large n stays accurate.
      const k2 = (k * k) % (2 * n);
      const a = (Math.PI * k2) / n;
      this.chirpRe[k] = Math.cos(a);
      this.chirpIm[k] = -Math.sin(a);
    }
    this.filtRe = new Float64Array(m);
    this.filtIm = new Float64Array(m);
    this.filtRe[0] = this.chirpRe[0]!;
    this.filtIm[0] = -this.chirpIm[0]!;
    for (let k = 1; k < n; k++) {
      this.filtRe[k] = this.filtRe[m - k] = this.chirpRe[k]!;
      this.filtIm[k] = this.filtIm[m - k] = -this.chirpIm[k]!;
    }
    this.inner.run(this.filtRe, this.filtIm, false);
    this.bufRe = new Float64Array(m);
    this.bufIm = new Float64Array(m);
  }

  run(re: Float64Array, im: Float64Array, inverse: boolean): void {
    const { n, m, chirpRe, chirpIm, bufRe, bufIm, filtRe, filtIm } = this;
    const s = inverse ? -1 : 1;
    bufRe.fill(0);
    bufIm.fill(0);
    for (let k = 0; k < n; k++) {
      const cr = chirpRe[k]!;
      const ci = s * chirpIm[k]!;
      bufRe[k] = re[k]! * cr - im[k]! * ci;
      bufIm[k] = re[k]! * ci + im[k]! * cr;
    }
    this.inner.run(bufRe, bufIm, false);
    for (let k = 0; k < m; k++) {
      const fr = filtRe[k]!;
      const fi = s * filtIm[k]!;
      const r = bufRe[k]! * fr - bufIm[k]! * fi;
      bufIm[k] = bufRe[k]! * fi + bufIm[k]! * fr;
      bufRe[k] = r;
    }
    this.inner.run(bufRe, bufIm, true);
    const scale = 1 / m;
    for (let k = 0; k < n; k++) {
      const cr = chirpRe[k]!;
      const ci = s * chirpIm[k]!;
      const xr = bufRe[k]! * scale;
      const xi = bufIm[k]! * scale;
      re[k] = xr * cr - xi * ci;
      im[k] = xr * ci + xi * cr;
    }
  }
}

/**
 * Packs an even-length real transform into a complex one of half the length:
 * z[n] = x[2n] + i·x[2n+1], then splits Z into the even/odd spectra with one twiddle pass.
 * Halves the work of every real forward/inverse transform.
 */
class HalfComplexReal {
  private readonly m: number;
  private readonly inner: Radix2 | Bluestein | undefined;
  private readonly twRe: Float64Array;
  private readonly twIm: Float64Array;
  private readonly zRe: Float64Array;
  private readonly zIm: Float64Array;

  constructor(n: number) {
    const m = n >> 1;
    this.m = m;
    this.inner = m === 1 ? undefined : isPowerOfTwo(m) ? new Radix2(m) : new Bluestein(m);
    this.twRe = new Float64Array(m + 1);
    this.twIm = new Float64Array(m + 1);
    for (let k = 0; k <= m; k++) {
      const a = (-2 * Math.PI * k) / n;
      this.twRe[k] = Math.cos(a);
      this.twIm[k] = Math.sin(a);
    }
    this.zRe = new Float64Array(m);
    this.zIm = new Float64Array(m);
  }

  forward(input: ArrayLike<number>, outRe: Float64Array, outIm: Float64Array): void {
    const { m, zRe, zIm, twRe, twIm } = this;
    const len = input.length;
    if (len >= 2 * m) {
      for (let j = 0; j < m; j++) {
        zRe[j] = input[2 * j]!;
        zIm[j] = input[2 * j + 1]!;
      }
    } else {
      for (let j = 0; j < m; j++) {
        const e = 2 * j;
        zRe[j] = e < len ? input[e]! : 0;
        zIm[j] = e + 1 < len ? input[e + 1]! : 0;
      }
    }
    this.inner?.run(zRe, zIm, false);
    // DC and Nyquist: Xe[0] = Re z0, Xo[0] = Im z0 (both real).
    const z0r = zRe[0]!;
    const z0i = zIm[0]!;
    outRe[0] = z0r + z0i;
    outIm[0] = 0;
    outRe[m] = z0r - z0i;
    outIm[m] = 0;
    for (let k = 1; k < m; k++) {
      const ar = zRe[k]!;
      const ai = zIm[k]!;
      const br = zRe[m - k]!;
      const bi = -zIm[m - k]!; // conj(Z[m-k])
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai + bi);
      // Xo = (Z[k] - conj(Z[m-k])) / 2i
      const or = 0.5 * (ai - bi);
      const oi = -0.5 * (ar - br);
      const wr = twRe[k]!;
      const wi = twIm[k]!;
      outRe[k] = er + or * wr - oi * wi;
      outIm[k] = ei + or * wi + oi * wr;
    }
  }

  inverse(inRe: ArrayLike<number>, inIm: ArrayLike<number>, out: Float64Array | Float32Array): void {
    const { m, zRe, zIm, twRe, twIm } = this;
    // Imaginary parts of DC and Nyquist are ignored: a real signal has none.
    const x0 = inRe[0]!;
    const xm = inRe[m]!;
    zRe[0] = 0.5 * (x0 + xm);
    zIm[0] = 0.5 * (x0 - xm);
    for (let k = 1; k < m; k++) {
      const ar = inRe[k]!;
      const ai = inIm[k]!;
      const br = inRe[m - k]!;
      const bi = -inIm[m - k]!; // conj(X[m-k])
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai + bi);
      const dr = 0.5 * (ar - br);
      const di = 0.5 * (ai - bi);
      // Xo = (X[k] - conj(X[m-k])) / 2 · conj(W^k)
      const wr = twRe[k]!;
      const wi = -twIm[k]!;
      const or = dr * wr - di * wi;
      const oi = dr * wi + di * wr;
      // Z = Xe + i·Xo
      zRe[k] = er - oi;
      zIm[k] = ei + or;
    }
    if (this.inner !== undefined) {
      this.inner.run(zRe, zIm, true);
      const s = 1 / m;
      for (let j = 0; j < m; j++) {
        out[2 * j] = zRe[j]! * s;
        out[2 * j + 1] = zIm[j]! * s;
      }
    } else {
      out[0] = zRe[0]!;
      out[1] = zIm[0]!;
    }
  }
}

/** An FFT plan of a fixed length. Not thread-safe across concurrent calls (uses scratch buffers). */
export class Fft {
  readonly size: number;
  private readonly impl: Radix2 | Bluestein;
  private readonly scratchRe: Float64Array;
  private readonly scratchIm: Float64Array;
  private real: HalfComplexReal | undefined;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`size must be a positive integer, got ${size}`);
    this.size = size;
    this.impl = isPowerOfTwo(size) ? new Radix2(size) : new Bluestein(size);
    this.scratchRe = new Float64Array(size);
    this.scratchIm = new Float64Array(size);
  }

  /** The half-length real path for even sizes, built on first use. */
  private realPlan(): HalfComplexReal | undefined {
    if (this.size % 2 !== 0 || this.size < 2) return undefined;
    if (this.real === undefined) this.real = new HalfComplexReal(this.size);
    return this.real;
  }

  /** In-place complex forward DFT: X[k] = Σ x[n] e^{-2πikn/N}. */
  forward(re: Float64Array, im: Float64Array): void {
    if (this.size === 1) return;
    this.impl.run(re, im, false);
  }

  /** In-place complex inverse DFT, scaled by 1/N so that inverse(forward(x)) = x. */
  inverse(re: Float64Array, im: Float64Array): void {
    if (this.size > 1) this.impl.run(re, im, true);
    const s = 1 / this.size;
    for (let i = 0; i < this.size; i++) {
      re[i] = re[i]! * s;
      im[i] = im[i]! * s;
    }
  }

  /**
   * Forward DFT of a real signal: writes bins 0..N/2 into outRe/outIm (length ≥ floor(N/2)+1).
   * `input` shorter than N is zero-padded.
   */
  forwardReal(input: ArrayLike<number>, outRe: Float64Array, outIm: Float64Array): void {
    const real = this.realPlan();
    if (real !== undefined) {
      real.forward(input, outRe, outIm);
      return;
    }
    const n = this.size;
    const re = this.scratchRe;
    const im = this.scratchIm;
    const len = Math.min(n, input.length);
    for (let i = 0; i < len; i++) re[i] = input[i]!;
    re.fill(0, len);
    im.fill(0);
    this.forward(re, im);
    const bins = (n >> 1) + 1;
    for (let k = 0; k < bins; k++) {
      outRe[k] = re[k]!;
      outIm[k] = im[k]!;
    }
  }

  /** Inverse of forwardReal: from bins 0..N/2 (Hermitian symmetry assumed) to N real samples. */
  inverseReal(inRe: ArrayLike<number>, inIm: ArrayLike<number>, out: Float64Array | Float32Array): void {
    const real = this.realPlan();
    if (real !== undefined) {
      real.inverse(inRe, inIm, out);
      return;
    }
    const n = this.size;
    const re = this.scratchRe;
    const im = this.scratchIm;
    const bins = (n >> 1) + 1;
    for (let k = 0; k < bins; k++) {
      re[k] = inRe[k]!;
      im[k] = inIm[k]!;
    }
    // The DC and (even N) Nyquist bins of a real signal are real.
    im[0] = 0;
    if (n % 2 === 0) im[n >> 1] = 0;
    for (let k = bins; k < n; k++) {
      re[k] = inRe[n - k]!;
      im[k] = -inIm[n - k]!;
    }
    this.inverse(re, im);
    for (let i = 0; i < n; i++) out[i] = re[i]!;
  }
}

const plans = new Map<number, Fft>();

/** A cached plan for `size`. Callers in one thread share it; do not use it re-entrantly. */
export function getFft(size: number): Fft {
  let p = plans.get(size);
  if (p === undefined) {
    p = new Fft(size);
    if (plans.size > 64) plans.clear();
    plans.set(size, p);
  }
  return p;
}
