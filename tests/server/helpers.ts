import path from 'node:path';
import { type ClientOptions, SonodiffClient } from '../../src/client/index.ts';
import { ModelRegistry } from '../../src/packs/index.ts';
import { Runtime } from '../../src/runtime/index.ts';
import { createServer, type ServerOptions, type SonodiffServer } from '../../src/server/index.ts';

export const fixtures = path.resolve(import.meta.dirname, '../fixtures/packs');
export const GEN = 'tiny-mel-generate';
export const DEN = 'tiny-stft-denoise';

export function registry(): ModelRegistry {
  return new ModelRegistry({ dirs: [fixtures], env: {} });
}

export async function startServer(runtime: Runtime, options: ServerOptions = {}): Promise<SonodiffServer> {
  return createServer({ port: 0, registry: registry(), runtime, device: 'cpu', webDir: null, ...options });
}

export async function connect(
  server: SonodiffServer,
  options: Partial<ClientOptions> = {},
): Promise<SonodiffClient> {
  const c = new SonodiffClient({ url: server.url, ...options });
  await c.connect();
  return c;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function newRuntime(): Runtime {
  return new Runtime({ workers: 1 });
}

export function equalBits(a: Float32Array, b: Float32Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    )
  );
}
