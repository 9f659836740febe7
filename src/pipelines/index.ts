export { type ConditionRequest, conditionFor, setControl, unconditionalFor } from './condition.ts';
export { DECODER_NAMES, type DecoderName, decodeLoop, decodeWindow, resolveDecoder } from './decoder.ts';
export {
  type ChunkSource,
  DENOISE_FILE_WINDOW_SECONDS,
  DENOISE_RESAMPLER,
  type DenoiseOptions,
  DenoisePipeline,
  denoiseLatencySamples,
  denoiseWindowSamples,
} from './denoise.ts';
export { type GenerateOptions, GeneratePipeline } from './generate.ts';
export { BEATS_PER_BAR, type LoopPlan, type LoopRequest, planLoop } from './loop-plan.ts';
export { type Condition, createModelDenoiser } from './model-denoiser.ts';
export { ModelPipeline, openPipeline } from './model-pipeline.ts';
export { planSampling, type SamplingPlan } from './plan.ts';
export {
  GRIFFIN_LIM_ITERATIONS,
  type LinearSpectrum,
  type ModelRepresentation,
  representationFor,
} from './representation.ts';
export type { AudioChunk, PipelineEvent, PipelineEventHandler, RunOptions } from './types.ts';
export { NeuralVocoder } from './vocoder.ts';
