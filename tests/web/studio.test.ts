/**
 * The web studio end to end in Debian's Chromium (headless, driven by playwright-core) against a
 * real server serving web/: generate a clip and hear it while it streams (the played output is
 * captured and must equal the generated audio sample for sample: no gaps), denoise an uploaded
 * WAV, A/B it and download the result; screenshots go to the temp folder and must show a
 * rendered spectrogram.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav, writeWavFile } from '../../src/audio/index.ts';
import type { Runtime } from '../../src/runtime/index.ts';
import type { SonodiffServer } from '../../src/server/index.ts';
import { DEN, GEN, newRuntime, startServer } from '../server/helpers.ts';
import { decodePng } from './png.ts';

const CHROMIUM = '/usr/bin/chromium';
const root = path.resolve(import.meta.dirname, '../..');
const webDir = path.join(root, 'web');
const entry = path.join(webDir, 'dist/web/src/main.js');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`tests/web: skipped, ${CHROMIUM} not found (CI installs Debian's chromium)`);

interface StudioHandle {
  phase: string;
  playing: boolean;
  ab: 'A' | 'B';
  take: { kind: string; name: string; sampleRate: number; channels: Float32Array[] } | null;
  stats: {
    firstAudioMs: number | null;
    firstSoundMs: number | null;
    chunks: number;
    late: number;
    blocks: Array<{ startFrame: number; frames: number }>;
    placements: Array<{ streamFrame: number; frames: number; frame: number }>;
  };
  context: AudioContext | null;
  view: { columnCount: number } | null;
  capture: { start(): Promise<void>; stop(): Promise<Float32Array> };
}
declare const window: { sonodiffStudio: StudioHandle };

/** Newest modification time among the files the page is compiled from. */
function newestSource(): number {
  const dirs = ['web/src', 'src/client', 'src/protocol', 'src/bridge', 'src/spectrogram'];
  let t = statSync(path.join(webDir, 'tsconfig.json')).mtimeMs;
  for (const d of dirs)
    for (const f of readdirSync(path.join(root, d)))
      if (f.endsWith('.ts')) t = Math.max(t, statSync(path.join(root, d, f)).mtimeMs);
  return t;
}

/** Pixels in a screenshot region that are not the canvas background, and the brightest one. */
function paintedShare(
  png: Buffer,
  box: { x: number; y: number; width: number; height: number },
): { share: number; peak: number } {
  const img = decodePng(png);
  let painted = 0;
  let peak = 0;
  let n = 0;
  // Inset a few pixels to stay off the border and the label.
  for (let y = Math.ceil(box.y + 20); y < Math.floor(box.y + box.height - 3); y++) {
    for (let x = Math.ceil(box.x + 3); x < Math.floor(box.x + box.width - 3); x++) {
      const o = (y * img.width + x) * 4;
      const [r, g, b] = [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
      n++;
      // Background #0b0d12 and the colormap's floor are near-black; painted cells are not.
      if (Math.max(Math.abs(r - 11), Math.abs(g - 13), Math.abs(b - 18)) > 40) painted++;
      peak = Math.max(peak, r + g + b);
    }
  }
  return { share: painted / n, peak };
}

describe.skipIf(!hasChromium)('web studio in Chromium', () => {
  let runtime: Runtime;
  let server: SonodiffServer;
  let browser: import('playwright-core').Browser;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-web-'));
  const shots = path.join(os.tmpdir(), 'sonodiff-studio-screenshots');

  beforeAll(async () => {
    // The page is plain TypeScript compiled by tsc; build it when the output is missing or stale.
    if (!existsSync(entry) || statSync(entry).mtimeMs < newestSource()) {
      execFileSync(
        process.execPath,
        [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'web/tsconfig.json'],
        {
          cwd: root,
          stdio: 'inherit',
        },
      );
    }
    runtime = newRuntime();
    server = await startServer(runtime, { webDir });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-gpu',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await runtime?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('generates, plays gaplessly while streaming, denoises an upload, A/Bs and downloads', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForFunction(() => window.sonodiffStudio?.phase === 'idle', null, { timeout: 15_000 });
    expect(await page.getAttribute('#conn', 'data-state')).toBe('open');

    // Generate 3 s and capture what reaches the speakers while it streams.
    await page.selectOption('#gen-model', GEN);
    await page.selectOption('#gen-class', 'b');
    await page.fill('#gen-seconds', '3');
    await page.evaluate(() => window.sonodiffStudio.capture.start());
    await page.keyboard.press('Control+Enter'); // works from inside a field, unlike G
    await page.waitForFunction(() => window.sonodiffStudio.phase === 'generating', null, { timeout: 5000 });
    await page.waitForFunction(
      () => window.sonodiffStudio.phase !== 'generating' && !window.sonodiffStudio.playing,
      null,
      { timeout: 30_000, polling: 100 },
    );
    const played = await page.evaluate(async () => {
      const s = window.sonodiffStudio;
      const rec = await s.capture.stop();
      const take = s.take!.channels[0]!;
      // Align on the first clearly audible sample (a start between samples leaves a ~1e-11 crumb before it).
      let peak = 0;
      for (const v of take) peak = Math.max(peak, Math.abs(v));
      const audible = 1e-3 * peak;
      let lead = 0;
      while (lead < take.length && Math.abs(take[lead]!) <= audible) lead++;
      let first = 0;
      while (first < rec.length && Math.abs(rec[first]!) <= audible) first++;
      const offset = first - lead;
      let maxDiff = 0;
      for (let i = 0; i < take.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs((rec[offset + i] ?? 0) - take[i]!));
      let blockGaps = 0;
      const b = s.stats.blocks;
      for (let i = 1; i < b.length; i++)
        blockGaps += Math.abs(b[i]!.startFrame - (b[i - 1]!.startFrame + b[i - 1]!.frames));
      let chunkGaps = 0;
      const p = s.stats.placements;
      for (let i = 1; i < p.length; i++)
        chunkGaps += Math.abs(p[i]!.frame - (p[i - 1]!.frame + p[i - 1]!.frames));
      return {
        phase: s.phase,
        rate: s.context!.sampleRate,
        takeFrames: take.length,
        recorded: rec.length,
        offset,
        maxDiff,
        peak,
        blockGaps,
        chunkGaps,
        chunks: s.stats.chunks,
        placed: p.length,
        late: s.stats.late,
        firstAudioMs: s.stats.firstAudioMs,
        firstSoundMs: s.stats.firstSoundMs,
        columns: s.view!.columnCount,
      };
    });
    console.log(`studio generate: ${JSON.stringify(played)}`);
    expect(played.phase).toBe('idle');
    expect(played.takeFrames).toBe(3 * played.rate);
    expect(played.chunks).toBeGreaterThan(3);
    expect(played.placed).toBe(played.chunks);
    expect(played.late).toBe(0);
    expect(played.chunkGaps).toBe(0);
    expect(played.blockGaps).toBe(0);
    // What played is the generated stream, sample for sample, in one piece.
    expect(played.offset).toBeGreaterThanOrEqual(0);
    expect(played.recorded).toBeGreaterThanOrEqual(played.offset + played.takeFrames);
    // Chromium starts a buffer whose time is an ulp below its frame with a 1e-11-sample offset:
    // inaudible, but not bit-exact. A gap, an overlap or a one-frame slip would be ~peak.
    expect(played.maxDiff).toBeLessThanOrEqual(1e-6 * Math.max(1, played.peak));
    expect(played.firstAudioMs).toBeGreaterThan(0);
    expect(played.columns).toBeGreaterThan(50);

    const genShot = path.join(shots, 'studio-generate.png');
    const png1 = await page.screenshot({ path: genShot });
    const box = (await page.locator('#spec').boundingBox())!;
    const spec1 = paintedShare(png1, box);
    console.log(`screenshot ${genShot}: spectrogram painted ${(spec1.share * 100).toFixed(1)} %`);
    expect(spec1.share).toBeGreaterThan(0.15);
    expect(spec1.peak).toBeGreaterThan(500); // bright cells of the colormap, not just dark ones

    // Denoise an uploaded noisy tone at the model's rate.
    const rate = 8000;
    const n = 2 * rate;
    const noisy = new Float32Array(n);
    let seed = 1;
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      noisy[i] = 0.4 * Math.sin((2 * Math.PI * 440 * i) / rate) + 0.1 * (seed / 2 ** 32 - 0.5);
    }
    const upload = path.join(tmp, 'noisy-tone.wav');
    await writeWavFile(upload, { sampleRate: rate, channels: [noisy] }, { encoding: 'float32' });
    await page.selectOption('#den-model', DEN);
    await page.setInputFiles('#den-file', upload);
    await page.waitForFunction(() => window.sonodiffStudio.take?.kind === 'denoise', null, { timeout: 5000 });
    await page.click('#den-go');
    await page.waitForFunction(
      () =>
        window.sonodiffStudio.phase === 'idle' &&
        window.sonodiffStudio.take?.name.endsWith('-denoised') === true,
      null,
      { timeout: 20_000, polling: 100 },
    );
    expect(await page.locator('#ab').isVisible()).toBe(true);
    await page.keyboard.press(' ');
    await page.waitForFunction(() => window.sonodiffStudio.playing, null, { timeout: 3000 });
    await page.keyboard.press('a');
    expect(await page.evaluate(() => window.sonodiffStudio.ab)).toBe('A');
    await page.keyboard.press('b');
    expect(await page.evaluate(() => window.sonodiffStudio.ab)).toBe('B');
    await page.keyboard.press(' ');
    expect(await page.evaluate(() => window.sonodiffStudio.playing)).toBe(false);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe('noisy-tone-denoised.wav');
    const saved = path.join(tmp, 'denoised.wav');
    await download.saveAs(saved);
    const wav = readWav(readFileSync(saved));
    expect(wav.audio.sampleRate).toBe(rate);
    expect(wav.audio.channels).toHaveLength(1);
    expect(wav.audio.channels[0]!.length).toBe(n);
    let diff = 0;
    for (let i = 0; i < n; i++) diff += Math.abs(wav.audio.channels[0]![i]! - noisy[i]!);
    expect(diff / n).toBeGreaterThan(1e-3); // the model changed it

    const denShot = path.join(shots, 'studio-denoise.png');
    const png2 = await page.screenshot({ path: denShot });
    const spec2 = paintedShare(png2, (await page.locator('#spec').boundingBox())!);
    console.log(`screenshot ${denShot}: spectrogram painted ${(spec2.share * 100).toFixed(1)} %`);
    expect(spec2.share).toBeGreaterThan(0.15);
    expect(errors).toEqual([]);
    await page.close();
  });
});
