/** Diffusion core: schedules, parameterisations, samplers, guidance, editing, noise and events. */
export * from './diffusers-config.ts';
export {
  applyInpaint,
  continuation,
  cropPad,
  loopSeamRatio,
  noiseTo,
  placeOnCanvas,
  rollTime,
  strengthLevels,
  timeFrequencyMask,
  timeMask,
  wrapPad,
} from './editing.ts';
export * from './events.ts';
export * from './guidance.ts';
export * from './parameterisation.ts';
export {
  batchNoise,
  fillBatchNoise,
  gaussianFill,
  type NoiseSource,
  philox4x32,
  seedKey,
  uniformInt,
} from './rng.ts';
export { type LoopOptions, type SampleOptions, type SampleResult, sample } from './sample.ts';
export { modelCallsFor, SAMPLERS } from './samplers/index.ts';
export * from './schedules.ts';
export * from './types.ts';
