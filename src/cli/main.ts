#!/usr/bin/env node
/** The `sonodiff` executable: wires the CLI to this process (signals, streams, exit code). */
import { CliContext } from './context.ts';
import { EXIT } from './exit-codes.ts';
import { runCli } from './program.ts';

const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts++;
  // First Ctrl-C cancels between model calls and cleans up; a second one exits at once.
  if (interrupts > 1) process.exit(EXIT.interrupted);
  process.stderr.write('\nsonodiff: interrupted, stopping after the current step (Ctrl-C again to force)\n');
  controller.abort();
});
process.on('SIGTERM', () => controller.abort());
// A closed stdout (e.g. `| head`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
});

const ctx = new CliContext(
  {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  },
  controller.signal,
);
const code = await runCli(process.argv.slice(2), ctx);
process.exitCode = controller.signal.aborted && code !== EXIT.ok ? EXIT.interrupted : code;
