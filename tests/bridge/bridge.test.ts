/**
 * The bridge against a real server on loopback, playing headless (sinkId {type:'none'}) on a real
 * node-web-audio-api AudioContext: 32 s of stream scheduled bar-aligned and gapless, committed as
 * one bar-exact WAV with acid/smpl/cue metadata; a resume after a forced disconnect; the CLI.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '../../src/audio/index.ts';
import { BarGrid, Bridge, type BridgeEvent } from '../../src/bridge/index.ts';
import { registerBridge } from '../../src/cli/commands/bridge.ts';
import { CliContext } from '../../src/cli/context.ts';
import type { Runtime } from '../../src/runtime/index.ts';
import type { SonodiffServer } from '../../src/server/index.ts';
import { GEN, newRuntime, startServer } from '../server/helpers.ts';

let runtime: Runtime;
let server: SonodiffServer;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-bridge-'));

beforeAll(async () => {
  runtime = newRuntime();
  server = await startServer(runtime);
});
afterAll(async () => {
  await server?.close();
  await runtime?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('bridge against a server', () => {
  it('schedules 32 s of stream on bars, gapless, and commits a bar-exact WAV', async () => {
    const outDir = path.join(tmp, 'gen');
    const rate = 48000;
    const events: BridgeEvent[] = [];
    const bridge = new Bridge({
      url: server.wsUrl,
      model: GEN,
      params: { className: 'b', seed: 7, steps: 4 },
      bpm: 120,
      bars: 16,
      pacing: 'asap',
      sinkId: { type: 'none' },
      sampleRate: rate,
      // Start 10 s out: a loaded CI machine computing slower than real time for a while must not
      // turn this into a late-audio test (run() does not wait for playback, so this costs nothing).
      leadSeconds: 10,
      outDir,
      history: true,
      waitForPlayback: false,
      onEvent: (e) => events.push(e),
    });
    const summary = await bridge.run();
    const grid = new BarGrid({ bpm: 120, sampleRate: rate });
    expect(summary.status).toBe('done');
    expect(summary.frames).toBe(grid.barFrames(0, 16)); // 32 s
    expect(summary.frames / rate).toBeGreaterThanOrEqual(30);
    const player = bridge.player!;
    const bar = summary.bar!;
    // Bar-aligned: stream frame 0 on a bar start, every chunk at bar frame + stream offset.
    expect(player.placements[0]!.frame).toBe(grid.frameOfBar(bar));
    let gaps = 0;
    for (const [i, p] of player.placements.entries()) {
      expect(p.frame).toBe(grid.frameOfBar(bar) + p.streamFrame);
      if (i > 0) {
        const q = player.placements[i - 1]!;
        gaps += Math.abs(p.frame - (q.frame + q.frames));
      }
    }
    expect(gaps).toBe(0);
    // Gapless in what the engine got: aligned blocks back to back, start times exact in frames.
    const blocks = player.blocks;
    let blockGaps = 0;
    let worstWhen = 0;
    for (const [i, b] of blocks.entries()) {
      if (i > 0) blockGaps += Math.abs(b.startFrame - (blocks[i - 1]!.startFrame + blocks[i - 1]!.frames));
      worstWhen = Math.max(worstWhen, Math.abs(b.when * rate - b.startFrame));
    }
    expect(blockGaps).toBe(0);
    expect(worstWhen).toBeLessThan(1e-6);
    expect(blocks[0]!.startFrame).toBeLessThanOrEqual(grid.frameOfBar(bar));
    expect(blocks.at(-1)!.startFrame + blocks.at(-1)!.frames).toBeGreaterThanOrEqual(
      grid.frameOfBar(bar + 16),
    );
    expect(summary.player.late).toBe(0);
    expect(summary.player.minLeadFrames).toBeGreaterThan(0);
    console.log(
      `bridge: ${summary.chunks} chunks, ${blocks.length} blocks, first audio ${summary.firstAudioMs?.toFixed(0)} ms, ` +
        `min lead ${(summary.player.minLeadFrames / rate).toFixed(3)} s, max |when·rate − frame| ${worstWhen.toExponential(1)}`,
    );

    // The committed file: 16 bars exactly, tempo and bars in the name, acid/smpl/cue inside.
    expect(summary.files).toHaveLength(1);
    const file = summary.files[0]!;
    expect(path.basename(file.path)).toMatch(/_tiny-mel-generate-b_120bpm_4-4_bar\d{4}_16bars\.wav$/);
    expect(readdirSync(outDir)).toEqual([path.basename(file.path)]);
    const wav = readWav(readFileSync(file.path));
    expect(wav.audio.channels[0]!.length).toBe(grid.barFrames(0, 16));
    expect(wav.metadata.acid?.tempo).toBeCloseTo(120, 5);
    expect(wav.metadata.acid?.beats).toBe(64);
    expect(wav.metadata.loops[0]).toMatchObject({ start: 0 });
    expect(wav.metadata.cuePoints.map((c) => c.frame)).toEqual(
      Array.from({ length: 16 }, (_, k) => grid.frameOfBar(k)),
    );
    expect(events.some((e) => e.type === 'commit')).toBe(true);
  });

  it('resumes after a forced disconnect without losing or repeating audio', async () => {
    const rate = 16000;
    let dropped = 0;
    const bridge = new Bridge({
      url: server.wsUrl,
      model: GEN,
      params: { className: 'c', seed: 3, steps: 4 },
      bpm: 240,
      bars: 6, // 6 s, realtime pacing: credit follows playback
      sinkId: { type: 'none' },
      sampleRate: rate,
      lookaheadSeconds: 1.5,
      history: true,
      waitForPlayback: false,
      reconnect: { retries: 20, minDelayMs: 50, maxDelayMs: 200 },
      onEvent: (e) => {
        if (e.type === 'segment') setTimeout(() => (dropped += server.dropConnections()), 1000);
      },
    });
    const summary = await bridge.run();
    const grid = new BarGrid({ bpm: 240, sampleRate: rate });
    expect(dropped).toBe(1);
    expect(summary.reconnects).toBe(1);
    expect(summary.status).toBe('done');
    expect(summary.frames).toBe(grid.barFrames(0, 6));
    const ps = bridge.player!.placements;
    // Every stream frame exactly once, in order.
    let next = 0;
    for (const p of ps) {
      expect(p.streamFrame).toBe(next);
      next += p.frames;
    }
    expect(next).toBe(summary.frames);
    // Still on the bar grid: a chunk either abuts the previous one or (if it came too late) moved
    // by whole bars; the 1.5 s lookahead normally covers the outage.
    for (const p of ps) expect(p.frame).toBe(grid.frameOfBar(p.segmentBar) + p.streamFrame);
    const moved = ps.filter((p, i) => i > 0 && p.frame !== ps[i - 1]!.frame + ps[i - 1]!.frames);
    expect(moved.length).toBe(summary.player.late);
    console.log(`resume: ${summary.reconnects} reconnect, ${summary.player.late} late move(s)`);
  });
});

describe('sonodiff bridge (CLI)', () => {
  it('plays a clip headless, commits it and prints a JSON summary', async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    let stdout = '';
    let stderr = '';
    out.on('data', (d) => (stdout += d));
    err.on('data', (d) => (stderr += d));
    const ctx = new CliContext(
      { stdout: out, stderr: err, stdin: new PassThrough(), env: {}, cwd: tmp },
      new AbortController().signal,
    );
    const program = new Command('sonodiff').exitOverride();
    registerBridge(program, ctx);
    await program.parseAsync(
      [
        'bridge',
        '--url',
        server.wsUrl,
        '--sink',
        'none',
        '--prompt',
        'a',
        '--bars',
        '2',
        '--bpm',
        '240',
        '--time-signature',
        '3/4',
        '--asap',
        '--sample-rate',
        '8000',
        '--out-dir',
        'cli-out',
        '--json',
      ],
      { from: 'user' },
    );
    const j = JSON.parse(stdout) as { status: string; frames: number; files: Array<{ path: string }> };
    expect(j.status).toBe('done');
    const grid = new BarGrid({ bpm: 240, timeSignature: [3, 4], sampleRate: 8000 });
    expect(j.frames).toBe(grid.barFrames(0, 2));
    expect(j.files).toHaveLength(1);
    expect(path.basename(j.files[0]!.path)).toMatch(/_tiny-mel-generate-a_240bpm_3-4_bar\d{4}_2bars\.wav$/);
    expect(path.dirname(j.files[0]!.path)).toBe(path.join(tmp, 'cli-out'));
    expect(stderr).toMatch(/committed .*2bars\.wav/);
    expect(readWav(readFileSync(j.files[0]!.path)).metadata.acid?.beats).toBe(6);
  });
});
