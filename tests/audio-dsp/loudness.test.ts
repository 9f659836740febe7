import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultChannelWeights,
  integratedLoudness,
  LoudnessMeter,
  normalizeLoudness,
  samplePeak,
  truePeak,
} from '../../src/audio/loudness.ts';
import type { PcmAudio } from '../../src/audio/types.ts';
import { tone } from './measure.ts';

const shared = path.resolve(import.meta.dirname, '../../../shared/data/train');

/** Decodes with ffmpeg to float32 at the file's own rate and channel count (independent of our decoder). */
function decode(file: string): PcmAudio {
  const info = JSON.parse(
    execFileSync(
      'ffprobe',
      ['-v', 'error', '-show_entries', 'stream=channels,sample_rate', '-of', 'json', file],
      {
        encoding: 'utf8',
      },
    ),
  ) as { streams: Array<{ channels: number; sample_rate: string }> };
  const nch = info.streams[0]!.channels;
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'f32le', '-ac', String(nch), '-'], {
    maxBuffer: 1 << 28,
  });
  const inter = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  const n = inter.length / nch;
  const channels = Array.from({ length: nch }, (_, c) => {
    const ch = new Float32Array(n);
    for (let i = 0; i < n; i++) ch[i] = inter[i * nch + c]!;
    return ch;
  });
  return { sampleRate: Number(info.streams[0]!.sample_rate), channels };
}

/** ffmpeg's ebur128 summary: integrated loudness (LUFS) and true peak (dBFS), both to 0.1 dB. */
function ffmpegEbur128(file: string): { integrated: number; truePeak: number } {
  const r = spawnSync('ffmpeg', ['-nostats', '-i', file, '-af', 'ebur128=peak=true', '-f', 'null', '-'], {
    encoding: 'utf8',
  });
  const i = [...r.stderr.matchAll(/I:\s+(-?[\d.]+) LUFS/g)].pop();
  const p = [...r.stderr.matchAll(/Peak:\s+(-?[\d.]+) dBFS/g)].pop();
  if (!i || !p) throw new Error(`ffmpeg ebur128 gave no summary for ${file}`);
  return { integrated: Number(i[1]), truePeak: Number(p[1]) };
}

describe('integrated loudness vs ffmpeg ebur128', () => {
  // Measured agreement: within 0.05 LU on every file (ffmpeg prints one decimal).
  const files = [
    'music/sonic-pi-samples/ambi_choir.flac',
    'music/sonic-pi-samples/arovane_beat_b.flac',
    'music/sonic-pi-samples/bass_woodsy_c.flac',
    'music/sonic-pi-samples/guit_harmonics.flac',
    'music/sonic-pi-samples/loop_amen_full.flac',
    'music/sonic-pi-samples/loop_safari.flac',
    'music/sonic-pi-samples/mehackit_robot6.flac',
    'music/sonic-pi-samples/vinyl_hiss.flac',
    'librispeech-train-clean-100/103-1240-0000.flac',
    'librispeech-train-clean-100/1034-121119-0000.flac',
  ];
  // True peak (oversampling is the slow part) on every other file; ffmpeg prints it to 0.1 dB.
  files.forEach((f, k) => {
    const withPeak = k % 2 === 0;
    it(`${path.basename(f)}: integrated within 0.2 LU${withPeak ? ', true peak within 0.2 dB' : ''}`, () => {
      const file = path.join(shared, f);
      const audio = decode(file);
      const ref = ffmpegEbur128(file);
      expect(Math.abs(integratedLoudness(audio) - ref.integrated)).toBeLessThan(0.2);
      if (withPeak) expect(Math.abs(20 * Math.log10(truePeak(audio)) - ref.truePeak)).toBeLessThan(0.2);
    });
  });
});

describe('loudness on synthetic signals', () => {
  it('a stereo 1 kHz sine at −23 dBFS reads −23 LUFS at any rate (K-weighting re-derived per rate)', () => {
    for (const rate of [16000, 44100, 48000, 96000]) {
      const amp = 10 ** (-23 / 20);
      const s = tone(1000, rate, rate * 3, amp);
      const l = integratedLoudness({ sampleRate: rate, channels: [s, s.slice()] });
      expect(Math.abs(l - -23)).toBeLessThan(0.05);
    }
  });
  it('gates: silence is absolutely gated, a part 15 LU quieter is relatively gated', () => {
    const rate = 48000;
    const loud = tone(1000, rate, rate * 5, 0.1);
    const quiet = tone(1000, rate, rate * 5, 0.1 * 10 ** (-15 / 20));
    const cat = (a: Float32Array, b: Float32Array) => {
      const y = new Float32Array(a.length + b.length);
      y.set(a);
      y.set(b, a.length);
      return y;
    };
    const alone = integratedLoudness({ sampleRate: rate, channels: [loud] });
    const withSilence = integratedLoudness({
      sampleRate: rate,
      channels: [cat(loud, new Float32Array(rate * 5))],
    });
    const withQuiet = integratedLoudness({ sampleRate: rate, channels: [cat(loud, quiet)] });
    // 47 full blocks in 5 s; the three blocks straddling the joint hold 3/4, 1/2, 1/4 of the loud
    // part and pass both gates; the fully silent or quiet blocks are gated out.
    const q = 10 ** (-15 / 10);
    const straddle = 0.75 + 0.5 + 0.25;
    expect(withSilence - alone).toBeCloseTo(10 * Math.log10((47 + straddle) / 50), 2);
    expect(withQuiet - alone).toBeCloseTo(10 * Math.log10((47 + straddle + q * straddle) / 50), 2);
    expect(integratedLoudness({ sampleRate: rate, channels: [new Float32Array(rate)] })).toBe(
      Number.NEGATIVE_INFINITY,
    );
    expect(integratedLoudness({ sampleRate: rate, channels: [tone(1000, rate, 0.3 * rate)] })).toBe(
      Number.NEGATIVE_INFINITY,
    );
  });
  it('5.1 weights: surround +1.5 dB, LFE ignored', () => {
    expect(defaultChannelWeights(6)).toEqual([1, 1, 1, 0, 1.41, 1.41]);
    const rate = 48000;
    const s = tone(1000, rate, rate * 2, 0.1);
    const only = (i: number) => ({
      sampleRate: rate,
      channels: Array.from({ length: 6 }, (_, c) => (c === i ? s : new Float32Array(s.length))),
    });
    const front = integratedLoudness(only(0));
    expect(integratedLoudness(only(4)) - front).toBeCloseTo(10 * Math.log10(1.41), 3);
    expect(integratedLoudness(only(3))).toBe(Number.NEGATIVE_INFINITY);
  });
  it('streaming meter in odd chunks equals the one-shot value', () => {
    const rate = 44100;
    const x = tone(440, rate, rate * 3, 0.3);
    const meter = new LoudnessMeter(rate, 1);
    for (let i = 0; i < x.length; i += 777) meter.push([x.subarray(i, Math.min(x.length, i + 777))]);
    expect(meter.integrated()).toBeCloseTo(integratedLoudness({ sampleRate: rate, channels: [x] }), 9);
  });
  it('true peak finds the inter-sample peak of a fs/4 sine sampled at 45°', () => {
    const rate = 48000;
    const x = new Float32Array(rate);
    // Raised-cosine ends so the abrupt start does not ring above the steady-state peak.
    for (let i = 0; i < x.length; i++) {
      const edge = Math.min(1, Math.min(i, x.length - 1 - i) / 2000);
      x[i] = 0.9 * Math.sin((Math.PI / 2) * i + Math.PI / 4) * (0.5 - 0.5 * Math.cos(Math.PI * edge));
    }
    const a = { sampleRate: rate, channels: [x] };
    expect(samplePeak(a)).toBeCloseTo(0.9 * Math.SQRT1_2, 5);
    expect(Math.abs(20 * Math.log10(truePeak(a) / 0.9))).toBeLessThan(0.05);
  });
  it('normalizeLoudness hits the target and respects a peak ceiling', () => {
    const audio = decode(path.join(shared, 'music/sonic-pi-samples/loop_amen_full.flac'));
    const r = normalizeLoudness(audio, -23);
    expect(Math.abs(integratedLoudness(r.audio) - -23)).toBeLessThan(0.01);
    expect(r.gainDb).toBeCloseTo(-23 - r.loudness, 9);
    const capped = normalizeLoudness(audio, -5, { peakCeilingDb: -1, peakMode: 'sample' });
    expect(20 * Math.log10(samplePeak(capped.audio))).toBeLessThan(-0.999);
    expect(() => normalizeLoudness(audio, 5)).toThrow(/targetLufs/);
  });
});
