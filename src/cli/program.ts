/**
 * Builds the `sonodiff` commander program. Kept free of process-global state so tests can run
 * it in-process; `main.ts` wires it to the real process.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isSonodiffError } from '../errors.ts';
import { registerBridge } from './commands/bridge.ts';
import { registerDemo } from './commands/demo.ts';
import { registerDenoise } from './commands/denoise.ts';
import { registerDevices } from './commands/devices.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerModels } from './commands/models.ts';
import { registerPlay } from './commands/play.ts';
import { registerServe } from './commands/serve.ts';
import type { CliContext } from './context.ts';
import { EXIT, EXIT_CODES_HELP, type ExitCode, exitCodeFor } from './exit-codes.ts';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function createProgram(ctx: CliContext): Command {
  const program = new Command('sonodiff')
    .description('Generate, stream and denoise audio with diffusion models.')
    .version(version(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
    })
    .exitOverride();
  registerGenerate(program, ctx);
  registerDenoise(program, ctx);
  registerModels(program, ctx);
  registerDevices(program, ctx);
  registerPlay(program, ctx);
  registerServe(program, ctx);
  registerBridge(program, ctx);
  registerDemo(program, ctx);
  for (const cmd of program.commands) cmd.exitOverride().configureOutput(program.configureOutput());
  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code; never exits itself. */
export async function runCli(argv: string[], ctx: CliContext): Promise<ExitCode> {
  const program = createProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version "errors" are successes; everything else commander reports is usage.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) {
        return EXIT.ok;
      }
      return EXIT.usage;
    }
    if (isSonodiffError(err)) {
      if (!(err as { reported?: boolean }).reported) ctx.log(`sonodiff: ${err.message}`);
      return exitCodeFor(err.code);
    }
    if (err instanceof RangeError || err instanceof TypeError) {
      ctx.log(`sonodiff: ${err.message}`);
      return EXIT.usage;
    }
    ctx.log(`sonodiff: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return EXIT.failure;
  } finally {
    await ctx.dispose();
  }
}
