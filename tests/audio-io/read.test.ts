import { execFileSync } from 'node:child_process';
import { copyFileSync, createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { preferredWavEncoding, readAudio } from '../../src/audio/read.ts';
import type { SonodiffError } from '../../src/errors.ts';
import { amenFlac, dishesWav, makeTempDir, maxDiffInterleaved, repoRoot, run, soxF32 } from './helpers.ts';

const tmp = makeTempDir('read');
const f = (name: string): string => join(tmp.dir, name);
afterAll(() => tmp.cleanup());
const sample = (name: string): string => join(repoRoot, 'samples', name);
const soxInfo = (p: string, flag: string): number => Number(run('sox', ['--i', flag, p]).toString().trim());

describe('readAudio', () => {
  it('reads every file in samples/ with sox’s rate, channels and length', async () => {
    for (const name of [
      'digit-7-jackson.wav',
      'speech-16k.wav',
      'speech-16k-noisy-5db.wav',
      'drum-loop-amen.flac',
    ]) {
      const p = sample(name);
      const r = await readAudio(p);
      expect(r.audio.sampleRate, name).toBe(soxInfo(p, '-r'));
      expect(r.audio.channels.length, name).toBe(soxInfo(p, '-c'));
      expect(r.audio.channels[0]!.length, name).toBe(soxInfo(p, '-s'));
      expect(r.bitsPerSample, name).toBe(16);
      expect(maxDiffInterleaved(r.audio.channels, soxF32(p)), name).toBe(0);
    }
  });

  it('the noisy sample is the clean one plus noise at 5 dB SNR', async () => {
    const clean = (await readAudio(sample('speech-16k.wav'))).audio.channels[0]!;
    const noisy = (await readAudio(sample('speech-16k-noisy-5db.wav'))).audio.channels[0]!;
    let s = 0;
    let n = 0;
    for (let i = 0; i < clean.length; i++) {
      s += clean[i]! ** 2;
      n += (noisy[i]! - clean[i]!) ** 2;
    }
    expect(10 * Math.log10(s / n)).toBeCloseTo(5, 1);
  });

  it('dispatches on magic bytes, not the extension', async () => {
    copyFileSync(amenFlac, f('really-flac.wav'));
    copyFileSync(dishesWav, f('really-wav.mp3'));
    const a = await readAudio(f('really-flac.wav'));
    expect([a.container, a.codec, a.audio.sampleRate]).toEqual(['flac', 'flac', 44100]);
    const b = await readAudio(f('really-wav.mp3'));
    expect([b.container, b.codec, b.audio.sampleRate]).toEqual(['wav', 'pcm', 16000]);
    expect(b.wav?.format.bitsPerSample).toBe(16);
  });

  it("'-' reads the whole of stdin (a stream given in options)", async () => {
    const r = await readAudio('-', { stdin: createReadStream(dishesWav, { highWaterMark: 4096 }) });
    expect(r.source).toBe('-');
    expect(r.audio.channels[0]!.length).toBe(1522930);
    const err = (await readAudio('-', { stdin: createReadStream(dishesWav), maxBytes: 10_000 }).catch(
      (e: unknown) => e,
    )) as SonodiffError;
    expect(err.code).toBe('ERR_UNSUPPORTED_AUDIO');
    expect(err.message).toMatch(/^-: input is over/);
  });

  it("'-' reads the process's real stdin", () => {
    const script = `import { readAudio } from ${JSON.stringify(join(repoRoot, 'src/audio/read.ts'))};
const r = await readAudio('-');
console.log(r.container, r.audio.sampleRate, r.audio.channels.length, r.audio.channels[0].length);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      input: readFileSync(amenFlac),
      timeout: 20_000,
    });
    expect(out.toString().trim()).toBe(`flac 44100 2 ${soxInfo(amenFlac, '-s')}`);
  });

  it('bytes in memory, with a name for messages', async () => {
    const r = await readAudio(new Uint8Array(readFileSync(amenFlac)), { name: 'upload.flac' });
    expect(r.source).toBe('upload.flac');
    const err = (await readAudio(new Uint8Array(0), { name: 'upload.flac' }).catch(
      (e: unknown) => e,
    )) as SonodiffError;
    expect(err.message).toBe('upload.flac: empty file');
    await expect(readAudio('')).rejects.toThrow(TypeError);
    await expect(readAudio(f('x'), { maxBytes: -1 })).rejects.toThrow(/opts.maxBytes/);
  });

  it('preferredWavEncoding keeps the source precision', () => {
    expect(preferredWavEncoding({ codec: 'pcm', bitsPerSample: 8 })).toBe('pcm16');
    expect(preferredWavEncoding({ codec: 'pcm', bitsPerSample: 16 })).toBe('pcm16');
    expect(preferredWavEncoding({ codec: 'pcm', bitsPerSample: 20 })).toBe('pcm24');
    expect(preferredWavEncoding({ codec: 'pcm', bitsPerSample: 32 })).toBe('float32');
    expect(preferredWavEncoding({ codec: 'float', bitsPerSample: 64 })).toBe('float32');
    expect(preferredWavEncoding({ codec: 'mp3', bitsPerSample: undefined })).toBe('pcm16');
  });
});
