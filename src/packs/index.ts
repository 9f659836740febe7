export { DIFFUSERS_INDEX, importDiffusersFolder } from './diffusers.ts';
export type {
  Conditioning,
  ControlSpec,
  ModelCard,
  ModelIo,
  ModelManifest,
  ModelTask,
  PredictionType,
  Representation,
  SpectrogramParams,
  VocoderIo,
} from './manifest.ts';
export { manifestSchema } from './manifest.ts';
export {
  builtinModelsDir,
  loadPack,
  MANIFEST_FILE,
  type ModelPack,
  ModelRegistry,
  modelSearchPath,
  type PackProblem,
} from './registry.ts';
export { manifestIssues, validateManifest } from './validate.ts';
