/**
 * A small dependency-free chart renderer for the benchmark report: an RGBA raster with rectangles,
 * lines and text in a built-in 5 × 8 bitmap font, two chart kinds (grouped bars, lines over
 * categories) with axes, ticks, a legend and an optional reference line, written as PNG with the
 * project's encoder (indexed when the image has at most 256 colours, which charts do).
 */
import { encodePng } from '../src/spectrogram/image.ts';

// ---------------------------------------------------------------- font

/**
 * Glyphs of CHARS, 8 rows each, one character per row: the row's 5 pixels as a base-32 digit
 * (parseInt(c, 32), most significant bit = leftmost pixel). Row 7 holds descenders.
 */
const FONT = [
  '0000000044444040aa000000aavavaa04fke5u40op248j30cik8lid044000000248884208422248004lel400044v4400',
  '00000448000v000000000cc001248g00ehjlphe04c4444e0eh1248v0v2421he026aiv220vgu11he068guhhe0v1248880',
  'ehhehhe0ehhf12c00cc0cc000cc0c480248g842000v0v00084212480eh124040eh1dlle0ehhvhhh0uhhuhhu0ehggghe0',
  'sihhhis0vgguggv0vgguggg0ehgnhhf0hhhvhhh0e44444e072222ic0hikokih0ggggggv0hrllhhh0hhpljhh0ehhhhhe0',
  'uhhuggg0ehhhlid0uhhukih0fgge11u0v4444440hhhhhhe0hhhhha40hhhllla0hha4ahh0hha44440v1248gv0e88888e0',
  '0g842100e22222e04ah00000000000v08400000000e1fhf0ggmphhu000egghe011djhhf000ehvge0698s888000fhhf1e',
  'ggmphhh040c444e0206222icggikoki0c44444e000qllll000mphhh000ehhhe000uhhugg00fhhf1100mpggg000fge1u0',
  '88s8896000hhhjd000hhha4000hhlla000ha4ah000hhhf1e00v248v0244844204444444084424480008l2000042v2400',
  '0ha4ah00040v040000hhhpmg000v000000ala000248420v000040000',
].join('');
const CHARS = `${Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('')}→×÷µ−∞≤·`;
const GLYPH_ROWS = 8;
/** Horizontal advance and line height at scale 1, in pixels. */
const ADVANCE = 6;
const LINE = 10;
const glyphIndex = new Map([...CHARS].map((c, i) => [c, i]));

function glyph(ch: string): number[] {
  const i = glyphIndex.get(ch) ?? glyphIndex.get('?')!;
  return Array.from({ length: GLYPH_ROWS }, (_, r) => Number.parseInt(FONT[i * GLYPH_ROWS + r]!, 32));
}

// ---------------------------------------------------------------- raster

export type Rgba = readonly [number, number, number, number];

export function hex(rgb: number, alpha = 255): Rgba {
  return [(rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255, alpha];
}

export interface TextOptions {
  scale?: number;
  align?: 'left' | 'center' | 'right';
  /** Rotated 90° counter-clockwise (reads bottom to top); x, y is then the start of the baseline run. */
  vertical?: boolean;
}

export class Raster {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;

  constructor(width: number, height: number, background: Rgba = hex(0xffffff)) {
    this.width = width;
    this.height = height;
    this.data = new Uint8ClampedArray(width * height * 4);
    this.rect(0, 0, width, height, background);
  }

  /** Source-over blend of one pixel (ignored outside the raster). */
  pixel(x: number, y: number, c: Rgba): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 4;
    const a = c[3] / 255;
    if (a >= 1) {
      this.data[o] = c[0];
      this.data[o + 1] = c[1];
      this.data[o + 2] = c[2];
      this.data[o + 3] = 255;
      return;
    }
    for (let k = 0; k < 3; k++) this.data[o + k] = c[k]! * a + this.data[o + k]! * (1 - a);
    this.data[o + 3] = 255 * a + this.data[o + 3]! * (1 - a);
  }

  rect(x: number, y: number, w: number, h: number, c: Rgba): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.pixel(xx, yy, c);
  }

  /** A line `thickness` pixels wide (square pen); `dash` = [on, off] lengths in pixels. */
  line(
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    c: Rgba,
    thickness = 1,
    dash?: [number, number],
  ): void {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const h = Math.floor((thickness - 1) / 2);
    for (let i = 0; i <= n; i++) {
      if (dash !== undefined && i % (dash[0] + dash[1]) >= dash[0]) continue;
      const x = Math.round(x0 + ((x1 - x0) * i) / n);
      const y = Math.round(y0 + ((y1 - y0) * i) / n);
      this.rect(x - h, y - h, thickness, thickness, c);
    }
  }

  /** Draws `s` with its top-left at (x, y) (after alignment); returns the width drawn. */
  text(x: number, y: number, s: string, c: Rgba, opts: TextOptions = {}): number {
    const scale = opts.scale ?? 1;
    const w = textWidth(s, scale);
    const shift = opts.align === 'center' ? w / 2 : opts.align === 'right' ? w : 0;
    let pen = 0;
    for (const ch of s) {
      const rows = glyph(ch);
      for (let r = 0; r < GLYPH_ROWS; r++)
        for (let b = 0; b < 5; b++) {
          if (((rows[r]! >> (4 - b)) & 1) === 0) continue;
          const gx = pen + b * scale;
          const gy = r * scale;
          if (opts.vertical)
            this.rect(Math.round(x + gy), Math.round(y + shift - gx - scale), scale, scale, c);
          else this.rect(Math.round(x - shift + gx), Math.round(y + gy), scale, scale, c);
        }
      pen += ADVANCE * scale;
    }
    return w;
  }
}

export function textWidth(s: string, scale = 1): number {
  const n = [...s].length;
  return n === 0 ? 0 : (n * ADVANCE - 1) * scale;
}

/** PNG bytes of a raster: indexed colour when it uses at most 256 colours (alpha dropped), else RGB. */
export function rasterToPng(r: Raster): Uint8Array {
  const n = r.width * r.height;
  const index = new Map<number, number>();
  const idx = new Uint8Array(n);
  let indexed = true;
  for (let i = 0; i < n; i++) {
    const key = (r.data[4 * i]! << 16) | (r.data[4 * i + 1]! << 8) | r.data[4 * i + 2]!;
    let k = index.get(key);
    if (k === undefined) {
      if (index.size === 256) {
        indexed = false;
        break;
      }
      index.set(key, (k = index.size));
    }
    idx[i] = k;
  }
  if (indexed) {
    const palette = new Uint8Array(index.size * 3);
    for (const [key, k] of index) palette.set([(key >> 16) & 255, (key >> 8) & 255, key & 255], 3 * k);
    return encodePng(idx, r.width, r.height, 1, palette);
  }
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) rgb.set(r.data.subarray(4 * i, 4 * i + 3), 3 * i);
  return encodePng(rgb, r.width, r.height, 3);
}

// ---------------------------------------------------------------- charts

export interface Series {
  name: string;
  /** One value per category (bars) or per x position (lines); undefined = no value. */
  values: Array<number | undefined>;
}

interface ChartBase {
  /** File name without extension (the report writes docs/bench/<file>.png). */
  file: string;
  title: string;
  subtitle?: string;
  yLabel: string;
  series: Series[];
  /** A dashed horizontal reference (parity with a peer, a target, a ceiling). */
  ref?: { value: number; label: string };
  width?: number;
  height?: number;
}

export interface BarChart extends ChartBase {
  kind: 'bar';
  categories: string[];
  /** Print each bar's value at its end: true always, false never, default when the labels fit the bars. */
  valueLabels?: boolean;
}

/** Lines over equally spaced categories (e.g. 1, 2, 4, 8 streams). */
export interface LineChart extends ChartBase {
  kind: 'line';
  categories: string[];
  xLabel: string;
}

export type Chart = BarChart | LineChart;

/** Okabe–Ito colour-blind-safe palette (sonodiff series come first, in blue). */
const COLOURS = [0x0072b2, 0xe69f00, 0x009e73, 0xcc79a7, 0x56b4e9, 0xd55e00, 0x999999, 0xf0e442].map((c) =>
  hex(c),
);
const INK = hex(0x222222);
const MUTED = hex(0x666666);
const GRID = hex(0xe4e4e4);
const REF = hex(0xc0392b);

/** Compact number text for ticks and bar labels. */
export function formatNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toString();
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return Number(v.toFixed(1)).toString();
  if (a >= 0.01) return Number(v.toFixed(2)).toString();
  return v.toExponential(0);
}

/** Ticks at 1/2/5 × 10^k covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let t = start; t <= hi + step * 0.999; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks[ticks.length - 1]! < hi) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

/** Splits `s` into at most `maxLines` lines no wider than `width` px (the last one cut short). */
function wrap(s: string, width: number, maxLines: number): string[] {
  const perLine = Math.max(1, Math.floor((width + 1) / ADVANCE));
  const lines: string[] = [];
  let cur = '';
  for (const word of s.split(/\s+/)) {
    const next = cur === '' ? word : `${cur} ${word}`;
    if ([...next].length <= perLine) cur = next;
    else {
      if (cur !== '') lines.push(cur);
      cur = word;
    }
  }
  if (cur !== '') lines.push(cur);
  const out = lines
    .slice(0, maxLines)
    .map((l) => ([...l].length > perLine ? [...l].slice(0, perLine).join('') : l));
  if (lines.length > maxLines) {
    const last = [...out[maxLines - 1]!];
    out[maxLines - 1] = `${last.slice(0, Math.max(0, perLine - 2)).join('')}..`;
  }
  return out;
}

export function renderChart(chart: Chart): Raster {
  const W = chart.width ?? 720;
  const H = chart.height ?? 400;
  const img = new Raster(W, H);
  const pad = 12;
  let top = pad;
  const titleScale = textWidth(chart.title, 2) <= W - 2 * pad ? 2 : 1;
  img.text(W / 2, top, chart.title, INK, { scale: titleScale, align: 'center' });
  top += titleScale * LINE + 2;
  if (chart.subtitle !== undefined) {
    img.text(W / 2, top, chart.subtitle, MUTED, { align: 'center' });
    top += LINE + 2;
  }
  // Legend: coloured squares and names, wrapped into centred rows.
  const items = chart.series.map((s, i) => ({
    name: s.name,
    colour: COLOURS[i % COLOURS.length]!,
    w: 12 + textWidth(s.name),
  }));
  if (chart.ref !== undefined)
    items.push({ name: chart.ref.label, colour: REF, w: 18 + textWidth(chart.ref.label) });
  const rows: (typeof items)[] = [[]];
  let rowW = 0;
  for (const it of items) {
    if (rowW > 0 && rowW + 16 + it.w > W - 2 * pad) {
      rows.push([]);
      rowW = 0;
    }
    rows[rows.length - 1]!.push(it);
    rowW += (rowW > 0 ? 16 : 0) + it.w;
  }
  top += 4;
  for (const row of rows) {
    const total = row.reduce((a, it) => a + it.w, 0) + 16 * (row.length - 1);
    let x = (W - total) / 2;
    for (const it of row) {
      if (it.colour === REF) {
        img.line(x, top + 3, x + 13, top + 3, REF, 2, [4, 2]);
        img.text(x + 18, top, it.name, INK);
      } else {
        img.rect(x, top, 8, 8, it.colour);
        img.text(x + 12, top, it.name, INK);
      }
      x += it.w + 16;
    }
    top += LINE + 2;
  }
  top += 6;

  // Value range and ticks.
  const vals = chart.series.flatMap((s) =>
    s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)),
  );
  if (chart.ref !== undefined) vals.push(chart.ref.value);
  let lo = Math.min(...vals, chart.kind === 'bar' ? 0 : Number.POSITIVE_INFINITY);
  let hi = Math.max(...vals, chart.kind === 'bar' ? 0 : Number.NEGATIVE_INFINITY);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (chart.kind === 'line' && lo > 0 && lo < 0.5 * hi) lo = 0;
  const ticks = niceTicks(lo, hi);
  const y0 = ticks[0]!;
  const y1 = ticks[ticks.length - 1]!;

  // Plot box.
  const tickText = ticks.map(formatNumber);
  const left = pad + LINE + 6 + Math.max(...tickText.map((t) => textWidth(t))) + 6;
  const right = W - pad - 4;
  const n = chart.categories.length;
  const groupW = (right - left) / Math.max(1, n);
  const labelLines = Math.max(1, ...chart.categories.map((c) => wrap(c, groupW - 4, 3).length));
  const bottom = H - pad - labelLines * LINE - 6 - (chart.kind === 'line' ? LINE + 4 : 0);
  const yAt = (v: number) => bottom - ((v - y0) / (y1 - y0)) * (bottom - top);

  for (let i = 0; i < ticks.length; i++) {
    const y = Math.round(yAt(ticks[i]!));
    img.line(left, y, right, y, GRID);
    img.text(left - 6, y - 3, tickText[i]!, MUTED, { align: 'right' });
  }
  img.text(pad, (top + bottom) / 2, chart.yLabel, INK, { vertical: true, align: 'center' });
  img.line(left, top, left, bottom, INK);
  const zeroY = Math.round(yAt(Math.min(Math.max(0, y0), y1)));
  img.line(left, zeroY, right, zeroY, INK);

  chart.categories.forEach((c, i) => {
    const cx = left + groupW * (i + 0.5);
    wrap(c, groupW - 4, 3).forEach((line, k) => {
      img.text(cx, bottom + 6 + k * LINE, line, INK, { align: 'center' });
    });
  });
  if (chart.kind === 'line')
    img.text((left + right) / 2, H - pad - LINE + 2, chart.xLabel, INK, { align: 'center' });

  if (chart.kind === 'bar') {
    const m = Math.max(1, chart.series.length);
    const barW = Math.max(1, Math.floor((groupW * 0.8) / m));
    // Bar labels at the finest precision that fits every bar (full, one decimal, integer), else none.
    const values = chart.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined));
    const formats = [
      formatNumber,
      (v: number) => formatNumber(Number(v.toFixed(1))),
      (v: number) => `${Math.round(v)}`,
    ];
    const label =
      chart.valueLabels === false
        ? undefined
        : chart.valueLabels === true
          ? formatNumber
          : formats.find((f) => values.every((v) => textWidth(f(v)) <= barW - 1));
    chart.series.forEach((s, j) => {
      const colour = COLOURS[j % COLOURS.length]!;
      s.values.forEach((v, i) => {
        if (v === undefined || !Number.isFinite(v)) return;
        const x = Math.round(left + groupW * i + (groupW - barW * m) / 2 + j * barW);
        const y = Math.round(yAt(v));
        const yTop = Math.min(y, zeroY);
        img.rect(x + 1, yTop, barW - 2, Math.max(1, Math.abs(zeroY - y)), colour);
        if (label !== undefined)
          img.text(x + barW / 2, v >= 0 ? yTop - LINE : yTop + Math.abs(zeroY - y) + 2, label(v), INK, {
            align: 'center',
          });
      });
    });
  } else {
    chart.series.forEach((s, j) => {
      const colour = COLOURS[j % COLOURS.length]!;
      let prev: [number, number] | undefined;
      s.values.forEach((v, i) => {
        if (v === undefined || !Number.isFinite(v)) {
          prev = undefined;
          return;
        }
        const p: [number, number] = [left + groupW * (i + 0.5), yAt(v)];
        if (prev !== undefined) img.line(prev[0], prev[1], p[0], p[1], colour, 2);
        img.rect(p[0] - 3, p[1] - 3, 7, 7, colour);
        prev = p;
      });
    });
  }
  if (chart.ref !== undefined) {
    const y = Math.round(yAt(chart.ref.value));
    img.line(left, y, right, y, REF, 2, [6, 4]);
  }
  return img;
}

/** The chart as PNG bytes. */
export function chartPng(chart: Chart): Uint8Array {
  return rasterToPng(renderChart(chart));
}
