/** Audio in and out, and the DSP between: planar float32 everywhere (see types.ts). */
export {
  type CompressedContainer,
  type CompressedInfo,
  type DecodeOptions,
  type DecodeResult,
  decodeCompressed,
  probeCompressed,
} from './decode.ts';
export {
  defaultChannelWeights,
  integratedLoudness,
  LoudnessMeter,
  normalizeLoudness,
  samplePeak,
  truePeak,
} from './loudness.ts';
export {
  applyGain,
  applyGainDb,
  concatenate,
  crossfade,
  crossfadeGains,
  type FadeCurve,
  fadeGain,
  fadeIn,
  fadeOut,
  fitPeak,
  normalizePeak,
  remix,
  softLimit,
  standardMixMatrix,
  toMono,
  toStereo,
} from './mix.ts';
export {
  listOutputDevices,
  type OutputDevice,
  type PlayOptions,
  type PlayResult,
  playAudio,
  type RenderOptions,
  renderOffline,
  type SinkId,
} from './playback.ts';
export {
  DEFAULT_MAX_INPUT_BYTES,
  decodeAudioBytes,
  preferredWavEncoding,
  type ReadAudioOptions,
  type ReadAudioResult,
  readAudio,
} from './read.ts';
export { type ResampleOptions, Resampler, resample, resampleAudio } from './resample.ts';
export * from './types.ts';
export {
  parseWavHeader,
  readWav,
  type WavAcid,
  type WavCuePoint,
  type WavDecoded,
  type WavFormat,
  type WavHeader,
  type WavLoop,
  type WavMetadata,
  type WavSampleFormat,
} from './wav-read.ts';
export {
  type AudioBlockStream,
  openAudioStream,
  WavStreamReader,
  type WavStreamReaderOptions,
} from './wav-stream-reader.ts';
export { WavStreamWriter, type WavStreamWriterOptions } from './wav-stream-writer.ts';
export {
  encodeWav,
  type WavAcidInput,
  type WavCueInput,
  type WavEncodeOptions,
  type WavEncoding,
  type WavLoopInput,
  type WavMetadataInput,
  type WavWriteOptions,
  type WavWriteResult,
  writeWavFile,
} from './wav-write.ts';
export {
  type AsyncFrameProcessor,
  colaDeviation,
  type FrameProcessor,
  makeWindow as makeOlaWindow,
  OverlapAddWindower,
  type WindowerOptions,
} from './windower.ts';
