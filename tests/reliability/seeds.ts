/**
 * Seed files for mutation fuzzing: real recordings from samples/ and the training data (cut short so
 * one decode takes well under a millisecond), WAV variants written by sox/ffmpeg (8-bit, A-law, µ-law,
 * 24-bit extensible, float64, RF64) and by our own writer (cue points, loops, acid, INFO tags), and
 * small compressed files (FLAC, Ogg Vorbis, MP3, AAC, AIFF).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeWav } from '../../src/audio/wav-write.ts';
import { repoFile, TRAIN, trainFile } from './fuzz-helpers.ts';

export interface Seed {
  name: string;
  bytes: Uint8Array;
}

function tool(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** Runs `make(dir)` in a scratch folder and returns the files it wrote that exist. */
function madeWith(make: (f: (name: string) => string) => void): Seed[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-seeds-'));
  const written: string[] = [];
  try {
    make((name) => {
      const p = path.join(dir, name);
      written.push(p);
      return p;
    });
    return written
      .filter((p) => existsSync(p))
      .map((p) => ({ name: path.basename(p), bytes: new Uint8Array(readFileSync(p)) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function synth(rate: number, frames: number, channels: number): Float32Array[] {
  return Array.from({ length: channels }, (_, c) =>
    Float32Array.from({ length: frames }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * (c + 1) * i) / rate)),
  );
}

/** Keeps the first `n` bytes (a truncated file whose header still claims the whole length). */
function head(bytes: Uint8Array, n: number): Uint8Array {
  return bytes.slice(0, Math.min(n, bytes.length));
}

export function wavSeeds(): Seed[] {
  const seeds: Seed[] = [
    { name: 'digit-7-jackson.wav', bytes: head(repoFile('samples/digit-7-jackson.wav'), 3000) },
    { name: 'speech-16k.wav (head)', bytes: head(repoFile('samples/speech-16k.wav'), 2000) },
  ];
  const fsdd = path.join(TRAIN, 'fsdd/recordings/0_george_27.wav');
  if (existsSync(fsdd))
    seeds.push({
      name: 'fsdd 0_george_27.wav',
      bytes: head(trainFile('fsdd/recordings/0_george_27.wav'), 2000),
    });
  const audio = { sampleRate: 8000, channels: synth(8000, 160, 2) };
  const metadata = {
    title: 'fuzz',
    comment: 'seed with every chunk',
    tags: { IGNR: 'test' },
    cuePoints: [{ frame: 10, label: 'a' }, { frame: 90 }],
    loops: [{ start: 0, end: 100 }],
    acid: { tempo: 120, beats: 4, rootNote: 60 },
  };
  for (const encoding of ['pcm16', 'pcm24', 'float32'] as const) {
    seeds.push({ name: `ours-${encoding}.wav`, bytes: encodeWav(audio, { encoding, metadata }) });
  }
  seeds.push(
    ...madeWith((f) => {
      const sine = ['synth', '0.02', 'sine', '440'];
      tool('sox', [
        '-D',
        '-n',
        '-r',
        '8000',
        '-c',
        '1',
        '-b',
        '8',
        '-e',
        'unsigned-integer',
        f('u8.wav'),
        ...sine,
      ]);
      tool('sox', ['-D', '-n', '-r', '8000', '-c', '2', '-e', 'a-law', f('alaw.wav'), ...sine]);
      tool('sox', ['-D', '-n', '-r', '8000', '-c', '1', '-e', 'u-law', f('mulaw.wav'), ...sine]);
      tool('sox', [
        '-D',
        '-n',
        '-r',
        '48000',
        '-c',
        '3',
        '-b',
        '24',
        f('ext24.wav'),
        'synth',
        '0.005',
        'sine',
        '440',
      ]);
      tool('sox', [
        '-D',
        '-n',
        '-r',
        '8000',
        '-c',
        '1',
        '-b',
        '64',
        '-e',
        'floating-point',
        f('f64.wav'),
        ...sine,
      ]);
      const lavfi = [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'sine=f=440:r=8000',
        '-t',
        '0.02',
      ];
      tool('ffmpeg', [...lavfi, '-rf64', 'always', f('rf64.wav')]);
      tool('ffmpeg', [...lavfi, '-c:a', 'adpcm_ms', f('adpcm.wav')]);
    }),
  );
  return seeds;
}

export function compressedSeeds(): Seed[] {
  const seeds: Seed[] = [];
  const flac = 'music/sonic-pi-samples/hat_psych.flac';
  if (existsSync(path.join(TRAIN, flac)))
    seeds.push({ name: 'hat_psych.flac', bytes: head(trainFile(flac), 6000) });
  const ogg = 'noise/blanket/wind.ogg';
  if (existsSync(path.join(TRAIN, ogg)))
    seeds.push({ name: 'wind.ogg (head)', bytes: head(trainFile(ogg), 8000) });
  seeds.push({
    name: 'drum-loop-amen.flac (head)',
    bytes: head(repoFile('samples/drum-loop-amen.flac'), 6000),
  });
  seeds.push(
    ...madeWith((f) => {
      const lavfi = [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'sine=f=440:r=16000',
        '-t',
        '0.15',
      ];
      tool('ffmpeg', [...lavfi, '-c:a', 'libmp3lame', '-b:a', '32k', f('sine.mp3')]);
      tool('ffmpeg', [...lavfi, '-c:a', 'aac', '-b:a', '32k', '-f', 'adts', f('sine.aac')]);
      tool('ffmpeg', [...lavfi, '-c:a', 'libvorbis', f('sine.ogg')]);
      tool('ffmpeg', [...lavfi, '-c:a', 'flac', f('sine.flac')]);
      tool('sox', [
        '-D',
        '-n',
        '-r',
        '8000',
        '-c',
        '1',
        '-b',
        '16',
        f('sine.aiff'),
        'synth',
        '0.02',
        'sine',
        '440',
      ]);
    }),
  );
  return seeds;
}
