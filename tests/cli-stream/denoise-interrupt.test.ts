/**
 * Ctrl-C during `sonodiff denoise`: the run stops (between model calls, or between input blocks when
 * there are none), the temporary output is removed, nothing is left in the output folder, exit 130.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'dist/cli/main.js');
const packs = path.join(root, 'tests/fixtures/packs');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-denoise-int-'));
const f = (name: string): string => path.join(tmp, name);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function soxSynth(out: string, seconds: number): void {
  execFileSync('sox', [
    '-r',
    '8000',
    '-n',
    '-r',
    '8000',
    '-c',
    '1',
    '-b',
    '16',
    out,
    'synth',
    String(seconds),
    'sine',
    '440',
    'synth',
    'whitenoise',
    'mix',
    'vol',
    '0.5',
  ]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Interrupted {
  code: number | null;
  stderr: string;
  /** Files in the output folder when the temp file was seen, and after exit. */
  seen: string[];
  after: string[];
  exitMs: number;
}

/** Starts a denoise into an empty folder, sends SIGINT once its temp file exists (plus `delayMs`). */
async function interrupt(input: string, extra: string[], delayMs: number): Promise<Interrupted> {
  const outDir = f(`out-${path.basename(input)}-${extra.join('')}`);
  mkdirSync(outDir);
  const child = spawn(
    process.execPath,
    [bin, 'denoise', input, '-m', 'tiny-stft-denoise', '-o', outDir + path.sep, ...extra],
    { env: { ...process.env, SONODIFF_MODELS: packs, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let seen: string[] = [];
  const deadline = Date.now() + 60_000;
  while (child.exitCode === null && Date.now() < deadline) {
    seen = readdirSync(outDir);
    if (seen.some((n) => n.endsWith('.tmp'))) break;
    await sleep(10);
  }
  await sleep(delayMs);
  const t0 = performance.now();
  child.kill('SIGINT');
  const code = await exited;
  return { code, stderr, seen, after: readdirSync(outDir), exitMs: performance.now() - t0 };
}

describe.skipIf(!existsSync(bin))('Ctrl-C during denoise', () => {
  beforeAll(() => {
    soxSynth(f('five-min.wav'), 300);
    soxSynth(f('twenty-min.wav'), 1200);
  }, 30_000);

  it('between model calls: exit 130, temp file removed, folder empty', async () => {
    const r = await interrupt(f('five-min.wav'), [], 300);
    expect(
      r.seen.filter((n) => n.endsWith('.tmp')),
      r.stderr,
    ).toHaveLength(1);
    expect(r.code, r.stderr).toBe(130);
    expect(r.after).toEqual([]);
    expect(r.stderr).toMatch(/interrupted/);
    expect(r.stderr).not.toMatch(/unexpected error/);
    // Stops after the current model call, not at the end of the file.
    expect(r.exitMs).toBeLessThan(5000);
  }, 60_000);

  it('with no model calls (--strength 0) the reader stops between blocks', async () => {
    const r = await interrupt(f('twenty-min.wav'), ['--strength', '0'], 0);
    expect(
      r.seen.filter((n) => n.endsWith('.tmp')),
      r.stderr,
    ).toHaveLength(1);
    expect(r.code, r.stderr).toBe(130);
    expect(r.after).toEqual([]);
    expect(r.stderr).toMatch(/reading aborted/);
    // The whole run takes 1.5 s or more; stopping at the next block takes a fraction of that.
    expect(r.exitMs).toBeLessThan(1500);
  }, 60_000);
});
