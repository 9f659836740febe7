/**
 * Audio as the whole project passes it around: planar float32 channels, all the same length,
 * nominally in [-1, 1], plus the sample rate in Hz.
 */
export interface PcmAudio {
  readonly sampleRate: number;
  readonly channels: Float32Array[];
}

/** Number of frames (samples per channel). */
export function frameCount(audio: PcmAudio): number {
  return audio.channels.length === 0 ? 0 : audio.channels[0]!.length;
}

export function durationSeconds(audio: PcmAudio): number {
  return frameCount(audio) / audio.sampleRate;
}

/** Lowest and highest sample rates the project accepts anywhere. */
export const MIN_SAMPLE_RATE = 1000;
export const MAX_SAMPLE_RATE = 384_000;
/** More channels than this is treated as a corrupt header. */
export const MAX_CHANNELS = 64;
