/**
 * Spectrogram previews as PNG: values → dB → [0, 1] over the top `topDb` decibels → grayscale or
 * a perceptual colormap, low frequencies at the bottom. The PNG encoder is minimal: 8-bit
 * grayscale, indexed (palette) or RGB, one IDAT (zlib deflate from node:zlib), no row filtering.
 */
import { deflateSync } from 'node:zlib';
import { joinBytes } from '../audio/join.ts';
import type { Spectrogram } from './stft.ts';

export type Colormap = 'gray' | 'magma' | 'viridis';

export interface SpectrogramImageOptions {
  /** How values are read: 'power' (10·log10, default), 'amplitude' (20·log10), 'db' (as is), 'linear' (min–max). */
  scale?: 'power' | 'amplitude' | 'db' | 'linear';
  /** Decibels shown below the peak; quieter cells are black. Default 80. Unused with 'linear'. */
  topDb?: number;
  /** Default 'magma'. */
  colormap?: Colormap;
  /** Image width in pixels (time axis); default one pixel per frame. */
  width?: number;
  /** Image height in pixels (frequency axis); default one pixel per bin. */
  height?: number;
}

// Anchor colours sampled at 0, 1/8, …, 1 along matplotlib's magma and viridis (sRGB, 0–255);
// linear interpolation between nine anchors stays within a few levels of the full tables.
const ANCHORS: Record<Exclude<Colormap, 'gray'>, readonly (readonly [number, number, number])[]> = {
  magma: [
    [0, 0, 4],
    [28, 16, 68],
    [79, 18, 123],
    [129, 37, 129],
    [181, 54, 122],
    [229, 80, 100],
    [251, 135, 97],
    [254, 194, 135],
    [252, 253, 191],
  ],
  viridis: [
    [68, 1, 84],
    [71, 44, 122],
    [59, 81, 139],
    [44, 113, 142],
    [33, 144, 141],
    [39, 173, 129],
    [92, 200, 99],
    [170, 220, 50],
    [253, 231, 37],
  ],
};

/** A 256-entry RGB lookup table for `name` (index = intensity 0..255). */
export function colormapTable(name: Exclude<Colormap, 'gray'>): Uint8Array {
  const anchors = ANCHORS[name];
  if (anchors === undefined) throw new RangeError(`colormap must be gray, magma or viridis, got ${name}`);
  const lut = new Uint8Array(256 * 3);
  const segs = anchors.length - 1;
  for (let i = 0; i < 256; i++) {
    const pos = (i / 255) * segs;
    const s = Math.min(segs - 1, Math.floor(pos));
    const t = pos - s;
    for (let c = 0; c < 3; c++)
      lut[i * 3 + c] = Math.round(anchors[s]![c]! * (1 - t) + anchors[s + 1]![c]! * t);
  }
  return lut;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as PNG chunks use. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  dv.setUint32(8 + body.length, crc32(out, 4, 8 + body.length));
  return out;
}

/**
 * Encodes 8-bit pixels (row-major, top row first) as PNG: 1 byte per pixel for grayscale, or for
 * palette indices when `palette` (up to 256 RGB triplets) is given; 3 bytes per pixel for RGB.
 */
export function encodePng(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3,
  palette?: Uint8Array,
): Uint8Array {
  if (!(pixels instanceof Uint8Array)) throw new TypeError('pixels must be a Uint8Array');
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const)
    if (!Number.isInteger(v) || v < 1 || v > 65535)
      throw new RangeError(`${name} must be an integer in 1..65535, got ${v}`);
  if (channels !== 1 && channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${channels}`);
  if (
    palette !== undefined &&
    (channels !== 1 || palette.length % 3 !== 0 || palette.length < 3 || palette.length > 768)
  )
    throw new RangeError('palette must hold 1–256 RGB triplets and needs channels = 1');
  const stride = width * channels;
  if (pixels.length !== stride * height)
    throw new RangeError(`pixels has ${pixels.length} bytes, expected ${stride * height}`);
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter type None
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = palette !== undefined ? 3 : channels === 1 ? 0 : 2; // indexed, grayscale or truecolour
  // compression 0 (deflate), filter method 0, interlace 0
  const parts = [
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk('IHDR', ihdr),
    ...(palette !== undefined ? [chunk('PLTE', palette)] : []),
    chunk('IDAT', new Uint8Array(deflateSync(raw))),
    chunk('IEND', new Uint8Array(0)),
  ];
  return joinBytes(parts);
}

/**
 * Weights that resample n values to m: box average when shrinking, linear interpolation when
 * stretching. Destination d reads source indices idx[ptr[d]..ptr[d+1]) with weights wts[…].
 */
function axisWeights(n: number, m: number): { ptr: Uint32Array; idx: Uint32Array; wts: Float64Array } {
  const ptr = new Uint32Array(m + 1);
  const idx: number[] = [];
  const wts: number[] = [];
  const ratio = n / m;
  for (let d = 0; d < m; d++) {
    if (m === n) {
      idx.push(d);
      wts.push(1);
    } else if (m < n) {
      const a = d * ratio;
      const b = a + ratio;
      for (let i = Math.floor(a); i < Math.ceil(b) && i < n; i++) {
        const w = Math.min(b, i + 1) - Math.max(a, i);
        if (w > 0) {
          idx.push(i);
          wts.push(w / ratio);
        }
      }
    } else {
      const pos = Math.min(n - 1, Math.max(0, (d + 0.5) * ratio - 0.5));
      const i0 = Math.floor(pos);
      const t = pos - i0;
      idx.push(i0);
      wts.push(1 - t);
      if (t > 0) {
        idx.push(i0 + 1);
        wts.push(t);
      }
    }
    ptr[d + 1] = idx.length;
  }
  return { ptr, idx: Uint32Array.from(idx), wts: Float64Array.from(wts) };
}

/** Renders `spec` (frames × bins) as a PNG: time left to right, frequency bottom to top. */
export function spectrogramToPng(spec: Spectrogram, options: SpectrogramImageOptions = {}): Uint8Array {
  if (spec === null || typeof spec !== 'object' || !(spec.data instanceof Float32Array))
    throw new TypeError('spec must be a Spectrogram');
  const { frames, bins, data } = spec;
  if (frames < 1 || bins < 1 || data.length !== frames * bins)
    throw new RangeError(`spec must hold frames × bins values with frames, bins ≥ 1`);
  const scale = options.scale ?? 'power';
  if (!['power', 'amplitude', 'db', 'linear'].includes(scale))
    throw new RangeError(`scale must be power, amplitude, db or linear, got ${scale}`);
  const topDb = options.topDb ?? 80;
  if (!(topDb > 0)) throw new RangeError(`topDb must be > 0, got ${topDb}`);
  const colormap = options.colormap ?? 'magma';
  if (colormap !== 'gray' && colormap !== 'magma' && colormap !== 'viridis')
    throw new RangeError(`colormap must be gray, magma or viridis, got ${String(colormap)}`);
  const width = options.width ?? frames;
  const height = options.height ?? bins;
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const)
    if (!Number.isInteger(v) || v < 1 || v > 65535)
      throw new RangeError(`${name} must be an integer in 1..65535, got ${v}`);

  // 1. To display units (dB or linear).
  const vals = new Float64Array(frames * bins);
  for (let i = 0; i < vals.length; i++) {
    const v = data[i]!;
    vals[i] =
      scale === 'power'
        ? 10 * Math.log10(Math.max(v, 1e-20))
        : scale === 'amplitude'
          ? 20 * Math.log10(Math.max(v, 1e-10))
          : v;
  }
  // 2. Resize: time to width (tmp is width × bins), then frequency to height (img is rows × width,
  //    top row = highest frequency).
  const tw = axisWeights(frames, width);
  const tmp = new Float64Array(width * bins);
  for (let x = 0; x < width; x++) {
    const row = x * bins;
    for (let p = tw.ptr[x]!; p < tw.ptr[x + 1]!; p++) {
      const src = tw.idx[p]! * bins;
      const w = tw.wts[p]!;
      for (let k = 0; k < bins; k++) tmp[row + k] += w * vals[src + k]!;
    }
  }
  const fw = axisWeights(bins, height);
  const img = new Float64Array(width * height);
  for (let x = 0; x < width; x++) {
    const row = x * bins;
    for (let y = 0; y < height; y++) {
      let v = 0;
      for (let p = fw.ptr[y]!; p < fw.ptr[y + 1]!; p++) v += fw.wts[p]! * tmp[row + fw.idx[p]!]!;
      img[(height - 1 - y) * width + x] = v;
    }
  }
  // 3. Normalise to [0, 1] over the shown range.
  let hi = Number.NEGATIVE_INFINITY;
  let lo = Number.POSITIVE_INFINITY;
  for (const v of img) {
    if (v > hi) hi = v;
    if (v < lo) lo = v;
  }
  if (scale !== 'linear') lo = hi - topDb;
  const range = hi > lo ? hi - lo : 1;
  // Colormaps go out as an indexed PNG: one byte per pixel, the 256-entry table as the palette.
  const pixels = new Uint8Array(width * height);
  for (let i = 0; i < img.length; i++)
    pixels[i] = Math.round(255 * Math.min(1, Math.max(0, (img[i]! - lo) / range)));
  return encodePng(pixels, width, height, 1, colormap === 'gray' ? undefined : colormapTable(colormap));
}
