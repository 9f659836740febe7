import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCompressed, probeCompressed } from '../../src/audio/decode.ts';
import { readAudio } from '../../src/audio/read.ts';
import { SonodiffError } from '../../src/errors.ts';
import {
  amenFlac,
  ffmpeg,
  ffmpegF32,
  makeTempDir,
  maxDiffInterleaved,
  repoRoot,
  run,
  snrInterleaved,
  speechFlac,
  trainOgg,
} from './helpers.ts';

const tmp = makeTempDir('decode');
const f = (name: string): string => join(tmp.dir, name);
const bytesOf = (p: string): Uint8Array => new Uint8Array(readFileSync(p));

/** Sample count per channel as reported by sox --i -s. */
const soxSamples = (p: string): number => Number(run('sox', ['--i', '-s', p]).toString().trim());

beforeAll(() => {
  ffmpeg('-i', speechFlac, '-t', '3', '-c:a', 'libmp3lame', '-b:a', '64k', f('speech16k.mp3'));
  ffmpeg('-i', speechFlac, '-t', '3', '-ar', '8000', '-c:a', 'libmp3lame', f('speech8k.mp3'));
  ffmpeg(
    '-i',
    speechFlac,
    '-t',
    '3',
    '-ar',
    '22050',
    '-c:a',
    'libmp3lame',
    '-id3v2_version',
    '0',
    f('noid3-22k.mp3'),
  );
  ffmpeg('-i', amenFlac, '-c:a', 'libmp3lame', '-b:a', '192k', f('amen44k.mp3'));
  ffmpeg('-i', amenFlac, '-ar', '48000', '-c:a', 'libvorbis', f('amen48k.ogg'));
  ffmpeg('-i', amenFlac, '-ar', '32000', '-c:a', 'flac', f('amen32k.flac'));
  ffmpeg('-i', amenFlac, '-c:a', 'libopus', f('amen.opus'));
  ffmpeg('-i', amenFlac, '-ar', '22050', f('amen22k.aiff'));
  ffmpeg('-i', amenFlac, '-c:a', 'adpcm_ms', f('amen-adpcm.wav'));
}, 60_000);
afterAll(() => tmp.cleanup());

describe('decoding keeps the file’s own sample rate, matches ffmpeg', () => {
  it('FLAC (LibriSpeech, 16 kHz): bit-exact, sox frame count', async () => {
    const r = await decodeCompressed(bytesOf(speechFlac));
    expect(r.info).toMatchObject({ container: 'flac', codec: 'flac', sampleRate: 16000, bitsPerSample: 16 });
    expect(r.audio.sampleRate).toBe(16000);
    expect(r.audio.channels[0]!.length).toBe(soxSamples(speechFlac));
    expect(maxDiffInterleaved(r.audio.channels, ffmpegF32(speechFlac))).toBe(0);
  });

  it('FLAC (sonic-pi, 44.1 kHz stereo) and a 32 kHz re-encode: bit-exact', async () => {
    for (const [p, rate] of [
      [amenFlac, 44100],
      [f('amen32k.flac'), 32000],
    ] as const) {
      const r = await decodeCompressed(bytesOf(p));
      expect(r.audio.sampleRate).toBe(rate);
      expect(r.audio.channels.length).toBe(2);
      expect(r.audio.channels[0]!.length).toBe(soxSamples(p));
      expect(maxDiffInterleaved(r.audio.channels, ffmpegF32(p))).toBe(0);
    }
  });

  it('Ogg Vorbis (blanket train.ogg, 24 kHz; a 48 kHz re-encode): same length, SNR > 100 dB vs ffmpeg', async () => {
    for (const [p, rate] of [
      [trainOgg, 24000],
      [f('amen48k.ogg'), 48000],
    ] as const) {
      const r = await decodeCompressed(bytesOf(p));
      expect(r.info.codec).toBe('vorbis');
      expect(r.audio.sampleRate).toBe(rate);
      const ref = ffmpegF32(p);
      expect(r.audio.channels[0]!.length * 2).toBe(ref.length);
      expect(snrInterleaved(r.audio.channels, ref)).toBeGreaterThan(100);
    }
  });

  it('MP3 at 8 k (MPEG 2.5), 16 k (MPEG 2), 22.05 k without ID3, 44.1 k stereo: gapless length = ffmpeg, SNR > 90 dB', async () => {
    for (const [name, rate, nch] of [
      ['speech8k.mp3', 8000, 1],
      ['speech16k.mp3', 16000, 1],
      ['noid3-22k.mp3', 22050, 1],
      ['amen44k.mp3', 44100, 2],
    ] as const) {
      const r = await decodeCompressed(bytesOf(f(name)));
      expect(r.info.codec, name).toBe('mp3');
      expect(r.audio.sampleRate, name).toBe(rate);
      expect(r.audio.channels.length).toBe(nch);
      const ref = ffmpegF32(f(name));
      expect(r.audio.channels[0]!.length * nch, name).toBe(ref.length);
      expect(snrInterleaved(r.audio.channels, ref), name).toBeGreaterThan(90);
    }
    // 3 s of 16 kHz audio, encoder delay and padding removed
    const ffprobe = JSON.parse(
      run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', f('speech16k.mp3')]).toString(),
    ) as { streams: { sample_rate: string }[] };
    expect(Number(ffprobe.streams[0]!.sample_rate)).toBe(16000);
  });

  it('AIFF (22.05 kHz) via the decoder, bit-exact', async () => {
    const r = await decodeCompressed(bytesOf(f('amen22k.aiff')));
    expect(r.info).toMatchObject({ container: 'aiff', sampleRate: 22050, channels: 2, bitsPerSample: 16 });
    expect(r.audio.channels[0]!.length).toBe(soxSamples(f('amen22k.aiff')));
    expect(maxDiffInterleaved(r.audio.channels, ffmpegF32(f('amen22k.aiff')))).toBe(0);
  });

  it('MS-ADPCM WAV falls back to the decoder through readAudio (44.1 kHz kept)', async () => {
    const r = await readAudio(f('amen-adpcm.wav'));
    expect(r.container).toBe('wav');
    expect(r.audio.sampleRate).toBe(44100);
    expect(snrInterleaved(r.audio.channels, ffmpegF32(f('amen-adpcm.wav')))).toBeGreaterThan(60);
  });

  it('Opus → ERR_UNSUPPORTED_AUDIO naming the file', async () => {
    const err = (await readAudio(f('amen.opus')).catch((e: unknown) => e)) as SonodiffError;
    expect(err).toBeInstanceOf(SonodiffError);
    expect(err.code).toBe('ERR_UNSUPPORTED_AUDIO');
    expect(err.message).toBe(
      `${f('amen.opus')}: Ogg Opus is not supported by the decoder; convert it to FLAC or WAV`,
    );
  });

  it('a truncated FLAC decodes what is there; a FLAC header alone is an error', async () => {
    const full = bytesOf(speechFlac);
    const half = await decodeCompressed(full.subarray(0, full.length >> 1));
    expect(half.audio.channels[0]!.length).toBeGreaterThan(0);
    expect(half.audio.channels[0]!.length).toBeLessThan(soxSamples(speechFlac));
    const err = (await decodeCompressed(full.subarray(0, 42), { path: 'head.flac' }).catch(
      (e: unknown) => e,
    )) as SonodiffError;
    expect(err).toBeInstanceOf(SonodiffError);
    expect(err.message.startsWith('head.flac: ')).toBe(true);
  });

  it('probe reads rates from headers only', () => {
    expect(probeCompressed(bytesOf(f('speech8k.mp3'))).sampleRate).toBe(8000);
    expect(probeCompressed(bytesOf(trainOgg)).sampleRate).toBe(24000);
    expect(probeCompressed(bytesOf(f('amen.opus'))).codec).toBe('opus');
    expect(probeCompressed(new TextEncoder().encode('hello')).container).toBe('unknown');
  });

  it('the caller’s buffer is not detached by decodeAudioData', async () => {
    const bytes = bytesOf(amenFlac);
    await decodeCompressed(bytes);
    expect(bytes.byteLength).toBe(readFileSync(amenFlac).byteLength);
    expect(bytes[0]).toBe(0x66); // 'f'
  });

  it('a process that decoded exits by itself (no context left open)', () => {
    const script = `import { readAudio } from ${JSON.stringify(join(repoRoot, 'src/audio/read.ts'))};
const r = await readAudio(${JSON.stringify(amenFlac)});
console.log(r.audio.sampleRate, r.audio.channels[0].length);`;
    const t0 = performance.now();
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 20_000,
    }).toString();
    expect(out.trim()).toBe(`44100 ${soxSamples(amenFlac)}`);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});
