export {
  type ChunkSource,
  DENOISE_RESAMPLER,
  type DenoiseOptions,
  DenoisePipeline,
  denoiseLatencySamples,
  denoiseWindowSamples,
} from './denoise.ts';
export { type GenerateOptions, GeneratePipeline } from './generate.ts';
export { type Condition, createModelDenoiser } from './model-denoiser.ts';
export { ModelPipeline, openPipeline } from './model-pipeline.ts';
export { planSampling, type SamplingPlan } from './plan.ts';
export { type ModelRepresentation, representationFor } from './representation.ts';
export type { AudioChunk, PipelineEvent, PipelineEventHandler, RunOptions } from './types.ts';
