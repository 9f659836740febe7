/**
 * Drives the built `sonodiff` binary as a subprocess on real files (npm test builds dist/ first).
 * Models come from the tiny fixture packs, so these tests do not depend on trained weights.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readWav } from '../../src/index.ts';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'dist/cli/main.js');
const packs = path.join(root, 'tests/fixtures/packs');
const samples = path.join(root, 'samples');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], opts: { input?: Buffer; cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: opts.cwd ?? tmp,
    input: opts.input,
    env: { ...process.env, SONODIFF_MODELS: packs, NO_COLOR: '1' },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe.skipIf(!existsSync(bin))('sonodiff CLI', () => {
  it('prints help with the exit codes, and a version', () => {
    const h = run(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout.toString()).toMatch(/Exit codes:[\s\S]*66\s+input missing/);
    const v = run(['--version']);
    expect(v.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('usage errors exit 2 with one line on stderr', () => {
    const r = run(['generate', '--steps', 'many']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--steps must be an integer/);
    expect(run(['frobnicate']).code).toBe(2);
    const d = run(['generate', '-m', 'tiny-mel-generate', '-c', 'a', '--device', 'tpu']);
    expect(d.code).toBe(2);
  });

  it('lists models as JSON on stdout only', () => {
    const r = run(['models', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout.toString()) as { models: { id: string }[] };
    expect(j.models.map((m) => m.id)).toEqual(
      expect.arrayContaining(['tiny-mel-generate', 'tiny-stft-denoise']),
    );
    const info = run(['models', 'info', 'tiny-mel-generate']);
    expect(info.stdout.toString()).toMatch(/classes: a, b, c/);
    const missing = run(['models', 'info', 'nope']);
    expect(missing.code).toBe(69);
    expect(missing.stderr).toMatch(/unknown model "nope"/);
  });

  it('generates reproducible files with the run recorded in the INFO comment', () => {
    const dir = path.join(tmp, 'gen');
    mkdirSync(dir);
    const r = run([
      'generate',
      '-m',
      'tiny-mel-generate',
      '--prompt',
      'b',
      '--seed',
      '42',
      '-n',
      '2',
      '-o',
      dir,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.toString()) as { outputs: { path: string; seed: number }[] };
    expect(j.outputs.map((o) => path.basename(o.path))).toEqual(['b_s42.wav', 'b_s43.wav']);
    const first = readFileSync(path.join(dir, 'b_s42.wav'));
    const wav = readWav(first);
    expect(JSON.parse(wav.metadata.tags['ICMT'] ?? wav.metadata.tags['comment'] ?? '{}')).toMatchObject({
      seed: 42,
      sampler: 'dpmpp_2m',
      steps: 4,
    });
    // Same arguments and seed: same bytes. Existing files are not overwritten without --force.
    const again = run(['generate', '-m', 'tiny-mel-generate', '-c', 'b', '--seed', '42', '-o', dir]);
    expect(again.code).toBe(73);
    expect(again.stderr).toMatch(/exists/);
    const forced = run([
      'generate',
      '-m',
      'tiny-mel-generate',
      '-c',
      'b',
      '--seed',
      '42',
      '-o',
      dir,
      '--force',
    ]);
    expect(forced.code).toBe(0);
    expect(readFileSync(path.join(dir, 'b_s42.wav')).equals(first)).toBe(true);
  });

  it('writes a WAV to stdout with -o - and nothing else', () => {
    const r = run(['generate', '-m', 'tiny-mel-generate', '-c', 'a', '--seed', '1', '-o', '-']);
    expect(r.code).toBe(0);
    expect(r.stdout.subarray(0, 4).toString()).toBe('RIFF');
    expect(readWav(r.stdout).audio.sampleRate).toBe(8000);
  });

  it('names loops with tempo and bars and writes acid/smpl metadata', () => {
    const dir = path.join(tmp, 'loops');
    mkdirSync(dir);
    const r = run([
      'generate',
      '-m',
      'tiny-mel-generate',
      '-c',
      'c',
      '--loop',
      '--bpm',
      '120',
      '--bars',
      '1',
      '--seed',
      '5',
      '-o',
      dir,
    ]);
    // One bar at 120 bpm is 2 s, longer than this fixture's one-window loop limit (0.25 s).
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/loop can be at most one model window/);
    const ok = run([
      'generate',
      '-m',
      'tiny-mel-generate',
      '-c',
      'c',
      '--loop',
      '--bpm',
      '480',
      '--seed',
      '5',
      '--seconds',
      '0.25',
      '-o',
      dir,
    ]);
    expect(ok.code, ok.stderr).toBe(2); // --bpm range is 20–400
    // Half a bar at 400 bpm (0.15 s) fits the window.
    const ok2 = run([
      'generate',
      '-m',
      'tiny-mel-generate',
      '-c',
      'c',
      '--loop',
      '--bpm',
      '400',
      '--seconds',
      '0.15',
      '--seed',
      '5',
      '-o',
      dir,
    ]);
    expect(ok2.code, ok2.stderr).toBe(0);
    const files = readdirSync(dir);
    expect(files).toEqual(['c_400bpm_0.25bars_s5.wav']);
    const wav = readWav(readFileSync(path.join(dir, files[0]!)));
    expect(wav.metadata.acid).toMatchObject({ tempo: 400, beats: 1 });
    expect(wav.metadata.loops[0]).toMatchObject({ start: 0, end: 1200 });
  });

  it('makes tempo-locked loops with a loop model: exact length, acid/smpl metadata, key and tags', () => {
    const dir = path.join(tmp, 'tempo-loops');
    mkdirSync(dir);
    const args = ['--bpm', '128', '--key', 'A minor', '--bars', '2', '--tags', 'drums,bass', '--steps', '2'];
    const r = run([
      'generate',
      '--model',
      'tiny-mel-loops',
      ...args,
      '--loop',
      '--seed',
      '42',
      '-o',
      dir,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.toString()) as { decoder: string; outputs: Record<string, unknown>[] };
    expect(j.decoder).toBe('griffinlim');
    expect(j.outputs[0]).toMatchObject({
      bpm: 128,
      key: 'A minor',
      bars: 2,
      loop: true,
      tags: ['drums', 'bass'],
    });
    const file = path.join(dir, 'drums-bass_a-minor_128bpm_2bars_s42.wav');
    const wav = readWav(readFileSync(file));
    // 2 bars of 4/4 at 128 BPM at 16 kHz: exactly 60000 samples, looped whole.
    expect(wav.frames).toBe(60000);
    expect(wav.metadata.loops[0]).toMatchObject({ start: 0, end: 60000 });
    expect(wav.metadata.acid).toMatchObject({ tempo: 128, beats: 8, rootNote: 69 });
    expect(wav.metadata.cuePoints.map((c) => c.frame)).toEqual([0, 30000]);
    expect(JSON.parse(wav.metadata.tags['ICMT'] ?? '{}')).toMatchObject({
      controls: { bpm: 128, key: 'A minor', bars: 2 },
      loop: true,
    });
    // --loop is implied by the manifest (defaults.loop); keys match case-insensitively and enharmonically.
    const implied = run([
      'generate',
      '-m',
      'tiny-mel-loops',
      ...args,
      '--key',
      'bbm',
      '--seed',
      '42',
      '-o',
      '-',
    ]);
    expect(implied.code, implied.stderr).toBe(0);
    const w2 = readWav(implied.stdout);
    expect(w2.frames).toBe(60000);
    expect(w2.metadata.loops).toHaveLength(1);
    expect(JSON.parse(w2.metadata.tags['ICMT'] ?? '{}').controls.key).toBe('A# minor');
    // --no-loop makes a one-shot of the same 2 bars.
    const oneShot = run(['generate', '-m', 'tiny-mel-loops', ...args, '--no-loop', '--seed', '1', '-o', '-']);
    expect(oneShot.code, oneShot.stderr).toBe(0);
    expect(readWav(oneShot.stdout).metadata.loops).toEqual([]);
  });

  it('rejects unknown tags and keys, and loop lengths in seconds, with one line each', () => {
    const cases: [string[], RegExp][] = [
      [
        ['--tags', 'drums,kazoo'],
        /unknown tag "kazoo" for model tiny-mel-loops \(it knows: drums, bass, keys, pad\)/,
      ],
      [['--key', 'H minor'], /unknown key "H minor" for model tiny-mel-loops \(it knows: any, C major, /],
      [['--bpm', '200'], /bpm must be a number from 70 to 180, got 200/],
      [['--bars', '8'], /bars must be an integer from 1 to 4, got 8/],
      [['--seconds', '3'], /give --bars, not --seconds/],
      [['--decoder', 'vocoder'], /model tiny-mel-loops has no vocoder/],
      [['--decoder', 'magic'], /--decoder/],
    ];
    for (const [extra, message] of cases) {
      const r = run(['generate', '-m', 'tiny-mel-loops', ...extra, '-o', path.join(tmp, 'never.wav')]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')[0]).toMatch(message);
    }
    expect(existsSync(path.join(tmp, 'never.wav'))).toBe(false);
    const noKey = run(['generate', '-m', 'tiny-mel-generate', '-c', 'a', '--key', 'C major']);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/takes no --key/);
  });

  it('decodes mel with the pack vocoder by default, Griffin-Lim on request', () => {
    const voc = run(['generate', '-m', 'tiny-mel-vocoder', '-c', 'a', '--seed', '3', '-o', '-']);
    expect(voc.code, voc.stderr).toBe(0);
    expect(JSON.parse(readWav(voc.stdout).metadata.tags['ICMT'] ?? '{}')).toMatchObject({
      decoder: 'vocoder',
    });
    const gl = run([
      'generate',
      '-m',
      'tiny-mel-vocoder',
      '-c',
      'a',
      '--seed',
      '3',
      '--decoder',
      'griffinlim',
      '-o',
      '-',
    ]);
    expect(gl.code, gl.stderr).toBe(0);
    const glWav = readWav(gl.stdout);
    expect(JSON.parse(glWav.metadata.tags['ICMT'] ?? '{}')).toMatchObject({ decoder: 'griffinlim' });
    // Same generator as tiny-mel-generate: with Griffin-Lim the audio is the same.
    const ref = readWav(
      run(['generate', '-m', 'tiny-mel-generate', '-c', 'a', '--seed', '3', '-o', '-']).stdout,
    );
    expect(Array.from(glWav.audio.channels[0]!)).toEqual(Array.from(ref.audio.channels[0]!));
    expect(Array.from(readWav(voc.stdout).audio.channels[0]!)).not.toEqual(
      Array.from(ref.audio.channels[0]!),
    );
    const bad = run(['generate', '-m', 'tiny-mel-generate', '-c', 'a', '--decoder', 'vocoder']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /model tiny-mel-generate has no vocoder \(io\.vocoder\); use decoder griffinlim/,
    );
  });

  it('denoises files keeping rate, channels and bit depth; folders in batch', () => {
    const dir = path.join(tmp, 'den');
    mkdirSync(dir);
    const input = path.join(samples, 'speech-16k-noisy-5db.wav');
    const r = run(['denoise', input, '-m', 'tiny-stft-denoise', '-o', path.join(dir, 'out.wav'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = readWav(readFileSync(path.join(dir, 'out.wav')));
    const inp = readWav(readFileSync(input));
    expect(out.audio.sampleRate).toBe(inp.audio.sampleRate);
    expect(out.audio.channels.length).toBe(inp.audio.channels.length);
    expect(out.format.bitsPerSample).toBe(16);
    expect(out.frames).toBe(inp.frames);
    // stdin to stdout.
    const piped = run(['denoise', '-', '-m', 'tiny-stft-denoise', '-o', '-'], { input: readFileSync(input) });
    expect(piped.code, piped.stderr).toBe(0);
    expect(readWav(piped.stdout).frames).toBe(inp.frames);
    // --window: seconds the model sees at once; the chosen value is recorded in the file's comment.
    const short = run([
      'denoise',
      input,
      '-m',
      'tiny-stft-denoise',
      '--window',
      '0.5',
      '-o',
      path.join(dir, 'w.wav'),
    ]);
    expect(short.code, short.stderr).toBe(0);
    expect(readWav(readFileSync(path.join(dir, 'w.wav'))).frames).toBe(inp.frames);
    expect(readFileSync(path.join(dir, 'w.wav')).toString('latin1')).toContain('"windowSeconds":0.5');
    const tooShort = run(['denoise', input, '-m', 'tiny-stft-denoise', '--window', '0.1']);
    expect(tooShort.code).toBe(2);
    expect(tooShort.stderr).toMatch(/--window must be a number from 0\.25 to 60/);
  });

  it('bad input: missing file 66, not audio 65, directory without audio 66, unwritable output 73; no partial files', () => {
    const missing = run(['denoise', path.join(tmp, 'nope.wav'), '-m', 'tiny-stft-denoise']);
    expect(missing.code).toBe(66);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/nope\.wav: no such file/);
    const text = path.join(tmp, 'notes.wav');
    writeFileSync(text, 'this is not audio at all, just some text\n'.repeat(10));
    const bad = run(['denoise', text, '-m', 'tiny-stft-denoise']);
    expect(bad.code).toBe(65);
    expect(bad.stderr).toMatch(/notes\.wav/);
    const empty = path.join(tmp, 'empty');
    mkdirSync(empty);
    expect(run(['denoise', empty, '-m', 'tiny-stft-denoise']).code).toBe(66);
    if (process.getuid?.() !== 0) {
      const ro = path.join(tmp, 'ro');
      mkdirSync(ro);
      chmodSync(ro, 0o500);
      const r = run([
        'denoise',
        path.join(samples, 'speech-16k.wav'),
        '-m',
        'tiny-stft-denoise',
        '-o',
        ro + path.sep,
      ]);
      expect(r.code).toBe(73);
    }
    const full = path.join('/dev/full');
    if (existsSync(full)) {
      const r = run(['generate', '-m', 'tiny-mel-generate', '-c', 'a', '-o', '-'], {});
      expect(r.code).toBe(0);
    }
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('refuses to write audio to a terminal and conflicting flags', () => {
    const r = run(['generate', '-m', 'tiny-mel-generate', '-c', 'a', '--json', '-o', '-']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--json and -o -/);
  });
});
