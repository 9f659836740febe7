/**
 * The streaming WAV reader against the whole-file reader: same samples (bit for bit), same header
 * (format, frames, metadata, warnings) and the same errors, for every format the whole-file reader
 * takes, for block sizes that do not divide the file, through all three read paths (small file parsed
 * whole, large file parsed around a cut-out data chunk, pipe).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudio } from '../../src/audio/read.ts';
import { readWav, type WavDecoded } from '../../src/audio/wav-read.ts';
import { openAudioStream, WavStreamReader } from '../../src/audio/wav-stream-reader.ts';
import { encodeWav } from '../../src/audio/wav-write.ts';
import { SonodiffError } from '../../src/errors.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-stream-reader-'));
const f = (name: string): string => path.join(tmp, name);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sox(...args: string[]): void {
  execFileSync('sox', ['-D', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}
function ffmpeg(...args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function chunk(id: string, body: Uint8Array, pad = true): Uint8Array {
  const out = new Uint8Array(8 + body.length + (pad ? body.length & 1 : 0));
  out.set(new TextEncoder().encode(id), 0);
  new DataView(out.buffer).setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}
function riff(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(12 + total);
  out.set(new TextEncoder().encode('RIFF'), 0);
  new DataView(out.buffer).setUint32(4, total + 4, true);
  out.set(new TextEncoder().encode('WAVE'), 8);
  let o = 12;
  for (const c of parts) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
function fmt16(channels = 1, rate = 16000): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, 1, true);
  dv.setUint16(2, channels, true);
  dv.setUint32(4, rate, true);
  dv.setUint32(8, rate * 2 * channels, true);
  dv.setUint16(12, 2 * channels, true);
  dv.setUint16(14, 16, true);
  return b;
}
/** Deterministic non-trivial 16-bit samples. */
function pcm16(frames: number, channels = 1): Uint8Array {
  const b = new Uint8Array(frames * channels * 2);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < frames * channels; i++) dv.setInt16(2 * i, ((i * 2654435761) >>> 16) - 32768, true);
  return b;
}
function withU32(bytes: Uint8Array, at: number, v: number): Uint8Array {
  const b = bytes.slice();
  new DataView(b.buffer).setUint32(at, v, true);
  return b;
}
function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A pipe that delivers the bytes in uneven pieces (1 to 5000 bytes). */
async function* pieces(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  let seed = 12345;
  for (let o = 0; o < bytes.length; ) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const n = 1 + (seed % 5000);
    yield bytes.slice(o, o + n);
    o += n;
  }
}

interface Drained {
  channels: Float32Array[];
  blockLengths: number[];
}
async function drain(source: AsyncIterable<Float32Array[]>): Promise<Drained> {
  const parts: Float32Array[][] = [];
  for await (const block of source) parts.push(block.map((c) => c.slice()));
  const nch = parts[0]?.length ?? 0;
  const channels = Array.from({ length: nch }, (_, c) => {
    const out = new Float32Array(parts.reduce((n, p) => n + p[c]!.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p[c]!, o);
      o += p[c]!.length;
    }
    return out;
  });
  return { channels, blockLengths: parts.map((p) => p[0]!.length) };
}

function expectSameSamples(got: Float32Array[], ref: WavDecoded, what: string): void {
  expect(got.length, what).toBe(ref.audio.channels.length);
  for (let c = 0; c < got.length; c++) {
    const a = got[c]!;
    const b = ref.audio.channels[c]!;
    expect(a.length, what).toBe(b.length);
    // Bit-exact (NaN-safe) comparison of the float32 payloads.
    expect(
      Buffer.compare(
        Buffer.from(a.buffer, a.byteOffset, a.byteLength),
        Buffer.from(b.buffer, b.byteOffset, b.byteLength),
      ),
      what,
    ).toBe(0);
  }
}

/** The SonodiffError a promise rejects with (fails the test if it resolves). */
async function failure(p: Promise<unknown>): Promise<SonodiffError> {
  const outcome = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(SonodiffError);
  return outcome as SonodiffError;
}

function expectBlocks(lengths: number[], total: number, block: number): void {
  expect(lengths.reduce((a, b) => a + b, 0)).toBe(total);
  expect(lengths.slice(0, -1).every((n) => n === block)).toBe(true);
  expect(lengths.at(-1)).toBe(total - block * (lengths.length - 1));
}

/** Small files go the whole-header way by default; these force the cut-out path on them too. */
const CUT = { wholeFileBytes: 12, headerProbeBytes: 64 };
const FRAMES = 20801; // prime-ish: no block size below divides it

beforeAll(() => {
  sox(
    '-r',
    '16000',
    '-n',
    '-r',
    '16000',
    '-c',
    '2',
    '-b',
    '16',
    f('stereo16.wav'),
    'synth',
    `${FRAMES}s`,
    'whitenoise',
    'sine',
    '440',
  );
  sox(
    '-r',
    '16000',
    '-n',
    '-r',
    '16000',
    '-c',
    '1',
    '-b',
    '16',
    f('mono16.wav'),
    'synth',
    `${FRAMES}s`,
    'sine',
    '300',
    'vol',
    '0.7',
  );
  sox(f('stereo16.wav'), '-b', '8', '-e', 'unsigned-integer', f('u8.wav'));
  sox(f('stereo16.wav'), '-t', 'wavpcm', '-b', '24', f('s24.wav'));
  sox(f('stereo16.wav'), '-t', 'wavpcm', '-b', '32', '-e', 'signed-integer', f('s32.wav'));
  sox(f('stereo16.wav'), '-t', 'wavpcm', '-b', '32', '-e', 'floating-point', f('f32.wav'));
  sox(f('stereo16.wav'), '-t', 'wavpcm', '-b', '64', '-e', 'floating-point', f('f64.wav'));
  sox(f('mono16.wav'), '-e', 'a-law', f('alaw.wav'));
  sox(f('mono16.wav'), '-e', 'u-law', f('ulaw.wav'));
  ffmpeg('-i', f('stereo16.wav'), '-c:a', 'pcm_s24le', f('ext24.wav'));
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
  // What ffmpeg writes to a pipe: RIFF and data sizes 0xFFFFFFFF, LIST before the data.
  ffmpeg(
    '-i',
    f('mono16.wav'),
    '-c:a',
    'pcm_s16le',
    '-f',
    'wav',
    '-rf64',
    'never',
    '-write_bext',
    '0',
    f('piped.wav'),
  );
  {
    const b = readFileSync(f('piped.wav'));
    const data = b.indexOf('data');
    b.writeUInt32LE(0xffffffff, 4);
    b.writeUInt32LE(0xffffffff, data + 4);
    writeFileSync(f('piped.wav'), b);
  }
  // Our own writer: INFO, cue, smpl and acid chunks after the samples.
  const stereo = readWav(readFileSync(f('stereo16.wav')));
  writeFileSync(
    f('meta-after-data.wav'),
    encodeWav(stereo.audio, {
      encoding: 'float32',
      metadata: {
        comment: 'after the data',
        cuePoints: [{ frame: 100, label: 'a' }],
        loops: [{ start: 0, end: 16000 }],
        acid: { tempo: 120, beats: 4 },
      },
    }),
  );
  const data = pcm16(5001);
  // fmt after the data; an odd chunk without its pad byte before and after the data.
  writeFileSync(f('fmt-after-data.wav'), riff([chunk('data', data), chunk('fmt ', fmt16())]));
  writeFileSync(
    f('odd-unpadded.wav'),
    riff([
      chunk('fmt ', fmt16()),
      chunk('JUNK', new Uint8Array(3), false),
      chunk('data', data.subarray(0, 10001), false),
      chunk('LIST', concat(new TextEncoder().encode('INFOICMT'), Uint8Array.of(2, 0, 0, 0, 0x68, 0x69))),
    ]),
  );
  // Truncated in the samples (claims more than is there), and garbage / a lying chunk after the data.
  const good = readFileSync(f('mono16.wav'));
  writeFileSync(f('truncated.wav'), good.subarray(0, good.length - 1001));
  writeFileSync(
    f('garbage-after.wav'),
    concat(riff([chunk('fmt ', fmt16()), chunk('data', data)]), Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)),
  );
  writeFileSync(
    f('lying-after.wav'),
    riff([
      chunk('fmt ', fmt16()),
      chunk('data', data),
      withU32(chunk('LIST', new Uint8Array(8)), 4, 0x7ffffff0),
    ]),
  );
}, 60_000);

const files: Array<[string, true | number | undefined]> = [
  // name, frame count a pipe reports: true = exact, a number = the header's claim, undefined = unknown
  ['stereo16.wav', true],
  ['mono16.wav', true],
  ['u8.wav', true],
  ['s24.wav', true],
  ['s32.wav', true],
  ['f32.wav', true],
  ['f64.wav', true],
  ['alaw.wav', true],
  ['ulaw.wav', true],
  ['ext24.wav', true],
  ['ext6.wav', true],
  ['rf64.wav', true],
  ['piped.wav', undefined],
  ['meta-after-data.wav', true],
  ['fmt-after-data.wav', true],
  ['odd-unpadded.wav', true],
  // The header claims every frame; the pipe cannot know some are missing until they are.
  ['truncated.wav', FRAMES],
  ['garbage-after.wav', true],
  ['lying-after.wav', true],
];

describe('WavStreamReader gives what readWav gives', () => {
  for (const [name, pipeFrames] of files) {
    it(name, async () => {
      const bytes = new Uint8Array(readFileSync(f(name)));
      const ref = readWav(bytes, { path: f(name) });
      expect(ref.frames).toBeGreaterThan(4000);
      for (const [mode, opts] of [
        ['whole header', {}],
        ['cut-out data', CUT],
      ] as const) {
        for (const blockFrames of [4096, 777]) {
          const r = await WavStreamReader.open(f(name), { ...opts, blockFrames });
          expect(r.totalFrames, mode).toBe(ref.frames);
          expect(r.format, mode).toEqual(ref.format);
          expect(r.metadata, mode).toEqual(ref.metadata);
          expect(r.warnings, mode).toEqual(ref.warnings);
          const d = await drain(r);
          expectSameSamples(d.channels, ref, `${name} ${mode} ${blockFrames}`);
          expectBlocks(d.blockLengths, ref.frames, blockFrames);
          expect(r.framesRead).toBe(ref.frames);
        }
      }
      const s = await WavStreamReader.fromStream(pieces(bytes), { blockFrames: 1000 });
      expect(s.source).toBe('-');
      expect(s.format).toEqual(ref.format);
      expect(s.totalFrames).toBe(pipeFrames === true ? ref.frames : pipeFrames);
      const d = await drain(s);
      expectSameSamples(d.channels, ref, `${name} pipe`);
      expectBlocks(d.blockLengths, ref.frames, 1000);
      const a = await openAudioStream(f(name), { blockFrames: 3000 });
      expect(a.streaming).toBe(true);
      expect([a.codec, a.bitsPerSample]).toEqual([ref.format.sampleFormat, ref.format.validBitsPerSample]);
      expectSameSamples((await drain(a)).channels, ref, `${name} openAudioStream`);
    });
  }

  it('one-frame blocks and a stdin-style openAudioStream', async () => {
    const bytes = new Uint8Array(readFileSync(f('ulaw.wav')));
    const ref = readWav(bytes);
    const d = await drain(await WavStreamReader.open(f('ulaw.wav'), { ...CUT, blockFrames: 1 }));
    expectSameSamples(d.channels, ref, 'one-frame blocks');
    expect(d.blockLengths.length).toBe(ref.frames);
    const s = await openAudioStream('-', { stdin: pieces(bytes), blockFrames: 5000 });
    expect([s.streaming, s.totalFrames, s.sampleRate]).toEqual([true, ref.frames, 16000]);
    expectSameSamples((await drain(s)).channels, ref, 'stdin');
  });

  it('compressed input and non-WAV stdin fall back to the whole-file reader', async () => {
    sox(f('mono16.wav'), f('mono.flac'));
    const ref = await readAudio(f('mono.flac'));
    const a = await openAudioStream(f('mono.flac'), { blockFrames: 5000 });
    expect([a.streaming, a.codec, a.totalFrames]).toEqual([false, 'flac', 20801]);
    const d = await drain(a);
    expect(d.channels[0]).toEqual(ref.audio.channels[0]);
    const s = await openAudioStream('-', { stdin: pieces(new Uint8Array(readFileSync(f('mono.flac')))) });
    expect([s.streaming, s.source]).toEqual([false, '-']);
    expect((await drain(s)).channels[0]).toEqual(ref.audio.channels[0]);
  });

  it('stops between blocks once the signal fires', async () => {
    const ac = new AbortController();
    const r = await WavStreamReader.open(f('stereo16.wav'), { blockFrames: 1000, signal: ac.signal });
    let blocks = 0;
    const err = await (async () => {
      for await (const _ of r) if (++blocks === 3) ac.abort();
    })().catch((e: unknown) => e);
    expect(blocks).toBe(3);
    expect((err as SonodiffError).code).toBe('ERR_ABORTED');
  });
});

describe('bad files give the whole-file reader’s errors', () => {
  const data = pcm16(6000);
  const cases: Array<[string, () => Uint8Array]> = [
    ['empty.wav', () => new Uint8Array(0)],
    ['tiny.wav', () => readFileSync(f('mono16.wav')).subarray(0, 8)],
    ['cut-in-fmt.wav', () => readFileSync(f('mono16.wav')).subarray(0, 30)],
    ['cut-at-samples.wav', () => readFileSync(f('mono16.wav')).subarray(0, 44)],
    ['zero-channels.wav', () => riff([chunk('fmt ', fmt16(0)), chunk('data', data)])],
    ['rate-low.wav', () => riff([chunk('fmt ', fmt16(1, 7)), chunk('data', data)])],
    ['gsm.wav', () => riff([chunk('fmt ', withU32(fmt16(), 0, 0x31)), chunk('data', data)])],
    ['no-fmt.wav', () => riff([chunk('data', data)])],
    // The cut-out path must report offsets and the file length of the real file.
    [
      'no-fmt-lying-after.wav',
      () => riff([chunk('data', data), withU32(chunk('LIST', new Uint8Array(8)), 4, 0x7ffffff0)]),
    ],
    [
      'lying-before.wav',
      () =>
        riff([
          chunk('fmt ', fmt16()),
          withU32(chunk('LIST', new Uint8Array(8)), 4, 0x7ffffff0),
          chunk('data', data),
        ]),
    ],
    ['text.wav', () => new TextEncoder().encode('this is not audio, just a text file\n'.repeat(20))],
  ];
  for (const [name, make] of cases) {
    it(name, async () => {
      const bytes = new Uint8Array(make());
      writeFileSync(f(name), bytes);
      const refErr = (() => {
        try {
          readWav(bytes, { path: f(name) });
        } catch (e) {
          return e as SonodiffError;
        }
        throw new Error('expected readWav to fail');
      })();
      expect(refErr).toBeInstanceOf(SonodiffError);
      for (const opts of [{}, CUT]) {
        const err = await failure(WavStreamReader.open(f(name), opts));
        expect(err).toBeInstanceOf(SonodiffError);
        expect([err.code, err.message]).toEqual([refErr.code, refErr.message]);
      }
      const viaPipe = await failure(WavStreamReader.fromStream(pieces(bytes), { name: f(name) }));
      expect([viaPipe.code, viaPipe.message]).toEqual([refErr.code, refErr.message]);
      // openAudioStream answers exactly as readAudio does (which may try the Web Audio decoder).
      const audioErr = await failure(readAudio(f(name)));
      const streamErr = await failure(openAudioStream(f(name)));
      expect([streamErr.code, streamErr.message]).toEqual([audioErr.code, audioErr.message]);
    });
  }

  it('missing file and directory', async () => {
    mkdirSync(f('a-dir'));
    for (const p of [f('nope.wav'), f('a-dir')]) {
      const ref = await failure(readAudio(p));
      const err = await failure(WavStreamReader.open(p));
      expect([err.code, err.message]).toEqual([ref.code, ref.message]);
      const err2 = await failure(openAudioStream(p));
      expect([err2.code, err2.message]).toEqual([ref.code, ref.message]);
    }
  });

  it('validates its arguments', async () => {
    await expect(WavStreamReader.open('')).rejects.toThrow(TypeError);
    await expect(WavStreamReader.open(f('mono16.wav'), { blockFrames: 0 })).rejects.toThrow(/blockFrames/);
    await expect(WavStreamReader.fromStream(42 as never)).rejects.toThrow(/stream/);
  });
});
