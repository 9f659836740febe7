import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readWav } from '../../src/audio/wav-read.ts';
import { WavStreamWriter } from '../../src/audio/wav-stream-writer.ts';
import { encodeWav } from '../../src/audio/wav-write.ts';
import type { SonodiffError } from '../../src/errors.ts';
import { makeTempDir, run, walkChunks } from './helpers.ts';

const tmp = makeTempDir('stream-writer');
const f = (name: string): string => join(tmp.dir, name);
afterAll(() => tmp.cleanup());

function noise(frames: number, nch: number, seed: number): Float32Array[] {
  let s = seed;
  return Array.from({ length: nch }, () => {
    const ch = new Float32Array(frames);
    for (let i = 0; i < frames; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      ch[i] = (s / 4294967296 - 0.5) * 1.2;
    }
    return ch;
  });
}

describe('WavStreamWriter', () => {
  for (const encoding of ['pcm16', 'pcm24', 'float32'] as const) {
    it(`${encoding}: blocks of uneven sizes give the same bytes as encodeWav of the whole`, async () => {
      const whole = noise(200_001, 2, 7);
      const w = await WavStreamWriter.open(f(`s-${encoding}.wav`), {
        sampleRate: 48000,
        channels: 2,
        encoding,
      });
      const sizes = [1, 999, 70_000, 65_536, 0, 63_465];
      let at = 0;
      for (const n of sizes) {
        await w.write(whole.map((ch) => ch.subarray(at, at + n)));
        at += n;
      }
      expect(at).toBe(200_001);
      expect(w.frames).toBe(200_001);
      const meta = { title: 'stream', loops: [{ start: 0, end: 200_001 }], acid: { tempo: 90, beats: 8 } };
      const r = await w.close(meta);
      const bytes = new Uint8Array(readFileSync(f(`s-${encoding}.wav`)));
      expect(r.bytes).toBe(bytes.length);
      expect(r.clippedSamples).toBe(0); // noise within ±0.6
      expect(bytes).toEqual(encodeWav({ sampleRate: 48000, channels: whole }, { encoding, metadata: meta }));
      expect(readWav(bytes).metadata.acid?.tempo).toBe(90);
      expect(
        run('sox', ['--i', '-s', f(`s-${encoding}.wav`)])
          .toString()
          .trim(),
      ).toBe('200001');
      expect(walkChunks(bytes).riffSize).toBe(bytes.length - 8);
      expect(readdirSync(tmp.dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    });
  }

  it('abort() removes the temporary file and leaves no output', async () => {
    const w = await WavStreamWriter.open(f('aborted.wav'), { sampleRate: 16000, channels: 1 });
    await w.write(noise(16000, 1, 1));
    expect(existsSync(w.tempPath)).toBe(true);
    await w.abort();
    expect(existsSync(w.tempPath)).toBe(false);
    expect(existsSync(f('aborted.wav'))).toBe(false);
    await expect(w.write(noise(10, 1, 1))).rejects.toThrow(/aborted/);
  });

  it('refuses an existing target at open; a wrong block is a RangeError', async () => {
    writeFileSync(f('taken.wav'), 'x');
    const err = (await WavStreamWriter.open(f('taken.wav'), { sampleRate: 16000, channels: 1 }).catch(
      (e: unknown) => e,
    )) as SonodiffError;
    expect(err.code).toBe('ERR_OUTPUT');
    const w = await WavStreamWriter.open(f('ok.wav'), { sampleRate: 16000, channels: 2 });
    expect(() => w.write([new Float32Array(4)])).toThrow(RangeError);
    await expect(WavStreamWriter.open(f('bad.wav'), { sampleRate: 16000, channels: 0 })).rejects.toThrow(
      /opts.channels/,
    );
    const r = await w.close();
    expect(r.frames).toBe(0);
    expect(readWav(new Uint8Array(readFileSync(f('ok.wav')))).frames).toBe(0);
  });
});
