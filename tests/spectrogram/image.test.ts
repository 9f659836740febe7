import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  colormapTable,
  crc32,
  encodePng,
  spectrogramToPng,
  stftMagnitude,
} from '../../src/spectrogram/index.ts';
import { decodeMono, speechFile } from './helpers.ts';

interface Decoded {
  width: number;
  height: number;
  colorType: number;
  bitDepth: number;
  /** Unfiltered pixel bytes, row-major, top row first (palette entries expanded to RGB). */
  pixels: Uint8Array;
  chunks: string[];
}

/** A minimal independent PNG reader: checks signature and every CRC, inflates IDAT, undoes filter 0. */
function decodePng(png: Uint8Array): Decoded {
  expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let off = 8;
  const chunks: string[] = [];
  const idat: Uint8Array[] = [];
  let width = 0;
  let height = 0;
  let colorType = -1;
  let bitDepth = 0;
  let palette: Uint8Array | undefined;
  while (off < png.length) {
    const len = dv.getUint32(off);
    const type = String.fromCharCode(...png.subarray(off + 4, off + 8));
    const body = png.subarray(off + 8, off + 8 + len);
    // node:zlib's own crc32 checks our CRC independently.
    expect(dv.getUint32(off + 8 + len)).toBe(zlib.crc32(png.subarray(off + 4, off + 8 + len)));
    chunks.push(type);
    if (type === 'IHDR') {
      width = dv.getUint32(off + 8);
      height = dv.getUint32(off + 12);
      bitDepth = body[8]!;
      colorType = body[9]!;
    } else if (type === 'PLTE') palette = body.slice();
    else if (type === 'IDAT') idat.push(body);
    off += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const ch = colorType === 2 ? 3 : 1;
  if (colorType === 3) expect(palette).toBeDefined();
  const stride = width * ch;
  expect(raw.length).toBe((stride + 1) * height);
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (stride + 1)]).toBe(0); // filter None
    pixels.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  if (palette !== undefined) {
    const rgb = new Uint8Array(pixels.length * 3);
    for (let i = 0; i < pixels.length; i++)
      rgb.set(palette.subarray(3 * pixels[i]!, 3 * pixels[i]! + 3), 3 * i);
    return { width, height, colorType, bitDepth, pixels: rgb, chunks };
  }
  return { width, height, colorType, bitDepth, pixels, chunks };
}

describe('PNG previews', () => {
  it('crc32 matches node:zlib and the PNG spec check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) & 255);
    expect(crc32(bytes)).toBe(zlib.crc32(bytes));
  });

  it('encodePng round-trips gray and RGB pixels', () => {
    const gray = Uint8Array.from({ length: 5 * 3 }, (_, i) => i * 17);
    const d = decodePng(encodePng(gray, 5, 3, 1));
    expect([d.width, d.height, d.colorType, d.bitDepth]).toEqual([5, 3, 0, 8]);
    expect(d.chunks).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect(Array.from(d.pixels)).toEqual(Array.from(gray));
    const rgb = Uint8Array.from({ length: 2 * 2 * 3 }, (_, i) => 255 - i);
    const d2 = decodePng(encodePng(rgb, 2, 2, 3));
    expect(d2.colorType).toBe(2);
    expect(Array.from(d2.pixels)).toEqual(Array.from(rgb));
    expect(() => encodePng(gray, 4, 3, 1)).toThrow(/pixels/);
  });

  it('maps dB to gray levels over topDb with low frequencies at the bottom', () => {
    // 2 frames × 3 bins in dB: 0, −40 (half of the 80 dB range → round(127.5) = 128), −90 (below → 0).
    const db = Float32Array.of(0, -40, -90, -90, -40, 0);
    const d = decodePng(
      spectrogramToPng({ frames: 2, bins: 3, data: db }, { colormap: 'gray', scale: 'db' }),
    );
    expect([d.width, d.height]).toEqual([2, 3]);
    // Top row = highest bin (2).
    expect(Array.from(d.pixels)).toEqual([0, 255, 128, 128, 255, 0]);
    // Power input: 10·log10. 0.01 → −20 dB → 255·60/80 = 191.25 → 191; 1e-9 → below the range → 0.
    const p = decodePng(
      spectrogramToPng({ frames: 1, bins: 3, data: Float32Array.of(1e-9, 0.01, 1) }, { colormap: 'gray' }),
    );
    expect(Array.from(p.pixels)).toEqual([255, 191, 0]);
    // Amplitude input: 20·log10. 0.1 → −20 dB → 191 as well.
    const a = decodePng(
      spectrogramToPng(
        { frames: 1, bins: 2, data: Float32Array.of(1, 0.1) },
        { colormap: 'gray', scale: 'amplitude' },
      ),
    );
    expect(Array.from(a.pixels)).toEqual([191, 255]);
  });

  it('colormaps run from their dark to their bright anchor', () => {
    const magma = colormapTable('magma');
    expect(Array.from(magma.subarray(0, 3))).toEqual([0, 0, 4]);
    expect(Array.from(magma.subarray(765, 768))).toEqual([252, 253, 191]);
    const data = Float32Array.of(1e-8, 1);
    const d = decodePng(spectrogramToPng({ frames: 1, bins: 2, data }, { colormap: 'viridis' }));
    expect(d.colorType).toBe(3); // indexed, the colormap as palette
    expect(d.chunks).toEqual(['IHDR', 'PLTE', 'IDAT', 'IEND']);
    expect(Array.from(d.pixels)).toEqual([253, 231, 37, 68, 1, 84]); // bright top (bin 1), dark bottom
  });

  it('renders real speech at a requested size, averaging when shrinking', () => {
    const x = decodeMono(speechFile, undefined, 3);
    const spec = stftMagnitude(x, { nFft: 512, hopLength: 128 }, 2);
    const png = spectrogramToPng(spec, { width: 200, height: 64, colormap: 'gray' });
    const d = decodePng(png);
    expect([d.width, d.height]).toEqual([200, 64]);
    let min = 255;
    let max = 0;
    let lowSum = 0;
    let highSum = 0;
    for (let y = 0; y < 64; y++)
      for (let xx = 0; xx < 200; xx++) {
        const v = d.pixels[y * 200 + xx]!;
        min = Math.min(min, v);
        max = Math.max(max, v);
        if (y >= 48) lowSum += v; // bottom quarter: 0–2 kHz, where speech energy is
        if (y < 16) highSum += v; // top quarter: 6–8 kHz
      }
    expect(max).toBeGreaterThan(200);
    expect(min).toBeLessThan(60);
    expect(lowSum).toBeGreaterThan(1.3 * highSum);
    // 2× shrink in time averages neighbouring frames: bin 0 = 0,10,20,30 → 5, 25; bin 1 = 40 → 40.
    // Linear scale spans 5…40: bottom row 0 and round(255·20/35) = 146, top row 255.
    const ramp = { frames: 4, bins: 2, data: Float32Array.of(0, 40, 10, 40, 20, 40, 30, 40) };
    const r = decodePng(spectrogramToPng(ramp, { scale: 'linear', colormap: 'gray', width: 2 }));
    expect(Array.from(r.pixels)).toEqual([255, 255, 0, 146]);
  });

  it('validates arguments', () => {
    const spec = { frames: 2, bins: 2, data: new Float32Array(4) };
    expect(() => spectrogramToPng(spec, { width: 0 })).toThrow(/width/);
    expect(() => spectrogramToPng(spec, { height: 70000 })).toThrow(/height/);
    expect(() => spectrogramToPng({ frames: 2, bins: 2, data: new Float32Array(3) })).toThrow(RangeError);
  });
});
