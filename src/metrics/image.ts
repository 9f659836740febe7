/**
 * Image-quality measures applied to spectrograms (or any 2-D float grid): PSNR and the SSIM of
 * Wang, Bovik, Sheikh & Simoncelli (2004) — 11×11 Gaussian window (σ 1.5), K1 0.01, K2 0.03,
 * statistics over the window positions that fit inside the image ("valid"), mean of the SSIM map.
 */
import { checkFinite } from './check.ts';

/** A row-major 2-D grid: data[y * width + x], e.g. a spectrogram with one row per frequency bin. */
export interface Image2D {
  width: number;
  height: number;
  data: Float32Array;
}

export interface PsnrOptions {
  /** Peak-to-peak range of the signal (L). Default: max − min of the reference. */
  dataRange?: number;
}

export interface SsimOptions extends PsnrOptions {
  /** Window side in pixels (odd). Default 11. */
  windowSize?: number;
  /** Standard deviation of the Gaussian window. Default 1.5. */
  sigma?: number;
  /** Default 0.01. */
  k1?: number;
  /** Default 0.03. */
  k2?: number;
}

function checkImage(img: unknown, name: string): asserts img is Image2D {
  if (img === null || typeof img !== 'object') throw new TypeError(`${name} must be an Image2D`);
  const { width, height, data } = img as Partial<Image2D>;
  if (!(data instanceof Float32Array)) throw new TypeError(`${name}.data must be a Float32Array`);
  if (typeof width !== 'number' || !Number.isInteger(width) || width < 1)
    throw new RangeError(`${name}.width must be a positive integer, got ${String(width)}`);
  if (typeof height !== 'number' || !Number.isInteger(height) || height < 1)
    throw new RangeError(`${name}.height must be a positive integer, got ${String(height)}`);
  if (data.length !== width * height)
    throw new RangeError(
      `${name}.data must hold width × height = ${width * height} values, got ${data.length}`,
    );
}

function checkSameShape(a: Image2D, b: Image2D): void {
  if (a.width !== b.width || a.height !== b.height)
    throw new RangeError(`test must be ${a.width}×${a.height} like reference, got ${b.width}×${b.height}`);
}

function resolveRange(reference: Image2D, dataRange: number | undefined): number {
  if (dataRange !== undefined) {
    checkFinite(dataRange, 'options.dataRange');
    if (dataRange <= 0) throw new RangeError(`options.dataRange must be positive, got ${dataRange}`);
    return dataRange;
  }
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of reference.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) throw new RangeError('options.dataRange is required when the reference is constant');
  return hi - lo;
}

/** Peak signal-to-noise ratio in dB: 10·log10(L² / MSE); +Infinity for identical images. */
export function psnr(reference: Image2D, test: Image2D, options: PsnrOptions = {}): number {
  checkImage(reference, 'reference');
  checkImage(test, 'test');
  checkSameShape(reference, test);
  const range = resolveRange(reference, options.dataRange);
  let se = 0;
  const a = reference.data;
  const b = test.data;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    se += d * d;
  }
  return 10 * Math.log10((range * range) / (se / a.length));
}

/** Mean structural similarity; 1 for identical images. */
export function ssim(reference: Image2D, test: Image2D, options: SsimOptions = {}): number {
  checkImage(reference, 'reference');
  checkImage(test, 'test');
  checkSameShape(reference, test);
  const size = options.windowSize ?? 11;
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0)
    throw new RangeError(`options.windowSize must be a positive odd integer, got ${size}`);
  const sigma = checkFinite(options.sigma ?? 1.5, 'options.sigma');
  if (sigma <= 0) throw new RangeError(`options.sigma must be positive, got ${sigma}`);
  const k1 = checkFinite(options.k1 ?? 0.01, 'options.k1');
  const k2 = checkFinite(options.k2 ?? 0.03, 'options.k2');
  const { width, height } = reference;
  if (width < size || height < size)
    throw new RangeError(
      `reference must be at least ${size}×${size} for options.windowSize ${size}, got ${width}×${height}`,
    );
  const range = resolveRange(reference, options.dataRange);
  const c1 = (k1 * range) ** 2;
  const c2 = (k2 * range) ** 2;

  // Separable normalised Gaussian: its outer product equals MATLAB's fspecial('gaussian', size, σ).
  const g = new Float64Array(size);
  const half = (size - 1) / 2;
  let gs = 0;
  for (let i = 0; i < size; i++) {
    g[i] = Math.exp(-((i - half) ** 2) / (2 * sigma * sigma));
    gs += g[i]!;
  }
  for (let i = 0; i < size; i++) g[i] = g[i]! / gs;

  const outW = width - size + 1;
  const outH = height - size + 1;
  const a = reference.data;
  const b = test.data;
  // Horizontal pass of the five moments over every row, then vertical pass per output pixel.
  const hA = new Float64Array(height * outW);
  const hB = new Float64Array(height * outW);
  const hAA = new Float64Array(height * outW);
  const hBB = new Float64Array(height * outW);
  const hAB = new Float64Array(height * outW);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < outW; x++) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let k = 0; k < size; k++) {
        const w = g[k]!;
        const va = a[row + x + k]!;
        const vb = b[row + x + k]!;
        sa += w * va;
        sb += w * vb;
        saa += w * va * va;
        sbb += w * vb * vb;
        sab += w * va * vb;
      }
      const o = y * outW + x;
      hA[o] = sa;
      hB[o] = sb;
      hAA[o] = saa;
      hBB[o] = sbb;
      hAB[o] = sab;
    }
  }
  let total = 0;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      let ma = 0;
      let mb = 0;
      let eaa = 0;
      let ebb = 0;
      let eab = 0;
      for (let k = 0; k < size; k++) {
        const w = g[k]!;
        const o = (y + k) * outW + x;
        ma += w * hA[o]!;
        mb += w * hB[o]!;
        eaa += w * hAA[o]!;
        ebb += w * hBB[o]!;
        eab += w * hAB[o]!;
      }
      const va = eaa - ma * ma;
      const vb = ebb - mb * mb;
      const cov = eab - ma * mb;
      total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
    }
  }
  return total / (outW * outH);
}
