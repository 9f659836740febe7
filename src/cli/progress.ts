/**
 * A one-line progress bar with ETA on stderr, drawn only when stderr is a terminal (silent in
 * pipes, CI and tests). Redraws are throttled so the bar costs nothing measurable.
 */
export class ProgressBar {
  private readonly out: NodeJS.WritableStream;
  private readonly enabled: boolean;
  private readonly label: string;
  private readonly t0 = performance.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(
    out: NodeJS.WritableStream & { isTTY?: boolean },
    label: string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.out = out;
    this.enabled = out.isTTY === true && env['TERM'] !== 'dumb';
    this.label = label;
  }

  update(done: number, total: number, detail = ''): void {
    if (!this.enabled || total <= 0) return;
    const now = performance.now();
    if (now - this.lastDraw < 80 && done < total) return;
    this.lastDraw = now;
    const frac = Math.min(1, done / total);
    const width = 24;
    const full = Math.round(frac * width);
    const elapsed = (now - this.t0) / 1000;
    const eta = frac > 0 ? (elapsed * (1 - frac)) / frac : Number.NaN;
    const etaText = Number.isFinite(eta) ? `ETA ${formatSeconds(eta)}` : 'ETA --';
    const bar = `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
    this.out.write(`\r\x1b[2K${this.label} ${bar} ${Math.round(frac * 100)}% ${detail} ${etaText}`);
    this.drawn = true;
  }

  done(message?: string): void {
    if (!this.enabled) return;
    if (this.drawn) this.out.write('\r\x1b[2K');
    if (message) this.out.write(`${message}\n`);
  }
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
}
