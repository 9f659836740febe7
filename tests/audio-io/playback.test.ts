import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listOutputDevices, playAudio, renderOffline } from '../../src/audio/playback.ts';
import type { PcmAudio } from '../../src/audio/types.ts';
import { SonodiffError } from '../../src/errors.ts';
import { repoRoot } from './helpers.ts';

function sine(freq: number, seconds: number, rate: number, nch = 1, amp = 0.5): PcmAudio {
  const n = Math.round(seconds * rate);
  return {
    sampleRate: rate,
    channels: Array.from({ length: nch }, (_, c) => {
      const ch = new Float32Array(n);
      for (let i = 0; i < n; i++) ch[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate + c);
      return ch;
    }),
  };
}

describe('playback (headless: sinkId {type: "none"})', () => {
  it('lists output devices as {id, label} (this machine may have none)', async () => {
    const devices = await listOutputDevices();
    expect(Array.isArray(devices)).toBe(true);
    for (const d of devices) {
      expect(typeof d.id).toBe('string');
      expect(d.id.length).toBeGreaterThan(0);
      expect(typeof d.label).toBe('string');
    }
  });

  it('plays 0.3 s in real time and closes its context', async () => {
    const t0 = performance.now();
    const r = await playAudio(sine(440, 0.3, 16000), { sinkId: { type: 'none' } });
    const ms = performance.now() - t0;
    expect(r.seconds).toBeCloseTo(0.3, 10);
    expect(ms).toBeGreaterThan(250);
    expect(ms).toBeLessThan(3000);
  });

  it('an AbortSignal stops playback with ERR_ABORTED', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ac.abort(), 150);
    const err = (await playAudio(sine(440, 5, 16000), { sinkId: { type: 'none' }, signal: ac.signal }).catch(
      (e: unknown) => e,
    )) as SonodiffError;
    expect(err).toBeInstanceOf(SonodiffError);
    expect(err.code).toBe('ERR_ABORTED');
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('an unknown sink → ERR_DEVICE', async () => {
    const err = (await playAudio(sine(440, 0.1, 16000), { sinkId: 'no-such-device' }).catch(
      (e: unknown) => e,
    )) as SonodiffError;
    expect(err).toBeInstanceOf(SonodiffError);
    expect(err.code).toBe('ERR_DEVICE');
    expect(err.message).toMatch(/no-such-device/);
  });

  it('a process that played exits by itself', () => {
    const script = `import { playAudio } from ${JSON.stringify(join(repoRoot, 'src/audio/playback.ts'))};
const ch = new Float32Array(4800).fill(0.1);
const r = await playAudio({ sampleRate: 48000, channels: [ch] }, { sinkId: { type: 'none' } });
console.log(r.seconds);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 20_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(out.toString().trim()).toBe('0.1');
  });
});

describe('renderOffline', () => {
  it('applies gain exactly', async () => {
    const a = sine(1000, 0.5, 44100, 2);
    const r = await renderOffline(a, { gain: 0.5 });
    expect(r.sampleRate).toBe(44100);
    expect(r.channels[0]!.length).toBe(a.channels[0]!.length);
    let m = 0;
    for (let c = 0; c < 2; c++) {
      for (let i = 0; i < r.channels[c]!.length; i++)
        m = Math.max(m, Math.abs(r.channels[c]![i]! - 0.5 * a.channels[c]![i]!));
    }
    expect(m).toBeLessThan(1e-7);
  });

  it('mixes stereo down to mono as (L + R) / 2', async () => {
    const a = sine(300, 0.2, 16000, 2);
    const r = await renderOffline(a, { channels: 1 });
    expect(r.channels.length).toBe(1);
    let m = 0;
    for (let i = 0; i < r.channels[0]!.length; i++) {
      m = Math.max(m, Math.abs(r.channels[0]![i]! - 0.5 * (a.channels[0]![i]! + a.channels[1]![i]!)));
    }
    expect(m).toBeLessThan(1e-6);
  });

  it('renders at another rate: length scales, the tone stays at its frequency', async () => {
    const a = sine(1000, 0.5, 16000);
    const r = await renderOffline(a, { sampleRate: 48000 });
    expect(r.sampleRate).toBe(48000);
    expect(r.channels[0]!.length).toBe(24000);
    // Correlate the middle against 1 kHz at 48 kHz: a near-perfect match means the pitch is kept.
    const x = r.channels[0]!;
    let re = 0;
    let im = 0;
    let e = 0;
    for (let i = 2400; i < 21600; i++) {
      re += x[i]! * Math.cos((2 * Math.PI * 1000 * i) / 48000);
      im += x[i]! * Math.sin((2 * Math.PI * 1000 * i) / 48000);
      e += x[i]! * x[i]!;
    }
    const n = 21600 - 2400;
    const tonePower = (2 * (re * re + im * im)) / n / n;
    expect(tonePower / (e / n)).toBeGreaterThan(0.99);
  });
});
