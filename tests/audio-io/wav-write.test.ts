import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import wavefile from 'wavefile';
import type { PcmAudio } from '../../src/audio/types.ts';
import { readWav } from '../../src/audio/wav-read.ts';
import { encodeWav, type WavMetadataInput, writeWavFile } from '../../src/audio/wav-write.ts';
import { SonodiffError } from '../../src/errors.ts';
import {
  ffmpegF32,
  ffprobeJson,
  makeTempDir,
  maxDiffInterleaved,
  run,
  soxF32,
  walkChunks,
} from './helpers.ts';

const tmp = makeTempDir('wav-write');
const f = (name: string): string => join(tmp.dir, name);
afterAll(() => tmp.cleanup());

function testAudio(frames: number, nch: number, rate = 44100, amp = 0.8): PcmAudio {
  const channels = Array.from({ length: nch }, (_, c) => {
    const ch = new Float32Array(frames);
    for (let i = 0; i < frames; i++) ch[i] = amp * Math.sin((2 * Math.PI * (220 * (c + 1)) * i) / rate + c);
    return ch;
  });
  return { sampleRate: rate, channels };
}

const meta: WavMetadataInput = {
  title: 'Rain on a tin roof',
  comment: 'prompt="rain on a tin roof, close mic"; seed=1234; model=sonodiff-audio-s',
  software: 'sonodiff 0.1.0',
  artist: 'sonodiff',
  cuePoints: [
    { frame: 22050, label: 'drop' },
    { frame: 7, label: 'start' },
  ],
  loops: [{ start: 100, end: 88200 }],
  acid: { tempo: 120, beats: 4, meter: [4, 4], rootNote: 57 },
};

describe('round trips', () => {
  it('float32: identical samples, metadata back', () => {
    const a = testAudio(88201, 2);
    a.channels[0]![5] = 1.75; // float may exceed full scale
    const back = readWav(encodeWav(a, { encoding: 'float32', metadata: meta }));
    expect(back.format).toMatchObject({
      sampleFormat: 'float',
      bitsPerSample: 32,
      channels: 2,
      sampleRate: 44100,
    });
    for (let c = 0; c < 2; c++) expect(back.audio.channels[c]).toEqual(a.channels[c]);
    expect(back.metadata.tags).toEqual({
      INAM: meta.title,
      ICMT: meta.comment,
      ISFT: meta.software,
      IART: meta.artist,
    });
    expect(back.metadata.cuePoints.map((c) => [c.frame, c.label])).toEqual([
      [7, 'start'],
      [22050, 'drop'],
    ]);
    expect(back.metadata.loops).toEqual([{ start: 100, end: 88200, type: 0, playCount: 0 }]);
    expect(back.metadata.acid).toEqual({
      oneShot: false,
      stretch: true,
      diskBased: false,
      rootNote: 57,
      beats: 4,
      meterNumerator: 4,
      meterDenominator: 4,
      tempo: 120,
    });
  });

  it('pcm16 without dither: exactly round(x·32768); with TPDF dither: within 1.5 LSB, mean ≈ 0', () => {
    const a = testAudio(44100, 1);
    const plain = readWav(encodeWav(a, { encoding: 'pcm16', dither: false })).audio.channels[0]!;
    let exact = 0;
    for (let i = 0; i < plain.length; i++)
      if (plain[i] === Math.round(a.channels[0]![i]! * 32768) / 32768) exact++;
    expect(exact).toBe(44100);
    const dith = readWav(encodeWav(a, { encoding: 'pcm16' })).audio.channels[0]!;
    let maxErr = 0;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < dith.length; i++) {
      const e = (dith[i]! - a.channels[0]![i]!) * 32768;
      maxErr = Math.max(maxErr, Math.abs(e));
      sum += e;
      sq += e * e;
    }
    expect(maxErr).toBeLessThanOrEqual(1.5);
    expect(Math.abs(sum / 44100)).toBeLessThan(0.02);
    // TPDF (±1 LSB) plus rounding: error power 1/6 + 1/12 = 0.25 LSB²
    expect(sq / 44100).toBeGreaterThan(0.22);
    expect(sq / 44100).toBeLessThan(0.28);
    // deterministic: same seed, same bytes
    expect(encodeWav(a)).toEqual(encodeWav(a));
  });

  it('pcm24: within half an LSB', () => {
    const a = testAudio(10000, 2);
    const back = readWav(encodeWav(a, { encoding: 'pcm24' })).audio;
    let m = 0;
    for (let c = 0; c < 2; c++) {
      for (let i = 0; i < 10000; i++) m = Math.max(m, Math.abs(back.channels[c]![i]! - a.channels[c]![i]!));
    }
    expect(m).toBeLessThanOrEqual(0.5 / 8388608 + 1e-12);
  });

  it('clips out-of-range and NaN samples safely and counts them', async () => {
    const ch = Float32Array.from([0, 1, -1, 1.5, -2, Number.NaN, 0.5]);
    const r = await writeWavFile(f('clip.wav'), { sampleRate: 8000, channels: [ch] }, { dither: false });
    expect(r.clippedSamples).toBe(4); // 1.0 (not representable), 1.5, -2, NaN
    const back = readWav(new Uint8Array(readFileSync(f('clip.wav')))).audio.channels[0]!;
    expect(Array.from(back, (v) => Math.round(v * 32768))).toEqual([
      0, 32767, -32768, 32767, -32768, 0, 16384,
    ]);
  });
});

describe('chunks as other tools see them', () => {
  const files: Array<[string, 'pcm16' | 'pcm24' | 'float32', number]> = [
    ['meta16.wav', 'pcm16', 2],
    ['meta24-mono-odd.wav', 'pcm24', 1],
    ['metaf32.wav', 'float32', 2],
  ];
  for (const [name, encoding, nch] of files) {
    it(`${name}: independent byte walk, sox and ffprobe accept it`, async () => {
      const frames = nch === 1 ? 88201 : 88200; // mono 24-bit with odd frames → odd data, pad byte
      const a = testAudio(frames, nch);
      await writeWavFile(f(name), a, { encoding, metadata: meta });
      const bytes = new Uint8Array(readFileSync(f(name)));

      const walk = walkChunks(bytes);
      expect(walk.riffSize).toBe(bytes.length - 8);
      expect(bytes.length % 2).toBe(0);
      const ids = walk.chunks.map((c) => c.id);
      for (const id of ['fmt ', 'data', 'cue ', 'smpl', 'LIST', 'acid']) expect(ids).toContain(id);
      const last = walk.chunks.at(-1)!;
      expect(last.offset + 8 + last.size + (last.size % 2)).toBe(bytes.length);
      const data = walk.chunks.find((c) => c.id === 'data')!;
      expect(data.size).toBe(frames * nch * (encoding === 'pcm24' ? 3 : encoding === 'pcm16' ? 2 : 4));

      // acid: 24 bytes; flags stretch|root; root 57; 0x8000; beats; meter 4/4; tempo
      const acid = walk.chunks.find((c) => c.id === 'acid')!;
      expect(acid.size).toBe(24);
      const adv = new DataView(acid.body.buffer, acid.body.byteOffset, 24);
      expect(adv.getUint32(0, true)).toBe(0x02 | 0x04);
      expect(adv.getUint16(4, true)).toBe(57);
      expect(adv.getUint16(6, true)).toBe(0x8000);
      expect(adv.getFloat32(8, true)).toBe(0);
      expect(adv.getUint32(12, true)).toBe(4);
      expect(adv.getUint16(16, true)).toBe(4);
      expect(adv.getUint16(18, true)).toBe(4);
      expect(adv.getFloat32(20, true)).toBe(120);

      // smpl: one loop, sample-exact, end inclusive
      const smpl = walk.chunks.find((c) => c.id === 'smpl')!;
      const sdv = new DataView(smpl.body.buffer, smpl.body.byteOffset, smpl.size);
      expect(sdv.getUint32(8, true)).toBe(Math.round(1e9 / 44100));
      expect(sdv.getUint32(28, true)).toBe(1);
      expect(sdv.getUint32(36 + 8, true)).toBe(100);
      expect(sdv.getUint32(36 + 12, true)).toBe(88199);

      // cue: two points at exact frames
      const cue = walk.chunks.find((c) => c.id === 'cue ')!;
      const cdv = new DataView(cue.body.buffer, cue.body.byteOffset, cue.size);
      expect(cdv.getUint32(0, true)).toBe(2);
      expect([cdv.getUint32(4 + 20, true), cdv.getUint32(28 + 20, true)]).toEqual([7, 22050]);

      // wavefile as an independent parser. Its reader fails on any file with a LIST/INFO chunk before a
      // LIST/adtl one (its own output included), so tags and cue points are checked in separate files.
      const tagsOnly = new wavefile.WaveFile(
        encodeWav(a, { encoding, metadata: { ...meta, cuePoints: [] } }),
      );
      expect(tagsOnly.getTag('ICMT')).toBe(meta.comment);
      expect((tagsOnly.smpl as { loops: { dwStart: number; dwEnd: number }[] }).loops[0]).toMatchObject({
        dwStart: 100,
        dwEnd: 88199,
      });
      const cuesOnly = new wavefile.WaveFile(
        encodeWav(a, { encoding, metadata: { cuePoints: meta.cuePoints! } }),
      );
      expect(
        (cuesOnly.listCuePoints() as { dwSampleOffset: number; label: string }[]).map((c) => [
          c.dwSampleOffset,
          c.label,
        ]),
      ).toEqual([
        [7, 'start'],
        [22050, 'drop'],
      ]);

      // sox: no warnings, exact frame count, samples equal to ours
      const info = run('sox', ['--i', f(name)]).toString();
      expect(info).toContain(`${frames} samples`);
      expect(soxF32(f(name)).length).toBe(frames * nch);
      // ffmpeg passes float through untouched (sox rounds float via 32-bit integers): exact for all three
      expect(maxDiffInterleaved(readWav(bytes).audio.channels, ffmpegF32(f(name)))).toBe(0);

      // ffprobe: stream parameters, INFO tags, cue points as chapters
      const probe = ffprobeJson(f(name));
      expect(Number(probe.streams[0]!.sample_rate)).toBe(44100);
      expect(Number(probe.streams[0]!.channels)).toBe(nch);
      expect(Number(probe.streams[0]!.duration_ts)).toBe(frames);
      expect(probe.format.tags?.title).toBe(meta.title);
      expect(probe.format.tags?.comment).toBe(meta.comment);
    });
  }
});

describe('writeWavFile: temp file + rename, never a partial file', () => {
  const a = testAudio(1000, 1);

  it('refuses to overwrite without force; force replaces', async () => {
    writeFileSync(f('exists.wav'), 'keep me');
    const err = (await writeWavFile(f('exists.wav'), a).catch((e: unknown) => e)) as SonodiffError;
    expect(err).toBeInstanceOf(SonodiffError);
    expect(err.code).toBe('ERR_OUTPUT');
    expect(err.message).toBe(`${f('exists.wav')}: output exists (use force / --force to overwrite)`);
    expect(readFileSync(f('exists.wav'), 'utf8')).toBe('keep me');
    const r = await writeWavFile(f('exists.wav'), a, { force: true });
    expect(r.frames).toBe(1000);
    expect(readWav(new Uint8Array(readFileSync(f('exists.wav')))).frames).toBe(1000);
  });

  it('missing folder, a directory as target, an unwritable place → ERR_OUTPUT and no file', async () => {
    for (const [target, re] of [
      [f('no/such/dir/x.wav'), /the folder does not exist/],
      [tmp.dir, /is a directory/],
      ['/proc/sonodiff-test.wav', /cannot write output/],
    ] as const) {
      const err = (await writeWavFile(target, a, { force: true }).catch((e: unknown) => e)) as SonodiffError;
      expect(err, target).toBeInstanceOf(SonodiffError);
      expect(err.code).toBe('ERR_OUTPUT');
      expect(err.message).toMatch(re);
    }
    expect(existsSync('/proc/sonodiff-test.wav')).toBe(false);
  });

  it('leaves no temporary files behind', async () => {
    mkdirSync(f('clean'));
    await writeWavFile(f('clean/a.wav'), a);
    await writeWavFile(f('clean/a.wav'), a).catch(() => undefined);
    expect(readdirSync(f('clean'))).toEqual(['a.wav']);
  });

  it('argument errors name the argument', async () => {
    await expect(writeWavFile(f('x.wav'), { sampleRate: 44100, channels: [] })).rejects.toThrow(
      /audio.channels/,
    );
    await expect(
      writeWavFile(f('x.wav'), { sampleRate: 12.5, channels: [new Float32Array(4)] }),
    ).rejects.toThrow(/audio.sampleRate/);
    expect(() => encodeWav(a, { encoding: 'pcm12' as 'pcm16' })).toThrow(/encoding must be/);
    expect(() => encodeWav(a, { metadata: { acid: { tempo: -1, beats: 4 } } })).toThrow(/acid.tempo/);
    expect(() => encodeWav(a, { metadata: { loops: [{ start: 10, end: 5 }] } })).toThrow(/loops\[0\]/);
    expect(existsSync(f('x.wav'))).toBe(false);
  });
});
