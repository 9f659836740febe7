/**
 * The CLI under faults, driven as a subprocess (dist/cli/main.js): killed with SIGKILL while writing
 * (no final file, or a complete one; the only leftovers are `.NAME.PID.HEX.tmp` files, which a killed
 * process cannot remove), an unwritable output folder and a full disk (clear one-line error, exit 73,
 * input untouched).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '../../src/audio/wav-read.ts';
import { encodeWav } from '../../src/audio/wav-write.ts';
import { ROOT } from './fuzz-helpers.ts';

const bin = path.join(ROOT, 'dist/cli/main.js');
const packs = path.join(ROOT, 'tests/fixtures/packs');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-cli-faults-'));
const mounts: string[] = [];
const env = { ...process.env, SONODIFF_MODELS: packs, NO_COLOR: '1' };
const isRoot = process.getuid?.() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A tmpfs of `size` (root only); undefined where mounting is not permitted. */
function tmpfs(dir: string, options: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  if (!isRoot) return undefined;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
    mounts.push(dir);
    return dir;
  } catch {
    return undefined;
  }
}

const input = path.join(tmp, 'noisy.wav');
let inputHash = '';
const hash = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

beforeAll(() => {
  // 30 s of noisy tone at 8 kHz: denoising it takes a couple of seconds, long enough to kill.
  const n = 30 * 8000;
  let s = 1;
  const ch = Float32Array.from({ length: n }, (_, i) => {
    s = (s * 1_103_515_245 + 12_345) >>> 0;
    return 0.4 * Math.sin(0.35 * i) + 0.1 * (s / 2 ** 32 - 0.5);
  });
  writeFileSync(input, encodeWav({ sampleRate: 8000, channels: [ch] }));
  inputHash = hash(input);
});

afterAll(() => {
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(tmp, { recursive: true, force: true });
});

function run(args: string[], opts: { stdout?: number } = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: tmp,
    env,
    stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return { code: r.status, stderr: r.stderr.toString() };
}

/** Starts the CLI, SIGKILLs it once `ready()` holds (plus `delayMs`), returns the folder afterwards. */
async function killDuring(
  args: string[],
  outDir: string,
  ready: (names: string[]) => boolean,
  delayMs: number,
) {
  const child = spawn(process.execPath, [bin, ...args], { cwd: tmp, env, stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
  const deadline = Date.now() + 30_000;
  let seen: string[] = [];
  while (child.exitCode === null && Date.now() < deadline) {
    seen = readdirSync(outDir);
    if (ready(seen)) break;
    await sleep(5);
  }
  await sleep(delayMs);
  child.kill('SIGKILL');
  const signal = await exited;
  return { signal, seen, after: readdirSync(outDir) };
}

const TEMP = /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/;

describe.skipIf(!existsSync(bin))('CLI faults', () => {
  it('SIGKILL while denoise streams to its temp file: no output file, only the temp file remains', async () => {
    const out = path.join(tmp, 'kill-denoise');
    mkdirSync(out);
    const r = await killDuring(
      ['denoise', input, '-m', 'tiny-stft-denoise', '-o', path.join(out, 'clean.wav')],
      out,
      (names) => names.some((n) => n.endsWith('.tmp')),
      300,
    );
    expect(r.signal).toBe('SIGKILL');
    expect(r.seen.filter((n) => TEMP.test(n))).toHaveLength(1);
    expect(r.after).not.toContain('clean.wav');
    expect(r.after.every((n) => TEMP.test(n))).toBe(true);
    expect(hash(input)).toBe(inputHash);
  }, 60_000);

  it('SIGKILL at any moment of `generate -n 3`: every output present is complete; nothing partial', async () => {
    const results: string[][] = [];
    for (const delay of [50, 400, 900, 1500]) {
      const out = path.join(tmp, `kill-gen-${delay}`);
      mkdirSync(out);
      const r = await killDuring(
        [
          'generate',
          '-m',
          'tiny-mel-generate',
          '-c',
          'a',
          '-s',
          '4',
          '-n',
          '3',
          '--seed',
          '1',
          '-o',
          `${out}/`,
        ],
        out,
        () => true,
        delay,
      );
      results.push(r.after);
      for (const name of r.after.filter((n) => !TEMP.test(n))) {
        const w = readWav(new Uint8Array(readFileSync(path.join(out, name))));
        // Complete: the header's data size matches and all 4 s are there.
        expect(w.warnings.filter((x) => /claims|truncated|partial/.test(x))).toEqual([]);
        expect(w.audio.channels[0]!.length).toBe(4 * w.format.sampleRate);
      }
    }
    console.log(`files after SIGKILL at 50/400/900/1500 ms: ${results.map((r) => r.length).join('/')}`);
  }, 90_000);

  it('an unwritable output folder: exit 73, one clear line, input untouched, nothing written', () => {
    const ro = path.join(tmp, 'readonly');
    const mounted = tmpfs(ro, 'ro,size=64k');
    if (mounted === undefined) chmodSync(ro, 0o555);
    const r = run(['denoise', input, '-m', 'tiny-stft-denoise', '-o', path.join(ro, 'clean.wav')]);
    expect(r.code).toBe(73);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /readonly\/clean\.wav: .*(read-only|permission denied|not writable|EROFS|EACCES)/i,
    );
    expect(readdirSync(ro)).toEqual([]);
    expect(hash(input)).toBe(inputHash);
    // A path through a file is no folder at all.
    const through = run(['denoise', input, '-m', 'tiny-stft-denoise', '-o', path.join(input, 'x.wav')]);
    expect(through.code).toBe(73);
    expect(through.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('a full disk: exit 73 "no space left", temp file removed, input untouched', () => {
    const small = path.join(tmp, 'full');
    const mounted = tmpfs(small, 'size=64k');
    if (mounted !== undefined) {
      // 30 s at 8 kHz is ~480 KB of output: it cannot fit in 64 KiB.
      const r = run(['denoise', input, '-m', 'tiny-stft-denoise', '-o', path.join(small, 'clean.wav')]);
      expect(r.code).toBe(73);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/clean\.wav: cannot write output: no space left on the device/);
      expect(readdirSync(small)).toEqual([]);
      const g = run([
        'generate',
        '-m',
        'tiny-mel-generate',
        '-c',
        'a',
        '-s',
        '10',
        '-o',
        path.join(small, 'g.wav'),
      ]);
      expect(g.code).toBe(73);
      expect(g.stderr).toMatch(/no space left/i);
      expect(readdirSync(small)).toEqual([]);
    }
    // Without a mount, /dev/full gives ENOSPC on stdout.
    const fd = openSync('/dev/full', 'w');
    try {
      const r = run(['denoise', input, '-m', 'tiny-stft-denoise', '-o', '-'], { stdout: fd });
      expect(r.code).toBe(73);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/stdout.*(ENOSPC|no space left)/i);
    } finally {
      closeSync(fd);
    }
    expect(hash(input)).toBe(inputHash);
    expect(statSync(input).size).toBeGreaterThan(400_000);
  }, 60_000);
});
