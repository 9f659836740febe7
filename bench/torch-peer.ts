/**
 * The generation benchmark's PyTorch peer as a long-lived process (training/parity/time_reference.py
 * --serve): the model stays loaded and each `time()` is one sampling run, so the bench can alternate
 * the peer's runs with its own and both sides see the same machine load.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';

/** One line the peer writes: its ready line, a timing or an error. */
interface PeerReply {
  ready?: boolean;
  torch?: string;
  seconds?: number;
  error?: string;
}

/** How long one peer answer may take (a 25-step loop sampling takes seconds). */
const REPLY_TIMEOUT_MS = 300_000;

export class TorchPeer {
  private readonly child: ChildProcess;
  private readonly rl: Interface;
  private readonly lines: AsyncIterator<string>;
  private version = '';

  private constructor(child: ChildProcess, rl: Interface) {
    this.child = child;
    this.rl = rl;
    this.lines = rl[Symbol.asyncIterator]();
  }

  /** The peer's torch version, from its ready line. */
  get torch(): string {
    return this.version;
  }

  /**
   * Starts the peer for `model` (its guidance and extra arguments fixed for the process). Resolves
   * to a one-line reason instead when it cannot start (no python3-torch, no pack, a bad argument).
   */
  static async start(
    cwd: string,
    model: string,
    guidance: number,
    threads: number,
    extra: string[],
  ): Promise<TorchPeer | { why: string }> {
    const args = ['-m', 'training.parity.time_reference', model, '--serve'];
    args.push('--guidance', String(guidance), '--threads', String(threads), ...extra);
    const child = spawn('/usr/bin/python3', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    // Writing to a peer that has exited fails on its stdin stream; the caller learns of it from the
    // reply that never comes (next() sees the end of stdout), so the stream error itself is dropped.
    child.stdin?.on('error', () => {});
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const failed = new Promise<{ why: string }>((resolve) => {
      child.on('error', (err) => resolve({ why: err.message }));
      // 'close': after the process exited and its stderr was read to the end.
      child.on('close', (code) =>
        resolve({ why: stderr.trim().split('\n').at(-1)?.slice(0, 120) || `exited with code ${code}` }),
      );
    });
    const rl = createInterface({ input: child.stdout! });
    const peer = new TorchPeer(child, rl);
    // A peer that exits ends its stdout first: then its reason is what it wrote on stderr.
    const first = await Promise.race([peer.next().catch(() => failed), failed]);
    if ('why' in first) {
      peer.close();
      return first;
    }
    if (first.ready !== true) {
      peer.close();
      return { why: `unexpected first line from the peer: ${JSON.stringify(first).slice(0, 100)}` };
    }
    peer.version = first.torch ?? '';
    return peer;
  }

  private async next(): Promise<PeerReply> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the PyTorch peer did not answer')), REPLY_TIMEOUT_MS);
    });
    try {
      const r = await Promise.race([this.lines.next(), timeout]);
      if (r.done) throw new Error('the PyTorch peer exited');
      return JSON.parse(r.value) as PeerReply;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Seconds of one sampling run in the peer (its sampler loop only, as the module doc says). */
  async time(sampler: string, steps: number, seed: number): Promise<number> {
    this.child.stdin!.write(`${JSON.stringify({ sampler, steps, seed })}\n`);
    const reply = await this.next();
    if (reply.error !== undefined) throw new Error(reply.error);
    if (typeof reply.seconds !== 'number') throw new Error('the PyTorch peer sent no time');
    return reply.seconds;
  }

  close(): void {
    this.rl.close();
    this.child.stdin?.end();
    this.child.kill();
  }
}
