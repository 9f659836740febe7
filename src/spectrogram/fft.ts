/**
 * Complex and real FFTs of any length, in double precision.
 * Powers of two use an iterative radix-2 transform; other lengths use Bluestein's chirp-z
 * algorithm over a power-of-two transform, so every size is O(n log n).
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
    const sign = inverse ? -1 : 1;
    const cos = this.cos;
    const sin = this.sin;
    for (let size = 2; size <= n; size <<= 1) {
      const half = size >> 1;
      const step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0, t = 0; k < half; k++, t += step) {
          const wr = cos[t]!;
          const wi = sign * sin[t]!;
          const a = start + k;
          const b = a + half;
          const xr = re[b]! * wr - im[b]! * wi;
          const xi = re[b]! * wi + im[b]! * wr;
          re[b] = re[a]! - xr;
          im[b] = im[a]! - xi;
          re[a] = re[a]! + xr;
          im[a] = im[a]! + xi;
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

/** An FFT plan of a fixed length. Not thread-safe across concurrent calls (uses scratch buffers). */
export class Fft {
  readonly size: number;
  private readonly impl: Radix2 | Bluestein;
  private readonly scratchRe: Float64Array;
  private readonly scratchIm: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`size must be a positive integer, got ${size}`);
    this.size = size;
    this.impl = isPowerOfTwo(size) ? new Radix2(size) : new Bluestein(size);
    this.scratchRe = new Float64Array(size);
    this.scratchIm = new Float64Array(size);
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
