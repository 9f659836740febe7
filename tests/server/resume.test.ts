import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { AudioEvent } from '../../src/client/index.ts';
import {
  type AudioFrame,
  decodeFrame,
  parseServerMessage,
  type ServerMessage,
} from '../../src/protocol/index.ts';
import type { Runtime } from '../../src/runtime/index.ts';
import type { SonodiffServer } from '../../src/server/index.ts';
import { connect, equalBits, GEN, newRuntime, startServer } from './helpers.ts';

let runtime: Runtime;
let server: SonodiffServer;
let small: SonodiffServer;

beforeAll(async () => {
  runtime = newRuntime();
  server = await startServer(runtime, { limits: { maxFramesPerMessage: 512 } });
  // Room for three 512-frame frames only.
  small = await startServer(runtime, { limits: { maxFramesPerMessage: 512, replayBufferBytes: 3 * 2088 } });
});

afterAll(async () => {
  await server.close();
  await small.close();
  await runtime.dispose();
});

/** A bare protocol client: every text message and binary frame, in order. */
class Raw {
  readonly ws: WebSocket;
  readonly log: Array<ServerMessage | { type: 'frame'; frame: AudioFrame; bytes: Buffer }> = [];
  private waiters: Array<() => void> = [];
  closeCode: number | undefined;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data: Buffer, binary: boolean) => {
      this.log.push(
        binary
          ? { type: 'frame', frame: decodeFrame(data), bytes: data }
          : parseServerMessage(data.toString()),
      );
      for (const w of this.waiters.splice(0)) w();
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async open(): Promise<void> {
    await new Promise((r, j) => this.ws.once('open', r).once('error', j));
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  async until<T>(pred: () => T | undefined, ms = 15000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = pred();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  find<K extends ServerMessage['type']>(type: K): Extract<ServerMessage, { type: K }> | undefined {
    return this.log.find((m) => m.type === type) as Extract<ServerMessage, { type: K }> | undefined;
  }

  frames(): Array<{ frame: AudioFrame; bytes: Buffer }> {
    return this.log.filter((m) => m.type === 'frame') as Array<{ frame: AudioFrame; bytes: Buffer }>;
  }
}

async function runToEnd(
  srv: SonodiffServer,
): Promise<{ session: string; frames: Array<{ frame: AudioFrame; bytes: Buffer }> }> {
  const a = new Raw(srv.wsUrl);
  await a.open();
  a.send({ type: 'hello', protocol: 1 });
  const { session } = await a.until(() => a.find('welcome'));
  a.send({
    type: 'job.start',
    job: 1,
    kind: 'generate',
    model: GEN,
    params: { className: 'a', seconds: 1, seed: 4 },
  });
  await a.until(() => a.find('job.done'));
  const frames = a.frames();
  a.ws.close();
  await a.until(() => a.closeCode);
  return { session, frames };
}

describe('resume', () => {
  it('survives a forced disconnect mid-stream without losing or repeating a sample', async () => {
    const params = { className: 'b', seconds: 2.5, seed: 11, steps: 4 };
    const baseClient = await connect(server);
    const base = await baseClient.startJob({ kind: 'generate', model: GEN, params }).collect();
    await baseClient.close();

    const client = await connect(server, { reconnect: { minDelayMs: 20 } });
    let reconnects = 0;
    client.on('reconnected', () => reconnects++);
    const job = client.startJob({ kind: 'generate', model: GEN, params });
    const audio: AudioEvent[] = [];
    for await (const e of job) {
      if (e.type !== 'audio') continue;
      audio.push(e);
      if (audio.length === 3) expect(server.dropConnections()).toBeGreaterThanOrEqual(1);
    }
    expect((await job.result).status).toBe('done');
    expect(reconnects).toBe(1);
    let pos = 0;
    for (const [i, e] of audio.entries()) {
      expect(e.seq).toBe(i);
      expect(e.startFrame).toBe(pos);
      pos += e.channels[0]!.length;
    }
    const out = new Float32Array(pos);
    for (const e of audio) out.set(e.channels[0]!, e.startFrame);
    expect(equalBits(out, base.channels[0]!)).toBe(true);
    console.log(
      `resume: ${audio.filter((e) => e.replay).length} of ${audio.length} frames came from the replay buffer`,
    );
    await client.close();
  });

  it('replays exactly the frames a client says it is missing, flagged as replays', async () => {
    const { session, frames } = await runToEnd(server);
    expect(frames.length).toBeGreaterThan(5);
    const b = new Raw(server.wsUrl);
    await b.open();
    b.send({ type: 'hello', protocol: 1, resume: { session, jobs: [{ job: 1, nextSeq: 2 }] } });
    await b.until(() => b.find('job.done'));
    const welcome = b.find('welcome')!;
    expect(welcome.session).toBe(session);
    expect(welcome.resumed).toEqual({
      jobs: [{ job: 1, nextSeq: 2, inputNextSeq: null, state: 'finished' }],
      unknown: [],
    });
    const replayed = b.frames();
    expect(replayed.map((f) => f.frame.seq)).toEqual(frames.slice(2).map((f) => f.frame.seq));
    expect(replayed.every((f) => f.frame.replay)).toBe(true);
    for (const [i, f] of replayed.entries()) {
      // Identical apart from the replay flag bit.
      expect(f.bytes.subarray(40).equals(frames[i + 2]!.bytes.subarray(40))).toBe(true);
      expect(f.frame.startFrame).toBe(frames[i + 2]!.frame.startFrame);
    }
    b.ws.close();
  });

  it('answers RESUME_GAP when the replay buffer no longer holds a missed frame', async () => {
    const { session, frames } = await runToEnd(small);
    expect(frames.length).toBeGreaterThan(3);
    const b = new Raw(small.wsUrl);
    await b.open();
    b.send({
      type: 'hello',
      protocol: 1,
      resume: {
        session,
        jobs: [
          { job: 1, nextSeq: 0 },
          { job: 9, nextSeq: 0 },
        ],
      },
    });
    const err = await b.until(() => b.find('error'));
    expect(err).toMatchObject({ code: 'RESUME_GAP', job: 1, retryable: false, terminal: true });
    expect(b.find('welcome')!.resumed).toEqual({ jobs: [], unknown: [9] });
    // The job ended with the gap: its frames are gone and a second resume knows nothing more.
    b.ws.close();
    const c = new Raw(small.wsUrl);
    await c.open();
    c.send({
      type: 'hello',
      protocol: 1,
      resume: { session, jobs: [{ job: 1, nextSeq: frames.length - 1 }] },
    });
    const again = await c.until(() => c.find('error'));
    expect(again).toMatchObject({ code: 'RESUME_GAP', job: 1 });
    expect(c.frames()).toHaveLength(0);
    c.ws.close();
  });

  it('starts a new session when the old one is unknown', async () => {
    const a = new Raw(server.wsUrl);
    await a.open();
    a.send({
      type: 'hello',
      protocol: 1,
      resume: { session: 'A'.repeat(22), jobs: [{ job: 1, nextSeq: 0 }] },
    });
    const w = await a.until(() => a.find('welcome'));
    expect(w.resumed).toBeNull();
    expect(w.session).not.toBe('A'.repeat(22));
    a.ws.close();
  });
});
