/**
 * The bar grid, the block timeline and the player, without a server: exact bar positions over an
 * hour, blocks that tile the timeline, and real Web Audio rendering (OfflineAudioContext) that
 * must reproduce the placed stream bit for bit, including a late chunk moved to the next bar.
 */
import { OfflineAudioContext } from 'node-web-audio-api';
import { describe, expect, it } from 'vitest';
import {
  BarGrid,
  BlockTimeline,
  exactTime,
  parseTimeSignature,
  StreamPlayer,
} from '../../src/bridge/index.ts';

/** round(k × beats × 240 × rate / (unit × bpm)) in exact integer arithmetic (integer bpm). */
function exactBarFrame(k: number, bpm: number, ts: [number, number], rate: number): number {
  const num = BigInt(k) * BigInt(ts[0] * 240 * rate) * 2n + BigInt(ts[1] * bpm);
  const den = BigInt(ts[1] * bpm) * 2n;
  // floor((2n + d) / 2d) = round-half-up of n / d.
  return Number(num / den);
}

function signal(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 32 - 0.5;
  }
  return x;
}

describe('BarGrid', () => {
  it('puts every bar of an hour exactly where integer arithmetic does (no drift)', () => {
    const cases: Array<[number, [number, number], number]> = [
      [120, [4, 4], 48000],
      [127, [7, 8], 44100],
      [93, [3, 4], 48000],
      [174, [4, 4], 96000],
    ];
    for (const [bpm, ts, rate] of cases) {
      const g = new BarGrid({ bpm, timeSignature: ts, sampleRate: rate });
      const barsPerHour = Math.ceil(3600 / ((g.quartersPerBar * 60) / bpm));
      let worst = 0;
      let accumulated = 0;
      for (let k = 0; k <= barsPerHour; k++) {
        const f = g.frameOfBar(k);
        expect(f).toBe(exactBarFrame(k, bpm, ts, rate));
        worst = Math.max(worst, Math.abs(f - k * g.framesPerBar));
        if (k < barsPerHour) accumulated += g.barFrames(k);
      }
      // Never more than half a frame from the ideal position, and the bars tile the hour exactly.
      expect(worst).toBeLessThanOrEqual(0.5);
      expect(accumulated).toBe(g.frameOfBar(barsPerHour));
      expect(g.frameOfBar(barsPerHour)).toBeGreaterThanOrEqual(3600 * rate);
    }
  });

  it('finds the next bar, with an origin, and parses meters', () => {
    const g = new BarGrid({ bpm: 127, timeSignature: [7, 8], sampleRate: 44100, originFrame: 1000 });
    for (const f of [0, 999, 1000, 1001, 73_000, 12_345_678]) {
      const b = g.barAtOrAfter(f);
      expect(g.frameOfBar(b)).toBeGreaterThanOrEqual(f);
      expect(g.frameOfBar(b - 1)).toBeLessThan(f);
      expect(g.frameOfBar(g.barAt(f))).toBeLessThanOrEqual(f);
    }
    expect(g.frameOfBar(0)).toBe(1000);
    expect(parseTimeSignature('6/8')).toEqual([6, 8]);
    expect(() => parseTimeSignature('5/3')).toThrow(RangeError);
    expect(() => new BarGrid({ bpm: 0, sampleRate: 48000 })).toThrow(/bpm/);
  });
});

describe('BlockTimeline', () => {
  it('tiles written audio into aligned blocks that abut', () => {
    const t = new BlockTimeline({ channels: 1, blockFrames: 256 });
    const src = signal(20_000, 5);
    let at = 0;
    const start = 1234;
    const blocks = [];
    for (let i = 0; at < src.length; i++) {
      const n = Math.min(src.length - at, 100 + ((i * 977) % 1500));
      t.write(start + at, [src.subarray(at, at + n)]);
      at += n;
      blocks.push(...t.take(0));
    }
    blocks.push(...t.drain());
    expect(blocks[0]!.startFrame).toBe(Math.floor(start / 256) * 256);
    for (let i = 1; i < blocks.length; i++)
      expect(blocks[i]!.startFrame).toBe(blocks[i - 1]!.startFrame + 256);
    const out = new Float32Array(blocks.length * 256);
    for (const [i, b] of blocks.entries()) out.set(b.channels[0]!, i * 256);
    const off = start - blocks[0]!.startFrame;
    expect(out.subarray(off, off + src.length)).toEqual(src);
    expect(() => t.write(0, [new Float32Array(4)])).toThrow(/committed/);
  });

  it('gives start times that never map past their frame', () => {
    let high = 0;
    let past = 0;
    let worst = 0;
    for (const rate of [8000, 22050, 44100, 48000, 96000]) {
      for (let k = 0; k < 200_000; k += 7) {
        const frame = k * 128;
        const t = exactTime(frame, rate);
        if (t * rate > frame) past++;
        worst = Math.max(worst, frame - t * rate);
        if ((frame / rate) * rate > frame) high++;
      }
    }
    expect(past).toBe(0);
    expect(worst).toBeLessThan(1e-6);
    // Plain division lands past the frame often (an engine that rounds up, Chromium, would start
    // a frame late); exactTime never does.
    expect(high).toBeGreaterThan(100);
  });
});

describe('StreamPlayer on an OfflineAudioContext', () => {
  it('renders a stream bar-aligned and bit-exact, and moves a late chunk to the next bar', async () => {
    const rate = 44100;
    const seconds = 12;
    const ctx = new OfflineAudioContext({ numberOfChannels: 2, length: rate * seconds, sampleRate: rate });
    // 127 bpm 7/8: 72_921.25… frames per bar, so bars fall between samples and off the blocks.
    const grid = new BarGrid({ bpm: 127, timeSignature: [7, 8], sampleRate: rate });
    let now = 0;
    const player = new StreamPlayer({
      context: ctx,
      grid,
      channels: 2,
      clock: () => now,
      tickMs: null,
      history: true,
    });
    const seg = player.startSegment();
    const left = signal(4 * rate, 1);
    const right = signal(4 * rate, 2);
    let at = 0;
    for (let i = 0; at < left.length; i++) {
      const n = Math.min(left.length - at, 777 + ((i * 4099) % 6000));
      seg.push(at, [left.subarray(at, at + n), right.subarray(at, at + n)]);
      at += n;
      now += Math.round(n / 3); // the stream arrives faster than it plays
    }
    const firstBar = seg.bar!;
    expect(firstBar).toBe(grid.barAtOrAfter(player.leadFrames));
    // A second segment whose first chunk comes too late for the bar it would have taken.
    const seg2 = player.startSegment(grid.barAtOrAfter(player.writtenFrame));
    const wanted = seg2.bar!;
    now = grid.frameOfBar(wanted) + 500; // playback already passed that bar's start
    const tail = signal(rate, 3);
    seg2.push(0, [tail, tail]);
    player.flush();
    expect(player.lateEvents).toHaveLength(1);
    expect(seg2.bar).toBe(wanted + 1);

    // Bookkeeping: every placement sits at its segment's bar frame plus its stream offset; blocks abut.
    for (const p of player.placements) expect(p.frame).toBe(grid.frameOfBar(p.segmentBar) + p.streamFrame);
    const first = player.placements.filter((p) => p.segment === seg.id);
    for (let i = 1; i < first.length; i++)
      expect(first[i]!.frame).toBe(first[i - 1]!.frame + first[i - 1]!.frames);
    for (const b of player.blocks) {
      expect(b.startFrame % 128).toBe(0);
      expect(b.when).toBe(b.startFrame / rate); // node-web-audio-api maps frame / rate exactly
    }
    const runs = player.blocks.filter(
      (b, i, all) => i > 0 && b.startFrame !== all[i - 1]!.startFrame + b.frames,
    );
    expect(runs).toHaveLength(1); // one jump: the silence before the moved segment

    // The engine's output: the stream exactly at its bar, silence elsewhere.
    const out = await ctx.startRendering();
    const L = out.getChannelData(0);
    const R = out.getChannelData(1);
    const s0 = grid.frameOfBar(firstBar);
    expect(L.subarray(s0, s0 + left.length)).toEqual(left);
    expect(R.subarray(s0, s0 + right.length)).toEqual(right);
    expect(L.subarray(0, s0).every((v) => v === 0)).toBe(true);
    const s1 = grid.frameOfBar(wanted + 1);
    expect(L.subarray(s1, s1 + tail.length)).toEqual(tail);
    expect(L.subarray(s0 + left.length, s1).every((v) => v === 0)).toBe(true);
  });
});
