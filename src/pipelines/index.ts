export { type ChunkSource, DenoisePipeline, type DenoiseOptions } from './denoise.ts';
export { GeneratePipeline, type GenerateOptions } from './generate.ts';
export { type Condition, createModelDenoiser } from './model-denoiser.ts';
export { planSampling, type SamplingPlan } from './plan.ts';
export { type ModelRepresentation, representationFor } from './representation.ts';
export type { AudioChunk, PipelineEvent, PipelineEventHandler, RunOptions } from './types.ts';
