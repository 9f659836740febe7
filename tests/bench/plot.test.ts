import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  type Chart,
  chartPng,
  formatNumber,
  hex,
  niceTicks,
  Raster,
  rasterToPng,
  renderChart,
  textWidth,
} from '../../bench/plot.ts';

/** PNG chunks by type (after checking the signature and every CRC length). */
function chunks(png: Uint8Array): Map<string, Uint8Array[]> {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out = new Map<string, Uint8Array[]>();
  let o = 8;
  while (o < png.length) {
    const len = dv.getUint32(o);
    const type = String.fromCharCode(...png.subarray(o + 4, o + 8));
    out.set(type, [...(out.get(type) ?? []), png.subarray(o + 8, o + 8 + len)]);
    o += 12 + len;
  }
  expect(o).toBe(png.length);
  return out;
}

const bars: Chart = {
  kind: 'bar',
  file: 'test',
  title: 'Denoise: SI-SDR improvement',
  subtitle: 'a subtitle',
  yLabel: 'SI-SDRi dB',
  categories: ['0 dB', '5 dB', '10 dB'],
  series: [
    { name: 'sonodiff', values: [3.3, 2, -0.2] },
    { name: 'sox noisered', values: [3.6, 2, undefined] },
  ],
  ref: { value: 1, label: 'parity' },
};

describe('chart PNGs', () => {
  it('writes a valid indexed PNG of the requested size, well under 60 KB', () => {
    const charts: Chart[] = [
      bars,
      { ...bars, width: 500, height: 300 },
      {
        kind: 'line',
        file: 'l',
        title: 'Server latency',
        yLabel: 'ms',
        xLabel: 'streams',
        categories: ['1', '2', '4', '8'],
        series: [{ name: 'p50', values: [300, 600, 1400, 2200] }],
      },
    ];
    for (const chart of charts) {
      const png = chartPng(chart);
      const c = chunks(png);
      const ihdr = new DataView(c.get('IHDR')![0]!.buffer, c.get('IHDR')![0]!.byteOffset);
      const w = chart.width ?? 720;
      const h = chart.height ?? 400;
      expect([ihdr.getUint32(0), ihdr.getUint32(4)]).toEqual([w, h]);
      expect(c.get('IHDR')![0]![9]).toBe(3); // indexed colour
      expect(c.has('IEND')).toBe(true);
      expect(png.length).toBeLessThan(60_000);
      // Each row is a filter byte plus one palette index per pixel; the chart uses several colours.
      const raw = inflateSync(Buffer.concat(c.get('IDAT')!));
      expect(raw.length).toBe(h * (w + 1));
      expect(c.get('PLTE')![0]!.length / 3).toBeGreaterThanOrEqual(4);
    }
  });

  it('draws bars in the series colour at their place', () => {
    const r = new Raster(10, 10);
    r.rect(2, 3, 4, 5, hex(0x0072b2));
    const at = (x: number, y: number) => [...r.data.subarray((y * 10 + x) * 4, (y * 10 + x) * 4 + 4)];
    expect(at(2, 3)).toEqual([0, 0x72, 0xb2, 255]);
    expect(at(5, 7)).toEqual([0, 0x72, 0xb2, 255]);
    expect(at(6, 7)).toEqual([255, 255, 255, 255]);
    expect(at(2, 8)).toEqual([255, 255, 255, 255]);
  });

  it('renders text with the built-in font (and unknown characters as ?)', () => {
    const r = new Raster(40, 12);
    const w = r.text(1, 1, 'A1→', hex(0));
    expect(w).toBe(textWidth('A1→'));
    expect(w).toBe(17);
    let ink = 0;
    for (let i = 0; i < r.data.length; i += 4) if (r.data[i] === 0) ink++;
    expect(ink).toBeGreaterThan(20);
    const q = new Raster(8, 10);
    const u = new Raster(8, 10);
    q.text(0, 0, '?', hex(0));
    u.text(0, 0, '\u2603', hex(0));
    expect(u.data).toEqual(q.data);
  });

  it('falls back to RGB when a raster has more than 256 colours', () => {
    const r = new Raster(32, 16);
    for (let i = 0; i < 512; i++) r.pixel(i % 32, Math.floor(i / 32), [i % 256, i >> 8, 0, 255]);
    const c = chunks(rasterToPng(r));
    expect(c.get('IHDR')![0]![9]).toBe(2);
  });

  it('picks round ticks that cover the data and prints numbers compactly', () => {
    expect(niceTicks(-0.23, 3.64)).toEqual([-1, 0, 1, 2, 3, 4]);
    expect(niceTicks(0, 2975)).toEqual([0, 1000, 2000, 3000]);
    expect(niceTicks(0, 2.07)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(formatNumber(2.954)).toBe('2.95');
    expect(formatNumber(1436.6)).toBe('1437');
    expect(formatNumber(-0.09)).toBe('-0.09');
    expect(formatNumber(0)).toBe('0');
  });
});

describe('chart layout', () => {
  it('keeps a long title inside the image by drawing it at scale 1', () => {
    const r = renderChart({ ...bars, title: 'x'.repeat(80), width: 600 });
    // The title band (top 20 rows) has no ink in the 12-pixel margins.
    for (let y = 0; y < 20; y++)
      for (const x of [0, 5, 11, 588, 594, 599]) {
        const o = (y * 600 + x) * 4;
        expect([...r.data.subarray(o, o + 3)]).toEqual([255, 255, 255]);
      }
  });
});
