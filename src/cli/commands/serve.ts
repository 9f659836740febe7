import type { Command } from 'commander';
import { ModelRegistry } from '../../packs/index.ts';
import type { ComputeDevice } from '../../runtime/index.ts';
import { createServer } from '../../server/index.ts';
import type { CliContext } from '../context.ts';
import { deviceOption, intOption } from '../options.ts';

interface ServeOptions {
  host: string;
  port: number;
  token?: string;
  allowOrigin?: string[];
  modelsDir?: string[];
  device: ComputeDevice;
  maxJobs: number;
  webDir?: string;
}

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the streaming server (HTTP + WebSocket protocol v1 on one port) until Ctrl-C')
    .option('--host <host>', 'interface to bind; anything but loopback needs --token', '127.0.0.1')
    .option('--port <port>', 'port (0 = any free one)', intOption('--port', 0, 65535), 7878)
    .option('--token <token>', 'shared secret clients must send (also SONODIFF_TOKEN)')
    .option('--allow-origin <origin...>', "browser origins allowed besides the server's own ('*' = any)")
    .option('--models-dir <dir...>', 'extra folders to search for model packs (also SONODIFF_MODELS)')
    .option('--device <device>', 'compute device: auto, cpu, cuda, webgpu', deviceOption, 'auto')
    .option('--max-jobs <n>', 'jobs running at once across all clients', intOption('--max-jobs', 1, 1024), 2)
    .option('--web-dir <dir>', 'folder served at / (default: the package web/ folder, if any)')
    .action(async (opts: ServeOptions) => {
      // The token is taken from the environment when not on the command line (keeps it out of `ps`).
      const token = opts.token ?? ctx.io.env['SONODIFF_TOKEN'];
      const server = await createServer({
        host: opts.host,
        port: opts.port,
        ...(token ? { token } : {}),
        allowOrigins: opts.allowOrigin ?? [],
        registry: new ModelRegistry({
          dirs: (opts.modelsDir ?? []).map((d) => ctx.resolve(d)),
          env: ctx.io.env,
        }),
        runtime: ctx.runtime,
        device: opts.device,
        maxJobs: opts.maxJobs,
        ...(opts.webDir !== undefined ? { webDir: ctx.resolve(opts.webDir) } : {}),
        log: (line) => ctx.log(`sonodiff serve: ${line}`),
      });
      const models = await server.models.registry.list();
      ctx.log(`sonodiff serve: listening on ${server.url} (WebSocket ${server.wsUrl})`);
      ctx.log(
        `sonodiff serve: ${models.length} model(s): ${models.map((m) => m.manifest.id).join(', ') || 'none'}; ` +
          `${token ? 'token required' : 'no token (loopback only)'}; Ctrl-C to stop`,
      );
      if (!ctx.signal.aborted) {
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
        );
      }
      ctx.log('sonodiff serve: stopping');
      await server.close();
    });
}
