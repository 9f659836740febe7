/** What every command gets: streams, environment and the shared runtime. Tests pass their own. */
import path from 'node:path';
import { Runtime } from '../runtime/index.ts';

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export class CliContext {
  readonly io: CliIo;
  /** Aborted on Ctrl-C; commands pass it to pipelines, which stop between model calls. */
  readonly signal: AbortSignal;
  private runtimeInstance: Runtime | undefined;

  constructor(io: CliIo, signal: AbortSignal) {
    this.io = io;
    this.signal = signal;
  }

  get runtime(): Runtime {
    this.runtimeInstance ??= new Runtime({ workers: 1 });
    return this.runtimeInstance;
  }

  /** Progress and logs go to stderr; only when it is a terminal (and NO_COLOR is honoured by callers). */
  get interactive(): boolean {
    return this.io.stderr.isTTY === true;
  }

  /** Resolves a user-given path against the working directory the command was started in. */
  resolve(p: string): string {
    return path.resolve(this.io.cwd, p);
  }

  log(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  /** stdout carries exactly one JSON object with --json. */
  json(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  async dispose(): Promise<void> {
    await this.runtimeInstance?.dispose();
  }
}
