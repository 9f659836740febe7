import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudio } from '../../src/audio/read.ts';
import { readWav } from '../../src/audio/wav-read.ts';
import { SonodiffError } from '../../src/errors.ts';
import { chunk, dishesWav, ffmpeg, fmtBody, makeTempDir, pcm16Ramp, riff, sox } from './helpers.ts';

const tmp = makeTempDir('bad-input');
const f = (name: string): string => join(tmp.dir, name);
let good: Uint8Array;

beforeAll(() => {
  sox(dishesWav, f('good.wav'), 'trim', '0', '0.5');
  good = new Uint8Array(readFileSync(f('good.wav')));
});
afterAll(() => tmp.cleanup());

/** Write bytes to a named file, read it through readAudio, return the error (and the time taken). */
async function failure(name: string, bytes: Uint8Array): Promise<{ err: SonodiffError; ms: number }> {
  writeFileSync(f(name), bytes);
  const t0 = performance.now();
  const err = await readAudio(f(name)).then(
    () => undefined,
    (e: unknown) => e,
  );
  const ms = performance.now() - t0;
  expect(err, name).toBeInstanceOf(SonodiffError);
  const e = err as SonodiffError;
  // One line that names the file.
  expect(e.message).toContain(name);
  expect(e.message).not.toContain('\n');
  return { err: e, ms };
}

function withU32(bytes: Uint8Array, at: number, v: number): Uint8Array {
  const b = bytes.slice();
  new DataView(b.buffer).setUint32(at, v, true);
  return b;
}
function withU16(bytes: Uint8Array, at: number, v: number): Uint8Array {
  const b = bytes.slice();
  new DataView(b.buffer).setUint16(at, v, true);
  return b;
}

describe('malformed WAV headers give one clear SonodiffError line naming the file', () => {
  // good.wav (sox): RIFF(0) fmt at 12 (body 20..36), data header at 36, samples from 44
  const cases: Array<[string, () => Uint8Array, string, RegExp]> = [
    ['empty.wav', () => new Uint8Array(0), 'ERR_BAD_AUDIO', /empty file/],
    ['tiny.wav', () => good.subarray(0, 8), 'ERR_BAD_AUDIO', /truncated WAV header \(8 bytes\)/],
    [
      'cut-in-fmt.wav',
      () => good.subarray(0, 30),
      'ERR_BAD_AUDIO',
      /fmt chunk claims 16 bytes but only 10 remain/,
    ],
    ['cut-in-data-header.wav', () => good.subarray(0, 40), 'ERR_BAD_AUDIO', /no data chunk/],
    [
      'cut-at-samples.wav',
      () => good.subarray(0, 44),
      'ERR_BAD_AUDIO',
      /truncated: data chunk claims 16000 bytes but only 0/,
    ],
    ['zero-channels.wav', () => withU16(good, 22, 0), 'ERR_BAD_AUDIO', /zero channels/],
    ['many-channels.wav', () => withU16(good, 22, 4000), 'ERR_BAD_AUDIO', /4000 channels/],
    ['rate-zero.wav', () => withU32(good, 24, 0), 'ERR_BAD_AUDIO', /sample rate 0 Hz/],
    [
      'rate-absurd.wav',
      () => withU32(good, 24, 3_000_000_000),
      'ERR_UNSUPPORTED_AUDIO',
      /3000000000 Hz is outside/,
    ],
    ['rate-low.wav', () => withU32(good, 24, 7), 'ERR_UNSUPPORTED_AUDIO', /7 Hz is outside/],
    ['block-align.wav', () => withU16(good, 32, 5), 'ERR_BAD_AUDIO', /block align 5 does not match/],
    ['bits-zero.wav', () => withU16(good, 34, 0), 'ERR_BAD_AUDIO', /0 bits per sample/],
    [
      'bits-48.wav',
      () => withU16(withU16(good, 34, 48), 32, 6),
      'ERR_UNSUPPORTED_AUDIO',
      /48-bit integer PCM/,
    ],
    ['float-16.wav', () => withU16(withU16(good, 20, 3), 34, 16), 'ERR_UNSUPPORTED_AUDIO', /16-bit float/],
    ['gsm.wav', () => withU16(good, 20, 0x31), 'ERR_UNSUPPORTED_AUDIO', /WAV format 0x0031 \(GSM 6.10\)/],
    [
      'fmt-short.wav',
      () => riff([chunk('fmt ', new Uint8Array(10)), chunk('data', pcm16Ramp(4))]),
      'ERR_BAD_AUDIO',
      /fmt chunk too short/,
    ],
    ['no-fmt.wav', () => riff([chunk('data', pcm16Ramp(4))]), 'ERR_BAD_AUDIO', /no fmt chunk/],
    [
      'lying-list.wav',
      () =>
        riff([
          chunk('fmt ', fmtBody({})),
          withU32(chunk('LIST', new Uint8Array(8)), 4, 0x7ffffff0),
          chunk('data', pcm16Ramp(4)),
        ]),
      'ERR_BAD_AUDIO',
      /no data chunk \(chunk 'LIST' at offset 36 claims 2147483632 bytes, past the end/,
    ],
    [
      'riff-avi.avi',
      () => riff([chunk('avih', new Uint8Array(56))], 'AVI '),
      'ERR_BAD_AUDIO',
      /type 'AVI ', not WAVE/,
    ],
    [
      'rifx.wav',
      () =>
        Uint8Array.from([
          ...new TextEncoder().encode('RIFX'),
          0,
          0,
          0,
          4,
          ...new TextEncoder().encode('WAVE'),
        ]),
      'ERR_UNSUPPORTED_AUDIO',
      /RIFX/,
    ],
    [
      'text.wav',
      () => new TextEncoder().encode('this is not audio, just a text file\n'.repeat(20)),
      'ERR_BAD_AUDIO',
      /not a recognised audio format \(looks like text\)/,
    ],
    [
      'random.bin',
      () => Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24),
      'ERR_BAD_AUDIO',
      /not a recognised audio format \(starts with bytes/,
    ],
  ];
  for (const [name, make, code, re] of cases) {
    it(name, async () => {
      const { err, ms } = await failure(name, make());
      expect(err.code).toBe(code);
      expect(err.message).toMatch(re);
      expect(err.path).toBe(f(name));
      expect(ms).toBeLessThan(2000);
    });
  }
});

describe('recoverable damage is read as far as it goes', () => {
  it('truncated in the samples: what is there is read, with a warning', () => {
    const r = readWav(good.subarray(0, 1001));
    expect(r.frames).toBe(478); // (1001 - 44) / 2, partial frame dropped
    expect(r.warnings.join(' ')).toMatch(/data chunk claims 16000 bytes but only 957 are present/);
  });

  it('a data size larger than the file is clamped, never allocated', () => {
    const lying = withU32(good, 40, 0xfffffff0);
    const t0 = performance.now();
    const r = readWav(lying);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(r.frames).toBe(8000);
    expect(r.audio.channels[0]!.length).toBe(8000);
  });

  it('a lying RIFF size is ignored', () => {
    expect(readWav(withU32(good, 4, 12)).frames).toBe(8000);
    expect(readWav(withU32(good, 4, 0xffffffff)).frames).toBe(8000);
  });

  it('cue and smpl counts larger than their chunks are clamped', () => {
    const cue = new Uint8Array(4 + 24);
    new DataView(cue.buffer).setUint32(0, 1e9, true);
    const smpl = new Uint8Array(36);
    new DataView(smpl.buffer).setUint32(28, 4e9, true);
    const r = readWav(
      riff([
        chunk('fmt ', fmtBody({})),
        chunk('data', pcm16Ramp(4)),
        chunk('cue ', cue),
        chunk('smpl', smpl),
      ]),
    );
    expect(r.metadata.cuePoints.length).toBe(1);
    expect(r.metadata.loops.length).toBe(0);
    expect(r.warnings.length).toBe(2);
  });

  it('tens of thousands of empty chunks stop at the chunk limit quickly', () => {
    const many = new Uint8Array(8 * 50_000);
    for (let i = 0; i < 50_000; i++) many.set(new TextEncoder().encode('zzzz'), 8 * i);
    const bytes = riff([chunk('fmt ', fmtBody({})), chunk('data', pcm16Ramp(4)), many]);
    const t0 = performance.now();
    const r = readWav(bytes);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(r.frames).toBe(4);
    expect(r.chunks.length).toBe(4096);
  });

  it('garbage after the last chunk is ignored', () => {
    const bytes = new Uint8Array([...good, 0xff, 0x00, 0x13, 0x37, 0x01, 0x02, 0x03, 0x04, 0x05]);
    const r = readWav(bytes);
    expect(r.frames).toBe(8000);
    expect(r.warnings).toEqual(['unreadable bytes after offset 16044 ignored']);
  });
});

describe('files and folders', () => {
  it('missing file → ERR_INPUT_MISSING', async () => {
    const err = (await readAudio(f('nope.wav')).catch((e: unknown) => e)) as SonodiffError;
    expect(err.code).toBe('ERR_INPUT_MISSING');
    expect(err.message).toBe(`${f('nope.wav')}: no such file`);
  });

  it('a directory → ERR_INPUT_UNREADABLE', async () => {
    mkdirSync(f('folder.wav'));
    const err = (await readAudio(f('folder.wav')).catch((e: unknown) => e)) as SonodiffError;
    expect(err.code).toBe('ERR_INPUT_UNREADABLE');
    expect(err.message).toBe(`${f('folder.wav')}: is a directory, not a file`);
  });

  it('inputs over maxBytes are refused before reading', async () => {
    const err = (await readAudio(f('good.wav'), { maxBytes: 1000 }).catch(
      (e: unknown) => e,
    )) as SonodiffError;
    expect(err.code).toBe('ERR_UNSUPPORTED_AUDIO');
    expect(err.message).toMatch(/input limit/);
  });

  it('MP3-in-WAV (a codec neither reader has) → ERR_UNSUPPORTED_AUDIO', async () => {
    ffmpeg('-i', f('good.wav'), '-c:a', 'libmp3lame', '-f', 'wav', f('mp3in.wav'));
    const err = (await readAudio(f('mp3in.wav')).catch((e: unknown) => e)) as SonodiffError;
    expect(err.code).toBe('ERR_UNSUPPORTED_AUDIO');
    expect(err.message).toMatch(/mp3in\.wav: WAV format 0x0055 \(MPEG Layer 3\) is not supported/);
  });
});

describe('mutation fuzz: a damaged header never escapes as anything but SonodiffError', () => {
  it('2000 single- and multi-byte corruptions of the first 64 bytes', () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const small = good.subarray(0, 2044);
    let ok = 0;
    let rejected = 0;
    const t0 = performance.now();
    for (let k = 0; k < 2000; k++) {
      const b = small.slice();
      const edits = 1 + Math.floor(rnd() * 4);
      for (let e = 0; e < edits; e++) b[Math.floor(rnd() * 64)] = Math.floor(rnd() * 256);
      try {
        const r = readWav(b, { path: 'fuzz.wav' });
        for (const ch of r.audio.channels) expect(ch.length).toBeLessThanOrEqual(2000);
        ok++;
      } catch (err) {
        expect(err).toBeInstanceOf(SonodiffError);
        rejected++;
      }
    }
    expect(ok + rejected).toBe(2000);
    expect(rejected).toBeGreaterThan(100);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
