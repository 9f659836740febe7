import type { SamplerEvent } from '../sampler/index.ts';

/** A piece of a pipeline's output, final as soon as it is emitted. */
export interface AudioChunk {
  sampleRate: number;
  /** Planar channels, all the same length. */
  channels: Float32Array[];
  /** Frame index of this chunk's first sample within the whole output. */
  startFrame: number;
  /** Index of the chunk, from 0. */
  index: number;
  /** True on the last chunk. */
  last: boolean;
}

/** Progress of a pipeline run, as a discriminated union on `type`. */
export type PipelineEvent =
  | { type: 'window'; index: number; windows: number | undefined }
  | ({ window: number } & SamplerEvent)
  | { type: 'chunk'; index: number; frames: number; elapsedMs: number };

export type PipelineEventHandler = (event: PipelineEvent) => void;

/** Options every pipeline run takes. */
export interface RunOptions {
  steps?: number;
  sampler?: string;
  seed?: number;
  signal?: AbortSignal;
  onEvent?: PipelineEventHandler;
}
