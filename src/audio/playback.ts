/**
 * Playback to an output device and offline rendering through node-web-audio-api. Every AudioContext is
 * closed on every path: an open one keeps a render thread alive and with it the process.
 */
import type { AudioContext, OfflineAudioContext } from 'node-web-audio-api';
import { SonodiffError } from '../errors.ts';
import { MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, type PcmAudio } from './types.ts';
import { webAudio } from './web-audio.ts';

export interface OutputDevice {
  /** Pass as `sinkId` to play on this device. */
  id: string;
  label: string;
  groupId: string;
}

/** A device id from `listOutputDevices()`, '' for the default device, or `{ type: 'none' }` (headless). */
export type SinkId = string | { type: 'none' };

export interface PlayOptions {
  sinkId?: SinkId;
  /** Stops playback; the promise then rejects with ERR_ABORTED. */
  signal?: AbortSignal;
  latencyHint?: 'interactive' | 'balanced' | 'playback';
  /** Linear gain, default 1. */
  gain?: number;
}

export interface PlayResult {
  /** Seconds of audio played. */
  seconds: number;
  /** Rate the context ran at (the device's when it refused the audio's own). */
  contextSampleRate: number;
}

export interface RenderOptions {
  /** Output rate; the buffer is resampled by the Web Audio engine when it differs. Default: the input's. */
  sampleRate?: number;
  /** Output channel count (Web Audio up/down-mix rules). Default: the input's. */
  channels?: number;
  /** Linear gain, default 1. */
  gain?: number;
}

function checkAudio(audio: PcmAudio): number {
  if (audio === null || typeof audio !== 'object' || !Array.isArray(audio.channels)) {
    throw new TypeError('audio must be a PcmAudio { sampleRate, channels }');
  }
  if (
    !Number.isInteger(audio.sampleRate) ||
    audio.sampleRate < MIN_SAMPLE_RATE ||
    audio.sampleRate > MAX_SAMPLE_RATE
  ) {
    throw new RangeError(`audio.sampleRate must be an integer in ${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE}`);
  }
  if (audio.channels.length < 1 || audio.channels.length > MAX_CHANNELS) {
    throw new RangeError(`audio.channels must hold 1..${MAX_CHANNELS} channels`);
  }
  const n = audio.channels[0]!.length;
  for (const ch of audio.channels) {
    if (!(ch instanceof Float32Array) || ch.length !== n) {
      throw new TypeError('audio.channels must be Float32Arrays of equal length');
    }
  }
  return n;
}

function checkGain(gain: number | undefined): number {
  const g = gain ?? 1;
  if (!Number.isFinite(g)) throw new RangeError('gain must be a finite number');
  return g;
}

/** Audio output devices known to the audio backend (empty when there are none). */
export async function listOutputDevices(): Promise<OutputDevice[]> {
  const { mediaDevices } = await webAudio();
  const enumerate = mediaDevices?.enumerateDevices;
  if (typeof enumerate !== 'function') return [];
  let devices: MediaDeviceInfo[];
  try {
    devices = await mediaDevices.enumerateDevices();
  } catch (err) {
    throw new SonodiffError('ERR_DEVICE', `cannot list audio devices: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return devices
    .filter((d) => d.kind === 'audiooutput')
    .map((d) => ({ id: d.deviceId, label: d.label, groupId: d.groupId }));
}

function toAudioBuffer(ctx: BaseAudioContext, audio: PcmAudio, frames: number): AudioBuffer {
  const buffer = ctx.createBuffer(audio.channels.length, frames, audio.sampleRate);
  audio.channels.forEach((ch, c) => {
    // The DOM typing wants an ArrayBuffer-backed array; a SharedArrayBuffer-backed one is copied all the same.
    buffer.copyToChannel(ch as Float32Array<ArrayBuffer>, c);
  });
  return buffer;
}

/**
 * Play audio and resolve when it has finished. Device problems → ERR_DEVICE; abort → ERR_ABORTED.
 * Use `sinkId: { type: 'none' }` on machines without a sound card (it runs in real time, silently).
 */
export async function playAudio(audio: PcmAudio, opts: PlayOptions = {}): Promise<PlayResult> {
  const frames = checkAudio(audio);
  const gain = checkGain(opts.gain);
  if (opts.signal?.aborted) throw new SonodiffError('ERR_ABORTED', 'playback aborted');
  if (frames === 0) return { seconds: 0, contextSampleRate: audio.sampleRate };
  const base: AudioContextOptions = { latencyHint: opts.latencyHint ?? 'playback' };
  if (opts.sinkId !== undefined) (base as { sinkId?: SinkId }).sinkId = opts.sinkId;
  let ctx: AudioContext;
  try {
    ctx = new (await webAudio()).AudioContext({ ...base, sampleRate: audio.sampleRate });
  } catch (first) {
    const sink = typeof opts.sinkId === 'string' && opts.sinkId !== '' ? ` '${opts.sinkId}'` : '';
    if ((first as Error).name === 'NotFoundError') {
      throw new SonodiffError('ERR_DEVICE', `audio output${sink} not found (see listOutputDevices)`, {
        cause: first,
      });
    }
    try {
      // Some devices refuse the audio's rate: let the context pick and resample the buffer.
      ctx = new (await webAudio()).AudioContext(base);
    } catch (err) {
      throw new SonodiffError(
        'ERR_DEVICE',
        `cannot open audio output${sink}: ${(err as Error).message} (use sinkId {type:'none'} when headless)`,
        { cause: err },
      );
    }
  }
  const seconds = frames / audio.sampleRate;
  let onAbort: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const source = ctx.createBufferSource();
    source.buffer = toAudioBuffer(ctx, audio, frames);
    const amp = ctx.createGain();
    amp.gain.value = gain;
    source.connect(amp).connect(ctx.destination);
    await new Promise<void>((resolve, reject) => {
      source.onended = () => resolve();
      onAbort = () => {
        try {
          source.stop();
        } catch {
          // Already stopped.
        }
        reject(new SonodiffError('ERR_ABORTED', 'playback aborted'));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      // A stalled device must not hang the caller.
      timer = setTimeout(
        () => reject(new SonodiffError('ERR_DEVICE', 'audio output stalled (playback did not finish)')),
        seconds * 1000 + 10_000,
      );
      source.start();
    });
    return { seconds, contextSampleRate: ctx.sampleRate };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort !== undefined) opts.signal?.removeEventListener('abort', onAbort);
    await ctx.close().catch(() => undefined);
  }
}

/**
 * Render audio through an OfflineAudioContext (gain, channel mix and rate conversion by the Web Audio
 * engine), faster than real time and without a device.
 */
export async function renderOffline(audio: PcmAudio, opts: RenderOptions = {}): Promise<PcmAudio> {
  const frames = checkAudio(audio);
  const gain = checkGain(opts.gain);
  const rate = opts.sampleRate ?? audio.sampleRate;
  if (!Number.isInteger(rate) || rate < MIN_SAMPLE_RATE || rate > MAX_SAMPLE_RATE) {
    throw new RangeError(`opts.sampleRate must be an integer in ${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE}`);
  }
  const nch = opts.channels ?? audio.channels.length;
  if (!Number.isInteger(nch) || nch < 1 || nch > 32)
    throw new RangeError('opts.channels must be an integer in 1..32');
  const outFrames = Math.round((frames * rate) / audio.sampleRate);
  if (outFrames === 0)
    return { sampleRate: rate, channels: Array.from({ length: nch }, () => new Float32Array(0)) };
  let ctx: OfflineAudioContext;
  try {
    ctx = new (await webAudio()).OfflineAudioContext({
      numberOfChannels: nch,
      length: outFrames,
      sampleRate: rate,
    });
  } catch (err) {
    throw new SonodiffError('ERR_DEVICE', `cannot start offline rendering: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const source = ctx.createBufferSource();
  source.buffer = toAudioBuffer(ctx, audio, frames);
  const amp = ctx.createGain();
  amp.gain.value = gain;
  source.connect(amp).connect(ctx.destination);
  source.start();
  // An offline context owns no device and ends with its render; it has no close().
  const rendered = await ctx.startRendering();
  const channels: Float32Array[] = [];
  for (let c = 0; c < rendered.numberOfChannels; c++) {
    const ch = new Float32Array(rendered.length);
    rendered.copyFromChannel(ch, c);
    channels.push(ch);
  }
  return { sampleRate: rendered.sampleRate, channels };
}
