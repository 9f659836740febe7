/**
 * A bare protocol client for fault and load tests: it can vanish without a close handshake, send
 * arbitrary bytes, and timestamps every frame it receives.
 */
import { WebSocket } from 'ws';
import {
  type AudioFrame,
  decodeFrame,
  parseServerMessage,
  type ServerMessage,
} from '../../src/protocol/index.ts';

export type Logged = ServerMessage | { type: 'frame'; frame: AudioFrame; at: number };

export class RawClient {
  readonly ws: WebSocket;
  readonly log: Logged[] = [];
  /** Arrival time (performance.now()) of each log entry. */
  readonly times: number[] = [];
  closeCode: number | undefined;
  private waiters: Array<() => void> = [];

  constructor(url: string, opts: { headers?: Record<string, string>; origin?: string } = {}) {
    this.ws = new WebSocket(url, opts);
    this.ws.on('message', (data: Buffer, binary: boolean) => {
      const at = performance.now();
      this.log.push(
        binary ? { type: 'frame', frame: decodeFrame(data), at } : parseServerMessage(data.toString()),
      );
      this.times.push(at);
      this.wake();
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
    this.ws.on('error', () => this.wake());
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async open(): Promise<void> {
    await new Promise((resolve, reject) => this.ws.once('open', resolve).once('error', reject));
  }

  /** Opens, says hello and waits for the welcome. */
  static async hello(url: string): Promise<RawClient> {
    const c = new RawClient(url);
    await c.open();
    c.send({ type: 'hello', protocol: 1 });
    await c.until(() => c.find('welcome'));
    return c;
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  async until<T>(pred: () => T | undefined | false, ms = 20_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = pred();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 25);
      });
    }
  }

  find<K extends ServerMessage['type']>(
    type: K,
    job?: number,
  ): Extract<ServerMessage, { type: K }> | undefined {
    return this.log.find(
      (m) => m.type === type && (job === undefined || (m as { job?: number }).job === job),
    ) as Extract<ServerMessage, { type: K }> | undefined;
  }

  frames(job?: number): Array<{ frame: AudioFrame; at: number }> {
    return this.log.filter(
      (m): m is { type: 'frame'; frame: AudioFrame; at: number } =>
        m.type === 'frame' && (job === undefined || m.frame.job === job),
    );
  }

  /** Vanishes without a close handshake (a dropped network). */
  drop(): void {
    this.ws.terminate();
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.until(() => this.closeCode, 5000).catch(() => this.ws.terminate());
  }
}
