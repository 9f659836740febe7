/** Spectral analysis and synthesis: FFT, windows, STFT/iSTFT (plain and circular), mel, inversion, previews. */

export {
  type CircularGriffinLimOptions,
  circularFramePositions,
  circularGriffinLim,
  circularIstft,
  circularStft,
} from './circular.ts';
export {
  amplitudeToDb,
  type DbOptions,
  dbToAmplitude,
  dbToPower,
  dynamicRangeCompression,
  dynamicRangeDecompression,
  logCompress,
  logDecompress,
  magnitude,
  powerToDb,
} from './compress.ts';
export { Fft, getFft } from './fft.ts';
export {
  type GriffinLimOptions,
  type GriffinLimResult,
  type GriffinLimSettings,
  griffinLim,
} from './griffinlim.ts';
export {
  type Colormap,
  colormapTable,
  crc32,
  encodePng,
  type SpectrogramImageOptions,
  spectrogramToPng,
} from './image.ts';
export { type MelInversionOptions, melToLinear } from './invert.ts';
export {
  applyMel,
  hzToMel,
  type MelFilterbank,
  type MelNorm,
  type MelOptions,
  type MelScale,
  type MelSpectrogramOptions,
  melFilterbank,
  melSpectrogram,
  melToHz,
} from './mel.ts';
export {
  type ComplexSpectrogram,
  istft,
  istftLength,
  type PadMode,
  type ResolvedStft,
  resolveStft,
  type Spectrogram,
  type StftOptions,
  stft,
  stftFrameCount,
  stftMagnitude,
} from './stft.ts';
export {
  blackman,
  type ColaResult,
  checkCola,
  hamming,
  hann,
  kaiser,
  makeWindow,
  rectangular,
  type WindowName,
  type WindowSpec,
} from './windows.ts';
