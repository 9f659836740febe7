/**
 * Waveform and spectrogram of the current take, drawn on two canvases. The spectrogram is computed
 * incrementally while audio streams in (short-time FFT with a Hann window, log-frequency rows, dB
 * over the top 80 dB), so the picture grows left to right as the model generates.
 */
import { getFft } from '../../src/spectrogram/fft.ts';

const TOP_DB = 80;
const MIN_HZ = 30;

// Dark violet → magenta → orange → pale yellow: readable on a dark page, quiet parts stay dark.
const STOPS: Array<[number, number, number]> = [
  [8, 8, 18],
  [40, 18, 80],
  [110, 30, 120],
  [180, 50, 110],
  [235, 95, 80],
  [250, 170, 90],
  [252, 240, 180],
];

function makeLut(): Uint8ClampedArray {
  const lut = new Uint8ClampedArray(256 * 3);
  const segs = STOPS.length - 1;
  for (let i = 0; i < 256; i++) {
    const pos = (i / 255) * segs;
    const s = Math.min(segs - 1, Math.floor(pos));
    const t = pos - s;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = STOPS[s]![c]! * (1 - t) + STOPS[s + 1]![c]! * t;
  }
  return lut;
}

const LUT = makeLut();

export interface ViewColors {
  background: string;
  wave: string;
  waveDim: string;
  playhead: string;
  grid: string;
}

const COLORS: ViewColors = {
  background: '#0b0d12',
  wave: '#5eead4',
  waveDim: '#2a3a44',
  playhead: '#fbbf24',
  grid: '#1b2230',
};

export class AudioView {
  readonly wave: HTMLCanvasElement;
  readonly spec: HTMLCanvasElement;
  sampleRate = 48000;
  /** Mono mix of the take so far. */
  private mono = new Float32Array(0);
  private frames = 0;
  private expected = 0;
  private nFft = 1024;
  private hop = 256;
  private window = new Float64Array(0);
  private columns: Float32Array[] = [];
  private peakDb = -Infinity;
  private dirty = true;
  private playhead: number | null = null;
  private raf = 0;

  constructor(wave: HTMLCanvasElement, spec: HTMLCanvasElement) {
    this.wave = wave;
    this.spec = spec;
    const ro = new ResizeObserver(() => this.invalidate());
    ro.observe(wave);
    ro.observe(spec);
  }

  /** Starts a new take at `sampleRate`; `expectedFrames` sizes the time axis while it streams. */
  reset(sampleRate: number, expectedFrames = 0): void {
    this.sampleRate = sampleRate;
    this.mono = new Float32Array(Math.max(expectedFrames, sampleRate));
    this.frames = 0;
    this.expected = expectedFrames;
    // ~40 ms windows, hop a quarter of that: fine time detail and enough bins for pitch.
    this.nFft = 2 ** Math.round(Math.log2(sampleRate * 0.04));
    this.hop = this.nFft / 4;
    this.window = new Float64Array(this.nFft);
    for (let i = 0; i < this.nFft; i++) this.window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / this.nFft);
    this.columns = [];
    this.peakDb = -Infinity;
    this.playhead = null;
    this.invalidate();
  }

  /** Appends planar audio (the stream as it arrives). */
  append(channels: readonly Float32Array[]): void {
    const n = channels[0]?.length ?? 0;
    if (this.frames + n > this.mono.length) {
      const grown = new Float32Array(Math.max(this.frames + n, this.mono.length * 2));
      grown.set(this.mono.subarray(0, this.frames));
      this.mono = grown;
    }
    const g = 1 / channels.length;
    for (const ch of channels) for (let i = 0; i < n; i++) this.mono[this.frames + i]! += ch[i]! * g;
    this.frames += n;
    this.computeColumns();
    this.invalidate();
  }

  /** Shows a finished take. */
  show(channels: readonly Float32Array[], sampleRate: number): void {
    this.reset(sampleRate, channels[0]?.length ?? 0);
    this.append(channels);
    this.finish();
  }

  /** The take is complete: the last columns are computed over zero padding so they reach the end. */
  finish(): void {
    const need = this.frames + this.nFft;
    if (this.mono.length < need) {
      const grown = new Float32Array(need);
      grown.set(this.mono.subarray(0, this.frames));
      this.mono = grown;
    }
    this.computeColumns(true);
    this.invalidate();
  }

  get length(): number {
    return this.frames;
  }

  /** Number of spectrogram columns computed (for tests and the status line). */
  get columnCount(): number {
    return this.columns.length;
  }

  setPlayhead(frame: number | null): void {
    if (frame === this.playhead) return;
    this.playhead = frame;
    this.invalidate();
  }

  private computeColumns(final = false): void {
    const fft = getFft(this.nFft);
    const bins = this.nFft / 2 + 1;
    const frame = new Float64Array(this.nFft);
    const re = new Float64Array(bins);
    const im = new Float64Array(bins);
    for (;;) {
      const start = this.columns.length * this.hop;
      if (final ? start >= this.frames : start + this.nFft > this.frames) break;
      for (let i = 0; i < this.nFft; i++) frame[i] = this.mono[start + i]! * this.window[i]!;
      fft.forwardReal(frame, re, im);
      const col = new Float32Array(bins);
      for (let k = 0; k < bins; k++) {
        const p = re[k]! * re[k]! + im[k]! * im[k]!;
        const db = 10 * Math.log10(p + 1e-12);
        col[k] = db;
        if (db > this.peakDb) this.peakDb = db;
      }
      this.columns.push(col);
    }
  }

  invalidate(): void {
    this.dirty = true;
    if (!this.raf) this.raf = requestAnimationFrame(() => this.draw());
  }

  private fit(c: HTMLCanvasElement): CanvasRenderingContext2D {
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    const w = Math.max(1, Math.round(c.clientWidth * dpr));
    const h = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w || c.height !== h) {
      c.width = w;
      c.height = h;
    }
    return c.getContext('2d')!;
  }

  /** Frames shown across the full width. */
  private span(): number {
    return Math.max(this.expected, this.frames, 1);
  }

  draw(): void {
    this.raf = 0;
    if (!this.dirty) return;
    this.dirty = false;
    this.drawWave();
    this.drawSpec();
  }

  private drawWave(): void {
    const ctx = this.fit(this.wave);
    const { width: W, height: H } = this.wave;
    ctx.fillStyle = COLORS.background;
    ctx.fillRect(0, 0, W, H);
    ctx.fillStyle = COLORS.grid;
    ctx.fillRect(0, Math.floor(H / 2), W, 1);
    const span = this.span();
    const per = span / W;
    const mid = H / 2;
    const amp = H * 0.46;
    const played = this.playhead ?? -1;
    for (let x = 0; x < W; x++) {
      const a = Math.floor(x * per);
      if (a >= this.frames) break;
      const b = Math.min(this.frames, Math.max(a + 1, Math.floor((x + 1) * per)));
      let lo = 1;
      let hi = -1;
      // Long spans: stride through the samples; the peaks of dense audio survive a stride.
      const step = Math.max(1, Math.floor((b - a) / 256));
      for (let i = a; i < b; i += step) {
        const v = this.mono[i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      ctx.fillStyle = a <= played ? COLORS.wave : played >= 0 ? COLORS.waveDim : COLORS.wave;
      const y0 = mid - Math.max(-1, Math.min(1, hi)) * amp;
      const y1 = mid - Math.max(-1, Math.min(1, lo)) * amp;
      ctx.fillRect(x, y0, 1, Math.max(1, y1 - y0));
    }
    this.drawPlayhead(ctx, W, H);
  }

  private drawSpec(): void {
    const ctx = this.fit(this.spec);
    const { width: W, height: H } = this.spec;
    const img = ctx.createImageData(W, H);
    const px = img.data;
    const bg = [11, 13, 18];
    for (let i = 0; i < W * H; i++) {
      px[i * 4] = bg[0]!;
      px[i * 4 + 1] = bg[1]!;
      px[i * 4 + 2] = bg[2]!;
      px[i * 4 + 3] = 255;
    }
    const cols = this.columns.length;
    if (cols > 0) {
      const bins = this.nFft / 2 + 1;
      const nyq = this.sampleRate / 2;
      const fmin = Math.min(MIN_HZ, nyq / 4);
      // Row → bin on a log-frequency axis (low notes at the bottom get room).
      const rowBin = new Float32Array(H);
      for (let y = 0; y < H; y++) {
        const f = fmin * (nyq / fmin) ** ((H - 1 - y) / Math.max(1, H - 1));
        rowBin[y] = Math.min(bins - 1, (f / nyq) * (bins - 1));
      }
      const totalCols = Math.max(cols, Math.ceil(this.span() / this.hop));
      const floor = this.peakDb - TOP_DB;
      for (let x = 0; x < W; x++) {
        const c = Math.floor((x / W) * totalCols);
        if (c >= cols) break;
        const col = this.columns[c]!;
        for (let y = 0; y < H; y++) {
          const fb = rowBin[y]!;
          const k = Math.floor(fb);
          const t = fb - k;
          const db = col[k]! * (1 - t) + col[Math.min(bins - 1, k + 1)]! * t;
          const v = Math.max(0, Math.min(255, Math.round(((db - floor) / TOP_DB) * 255)));
          const o = (y * W + x) * 4;
          px[o] = LUT[v * 3]!;
          px[o + 1] = LUT[v * 3 + 1]!;
          px[o + 2] = LUT[v * 3 + 2]!;
        }
      }
    }
    ctx.putImageData(img, 0, 0);
    this.drawPlayhead(ctx, W, H);
  }

  private drawPlayhead(ctx: CanvasRenderingContext2D, W: number, H: number): void {
    if (this.playhead === null) return;
    const x = Math.round((this.playhead / this.span()) * W);
    ctx.fillStyle = COLORS.playhead;
    ctx.fillRect(Math.min(W - 2, x), 0, 2, H);
  }
}
