/**
 * sonodiff's public API. The CLI, the server and the tests import from here (or from the
 * stage barrels this file re-exports); nothing reaches into another stage's internals.
 */
export * from './audio/index.ts';
export * from './bridge/index.ts';
export * from './errors.ts';
export * from './metrics/index.ts';
export * from './packs/index.ts';
export * from './pipelines/index.ts';
export * from './protocol/index.ts';
export * from './runtime/index.ts';
export * from './sampler/index.ts';
export * from './server/index.ts';
export * from './spectrogram/index.ts';
