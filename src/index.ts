/**
 * sonodiff's public API. The CLI, the server and the tests import from here (or from the
 * stage barrels this file re-exports); nothing reaches into another stage's internals.
 */

export * from './audio/types.ts';
export * from './errors.ts';
export * from './runtime/index.ts';
export { Fft, getFft } from './spectrogram/fft.ts';
export * from './packs/index.ts';
