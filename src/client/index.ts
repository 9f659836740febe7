/** `sonodiff/client`: the protocol v1 client (depends on `ws` and src/protocol only). */

export * from '../protocol/index.ts';
export {
  type ClientOptions,
  type ClientState,
  type ReconnectOptions,
  SonodiffClient,
  type Welcome,
} from './client.ts';
export { type AudioEvent, ClientJob, type JobEvent, type JobResult, type StartJobOptions } from './job.ts';
export type { SocketFactory, SocketLike } from './socket.ts';
