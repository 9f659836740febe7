/** The streaming server (protocol v1, docs/protocol.md). */
export { FairQueue } from './fair-queue.ts';
export { isLoopbackHost } from './http.ts';
export { denoiseLatency } from './job.ts';
export { ReplayBuffer } from './replay.ts';
export { createServer, type ServerOptions, type ServerStats, SonodiffServer } from './server.ts';
