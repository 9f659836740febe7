import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import wavefile from 'wavefile';
import { parseWavHeader, readWav } from '../../src/audio/wav-read.ts';
import {
  amenFlac,
  chunk,
  dishesWav,
  ffmpeg,
  fmtBody,
  makeTempDir,
  maxDiffInterleaved,
  pcm16Ramp,
  riff,
  sox,
  soxF32,
} from './helpers.ts';

const tmp = makeTempDir('wav-read');
const f = (name: string): string => join(tmp.dir, name);
const bytesOf = (p: string): Uint8Array => new Uint8Array(readFileSync(p));

beforeAll(() => {
  sox(dishesWav, f('mono16.wav'), 'trim', '0', '2');
  sox(amenFlac, f('stereo16.wav'), 'trim', '0', '1');
  // sox variants from the 16-bit sources
  sox(f('stereo16.wav'), '-b', '8', '-e', 'unsigned-integer', f('u8.wav'));
  sox(f('stereo16.wav'), '-t', 'wavpcm', '-b', '24', f('s24.wav'));
  sox(f('stereo16.wav'), '-t', 'wavpcm', '-b', '32', '-e', 'signed-integer', f('s32.wav'));
  sox(f('stereo16.wav'), '-t', 'wavpcm', '-b', '32', '-e', 'floating-point', f('f32.wav'));
  sox(f('stereo16.wav'), '-t', 'wavpcm', '-b', '64', '-e', 'floating-point', f('f64.wav'));
  sox(f('mono16.wav'), '-e', 'a-law', f('alaw.wav'));
  sox(f('mono16.wav'), '-e', 'u-law', f('ulaw.wav'));
  // ffmpeg writes WAVE_FORMAT_EXTENSIBLE for > 16 bits and > 2 channels
  ffmpeg('-i', f('stereo16.wav'), '-c:a', 'pcm_s24le', f('ext24.wav'));
  ffmpeg('-i', f('stereo16.wav'), '-c:a', 'pcm_f32le', f('extf32.wav'));
  ffmpeg(
    '-i',
    f('stereo16.wav'),
    '-af',
    'pan=5.1|c0=c0|c1=c1|c2=c0|c3=c1|c4=c0|c5=c1',
    '-c:a',
    'pcm_s16le',
    f('ext6.wav'),
  );
  ffmpeg('-i', f('stereo16.wav'), '-c:a', 'pcm_s16le', '-rf64', 'always', f('rf64.wav'));
}, 30_000);
afterAll(() => tmp.cleanup());

describe('readWav on sox/ffmpeg-made files matches sox sample for sample', () => {
  const cases: Array<[string, string, number, number, boolean]> = [
    // file, sampleFormat, stored bits, channels, extensible
    ['mono16.wav', 'pcm', 16, 1, false],
    ['stereo16.wav', 'pcm', 16, 2, false],
    ['u8.wav', 'pcm', 8, 2, false],
    ['s24.wav', 'pcm', 24, 2, false],
    ['s32.wav', 'pcm', 32, 2, false],
    ['f32.wav', 'float', 32, 2, false],
    ['f64.wav', 'float', 64, 2, false],
    ['alaw.wav', 'alaw', 8, 1, false],
    ['ulaw.wav', 'mulaw', 8, 1, false],
    ['ext24.wav', 'pcm', 24, 2, true],
    ['extf32.wav', 'float', 32, 2, true],
    ['ext6.wav', 'pcm', 16, 6, true],
    ['rf64.wav', 'pcm', 16, 2, false],
  ];
  for (const [name, fmt, bits, nch, ext] of cases) {
    it(name, () => {
      const wav = readWav(bytesOf(f(name)), { path: name });
      const ref = soxF32(f(name));
      expect(wav.format.sampleFormat).toBe(fmt);
      expect(wav.format.bitsPerSample).toBe(bits);
      expect(wav.format.extensible).toBe(ext);
      expect(wav.audio.channels.length).toBe(nch);
      expect(wav.frames * nch).toBe(ref.length);
      expect(wav.audio.sampleRate).toBe(name === 'mono16.wav' || name.includes('law') ? 16000 : 44100);
      // Exact: integer scaling by 2^-(bits-1) and G.711 tables agree bit for bit with sox.
      expect(maxDiffInterleaved(wav.audio.channels, ref)).toBe(0);
      expect(wav.warnings).toEqual([]);
    });
  }

  it('reads the RF64 container and the 5.1 channel mask', () => {
    expect(readWav(bytesOf(f('rf64.wav'))).format.container).toBe('RF64');
    expect(readWav(bytesOf(f('ext6.wav'))).format.channelMask).toBe(0x3f);
  });

  it('agrees with wavefile’s own unpacker (the package the format code follows)', () => {
    for (const [name, scale] of [
      ['s24.wav', 2 ** 23],
      ['s32.wav', 2 ** 31],
      ['f64.wav', 1],
    ] as const) {
      const bytes = bytesOf(f(name));
      const wf = new wavefile.WaveFile(bytes);
      const ref = wf.getSamples(true, Float64Array);
      const ours = readWav(bytes).audio.channels;
      let m = 0;
      for (let i = 0; i < ours[0]!.length; i++) {
        for (let c = 0; c < 2; c++)
          m = Math.max(m, Math.abs(ours[c]![i]! - Math.fround(ref[2 * i + c]! / scale)));
      }
      expect(m, name).toBe(0);
    }
  });
});

describe('chunks around the data', () => {
  it('doing_the_dishes.wav: the trailing LIST and id3 chunks are walked, samples match sox', () => {
    const wav = readWav(bytesOf(dishesWav));
    expect(wav.chunks.map((c) => c.id)).toEqual(['fmt ', 'data', 'LIST', 'id3 ']);
    expect(wav.frames).toBe(1522930);
    expect(Object.keys(wav.metadata.tags).length).toBeGreaterThan(0);
    expect(maxDiffInterleaved(wav.audio.channels, soxF32(dishesWav))).toBe(0);
  });

  it('LIST/INFO, bext, junk, cue+labl, smpl, acid, unknown and odd-sized chunks', () => {
    const data = pcm16Ramp(1001);
    const info = new Uint8Array([
      ...new TextEncoder().encode('INFO'),
      ...chunk('INAM', [...new TextEncoder().encode('Dishes'), 0]),
      ...chunk('ICMT', [...new TextEncoder().encode('héllo'), 0]),
    ]);
    const bext = new Uint8Array(602);
    bext.set(new TextEncoder().encode('a description'), 0);
    bext.set(new TextEncoder().encode('sonodiff'), 256);
    const cue = new Uint8Array(4 + 24 * 2);
    const cdv = new DataView(cue.buffer);
    cdv.setUint32(0, 2, true);
    for (const [i, frame] of [
      [0, 10],
      [1, 500],
    ]) {
      cdv.setUint32(4 + 24 * i! + 0, i! + 1, true);
      cue.set(new TextEncoder().encode('data'), 4 + 24 * i! + 8);
      cdv.setUint32(4 + 24 * i! + 20, frame!, true);
    }
    const adtl = new Uint8Array([
      ...new TextEncoder().encode('adtl'),
      ...chunk('labl', [2, 0, 0, 0, ...new TextEncoder().encode('drop'), 0]),
    ]);
    const smpl = new Uint8Array(36 + 24);
    const sdv = new DataView(smpl.buffer);
    sdv.setUint32(12, 57, true);
    sdv.setUint32(28, 1, true);
    sdv.setUint32(36 + 8, 100, true);
    sdv.setUint32(36 + 12, 899, true);
    const acid = new Uint8Array(24);
    const adv = new DataView(acid.buffer);
    adv.setUint32(0, 0x02 | 0x04, true);
    adv.setUint16(4, 48, true);
    adv.setUint32(12, 8, true);
    adv.setUint16(16, 4, true);
    adv.setUint16(18, 3, true);
    adv.setFloat32(20, 96.5, true);
    const bytes = riff([
      chunk('JUNK', new Uint8Array(28)),
      chunk('fmt ', fmtBody({})),
      chunk('bext', bext),
      chunk('zzz1', [1, 2, 3]), // odd size, padded
      chunk('data', data),
      chunk('LIST', info),
      chunk('cue ', cue),
      chunk('LIST', adtl),
      chunk('smpl', smpl),
      chunk('acid', acid),
    ]);
    const wav = readWav(bytes);
    expect(wav.frames).toBe(1001);
    expect(wav.audio.channels[0]![3]).toBe((((3 * 37) % 65536) - 32768) / 32768);
    expect(wav.metadata.tags).toEqual({ INAM: 'Dishes', ICMT: 'héllo' });
    expect(wav.metadata.bext).toEqual({ description: 'a description', originator: 'sonodiff' });
    expect(wav.metadata.cuePoints).toEqual([
      { id: 1, frame: 10 },
      { id: 2, frame: 500, label: 'drop' },
    ]);
    expect(wav.metadata.loops).toEqual([{ start: 100, end: 900, type: 0, playCount: 0 }]);
    expect(wav.metadata.midiUnityNote).toBe(57);
    expect(wav.metadata.acid).toEqual({
      oneShot: false,
      stretch: true,
      diskBased: false,
      rootNote: 48,
      beats: 8,
      meterNumerator: 3,
      meterDenominator: 4,
      tempo: 96.5,
    });
    expect(wav.warnings).toEqual([]);
  });

  it('accepts an odd-sized chunk whose writer forgot the pad byte', () => {
    const odd = chunk('zzz1', [1, 2, 3]).subarray(0, 11); // header + 3 bytes, no pad
    const bytes = riff([chunk('fmt ', fmtBody({})), odd, chunk('data', pcm16Ramp(50))]);
    const wav = readWav(bytes);
    expect(wav.chunks.map((c) => c.id)).toEqual(['fmt ', 'zzz1', 'data']);
    expect(wav.frames).toBe(50);
  });

  it('odd data length (mono 24-bit, odd frame count) with its pad byte, then metadata', () => {
    const data = new Uint8Array(3 * 7);
    data[20] = 0x80; // last sample = -2^23 → -1
    const list = new Uint8Array([...new TextEncoder().encode('INFO'), ...chunk('INAM', [0x41, 0])]);
    const wav = readWav(
      riff([chunk('fmt ', fmtBody({ bits: 24 })), chunk('data', data), chunk('LIST', list)]),
    );
    expect(wav.frames).toBe(7);
    expect(wav.audio.channels[0]![6]).toBe(-1);
    expect(wav.metadata.tags).toEqual({ INAM: 'A' });
  });

  it('parseWavHeader reads the header of a 95 s file without touching samples', () => {
    const bytes = bytesOf(dishesWav);
    const t0 = performance.now();
    const h = parseWavHeader(bytes);
    expect(performance.now() - t0).toBeLessThan(20);
    expect(h.frames).toBe(1522930);
    expect(h.dataOffset).toBe(44);
  });
});
