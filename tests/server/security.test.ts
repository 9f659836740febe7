import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { registerServe } from '../../src/cli/commands/serve.ts';
import { CliContext } from '../../src/cli/context.ts';
import { SonodiffClient } from '../../src/client/index.ts';
import {
  type ErrorServerMessage,
  encodeFrame,
  ProtocolError,
  parseServerMessage,
  type ServerMessage,
} from '../../src/protocol/index.ts';
import type { Runtime } from '../../src/runtime/index.ts';
import { isLoopbackHost, SonodiffServer } from '../../src/server/index.ts';
import { connect, DEN, fixtures, GEN, newRuntime, registry, sleep, startServer } from './helpers.ts';

let runtime: Runtime;
let open: SonodiffServer;
let guarded: SonodiffServer;
let webDir: string;
const TOKEN = 's3cret-token-for-tests';

beforeAll(async () => {
  runtime = newRuntime();
  webDir = await mkdtemp(path.join(os.tmpdir(), 'sonodiff-web-'));
  await writeFile(path.join(webDir, 'index.html'), '<!doctype html><title>studio</title>');
  open = await startServer(runtime, {
    webDir,
    allowOrigins: ['http://allowed.example'],
    limits: {
      maxPayloadBytes: 16 * 1024,
      maxTextBytes: 2048,
      maxFramesPerMessage: 1024,
      maxJobsPerConnection: 2,
      maxMessagesPerSecond: 20,
    },
  });
  guarded = await startServer(runtime, { token: TOKEN });
});

afterAll(async () => {
  await open.close();
  await guarded.close();
  await runtime.dispose();
  await rm(webDir, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof ProtocolError ? err.code : String(err);
  }
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A bare socket that records text messages and the close code. */
async function raw(url: string, opts: { origin?: string } = {}) {
  const ws = new WebSocket(url, opts);
  const msgs: ServerMessage[] = [];
  let closeCode: number | undefined;
  ws.on('message', (d: Buffer, binary: boolean) => {
    if (!binary) msgs.push(parseServerMessage(d.toString()));
  });
  ws.on('close', (c) => (closeCode = c));
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const until = async <T>(pred: () => T | undefined, ms = 10000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = pred();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > end) throw new Error('timed out');
      await sleep(10);
    }
  };
  const error = (code: string, job?: number) =>
    until(() =>
      msgs.find(
        (m): m is ErrorServerMessage =>
          m.type === 'error' && m.code === code && (job === undefined || m.job === job),
      ),
    );
  return { ws, msgs, until, error, closed: () => until(() => closeCode) };
}

describe('binding and authentication', () => {
  it('refuses a non-loopback bind without a token', () => {
    expect(() => new SonodiffServer({ host: '0.0.0.0', registry: registry(), runtime })).toThrow(
      /token is required/,
    );
    expect(() => new SonodiffServer({ host: '192.168.1.20', registry: registry(), runtime })).toThrow(
      RangeError,
    );
    expect(
      () => new SonodiffServer({ host: '0.0.0.0', token: 'short', registry: registry(), runtime }),
    ).toThrow(/token/);
    expect(
      () => new SonodiffServer({ host: '0.0.0.0', token: TOKEN, registry: registry(), runtime }),
    ).not.toThrow();
    expect(['127.0.0.1', '127.3.2.1', 'localhost', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1'].some(isLoopbackHost)).toBe(false);
  });

  it('requires the token for WebSocket and API, by header or query, and compares it fully', async () => {
    expect(await rejection(connect(guarded))).toBe('UNAUTHORIZED');
    expect(await rejection(connect(guarded, { token: `${TOKEN}x` }))).toBe('UNAUTHORIZED');
    expect(await rejection(connect(guarded, { token: TOKEN.slice(0, -1) }))).toBe('UNAUTHORIZED');
    const c = await connect(guarded, { token: TOKEN });
    expect(c.session).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await c.close();
    const q = await raw(`${guarded.wsUrl}?token=${TOKEN}`);
    q.ws.send(JSON.stringify({ type: 'hello', protocol: 1 }));
    await q.until(() => q.msgs.find((m) => m.type === 'welcome'));
    q.ws.close();
    expect((await get(`${guarded.url}api/models`)).status).toBe(401);
    const ok = await get(`${guarded.url}api/models`, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect((await get(`${guarded.url}healthz`)).status).toBe(200);
    expect(guarded.url).not.toContain(TOKEN);
  });

  it('checks browser Origins and Host names', async () => {
    expect(await rejection(connect(open, { origin: 'http://evil.example' }))).toBe('FORBIDDEN_ORIGIN');
    const same = await connect(open, { origin: `http://127.0.0.1:${open.port}` });
    await same.close();
    const listed = await connect(open, { origin: 'http://allowed.example' });
    await listed.close();
    // DNS rebinding: a foreign Host name is refused when there is no token.
    expect((await get(`${open.url}healthz`, { host: `evil.example:${open.port}` })).status).toBe(403);
    expect((await get(`${open.url}api/models`, { origin: 'http://evil.example' })).status).toBe(403);
  });
});

describe('HTTP routes', () => {
  it('serves health, model manifests with controls, and the web folder safely', async () => {
    const h = JSON.parse((await get(`${open.url}healthz`)).body);
    expect(h).toMatchObject({ ok: true, protocol: 1, connections: expect.any(Number) });
    const m = JSON.parse((await get(`${open.url}api/models`)).body) as {
      models: Array<Record<string, unknown>>;
    };
    const gen = m.models.find((x) => x['id'] === GEN)!;
    expect(gen).toMatchObject({ task: 'generate', sampleRate: 8000, jobKinds: ['generate', 'jam'] });
    expect(gen['conditioning']).toEqual({ classes: ['a', 'b', 'c'], nullClass: 3 });
    expect(gen['windowSeconds']).toBeCloseTo((31 * 64) / 8000, 6);
    expect(m.models.find((x) => x['id'] === DEN)).toMatchObject({ jobKinds: ['denoise'] });
    const page = await get(open.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('studio');
    expect((await get(`${open.url}..%2f..%2fetc%2fpasswd`)).status).toBe(404);
    expect((await get(`${open.url}nope.js`)).status).toBe(404);
  });
});

describe('limits and error codes', () => {
  it('enforces the payload limit (close 1009) and the text limit (BAD_MESSAGE)', async () => {
    const a = await raw(open.wsUrl);
    a.ws.send(JSON.stringify({ type: 'hello', protocol: 1, client: 'x'.repeat(100) }));
    a.ws.send(JSON.stringify({ type: 'job.cancel', job: 1, pad: 'y'.repeat(4000) }));
    const e = await a.error('BAD_MESSAGE');
    expect(e.message).toMatch(/exceeds 2048/);
    a.ws.send(new Uint8Array(20_000));
    expect(await a.closed()).toBe(1009);
  });

  it('answers each misuse with its stable code', async () => {
    const a = await raw(open.wsUrl);
    a.ws.send(JSON.stringify({ type: 'job.start', job: 1, kind: 'generate', model: GEN }));
    await a.error('NOT_READY');
    a.ws.send(JSON.stringify({ type: 'hello', protocol: 1 }));
    await a.until(() => a.msgs.find((m) => m.type === 'welcome'));
    a.ws.send('not json');
    await a.error('BAD_MESSAGE');
    a.ws.send(JSON.stringify({ type: 'job.start', job: 2, kind: 'generate', model: 'no-such-model' }));
    expect(await a.error('UNKNOWN_MODEL')).toMatchObject({ job: 2, terminal: true });
    a.ws.send(
      JSON.stringify({
        type: 'job.start',
        job: 3,
        kind: 'denoise',
        model: GEN,
        sampleRate: 8000,
        channels: 1,
      }),
    );
    expect(await a.error('UNKNOWN_MODEL', 3)).toMatchObject({ terminal: true });
    a.ws.send(
      JSON.stringify({
        type: 'job.start',
        job: 4,
        kind: 'generate',
        model: GEN,
        params: { className: 'zzz' },
      }),
    );
    const bad = await a.error('BAD_PARAMS');
    expect(bad).toMatchObject({ job: 4, terminal: true, retryable: false });
    expect(bad.message).toMatch(/class must be one of a, b, c/);
    const long = { kind: 'generate', model: GEN, params: { className: 'a', seconds: 30 } };
    a.ws.send(JSON.stringify({ type: 'job.start', job: 5, ...long }));
    a.ws.send(JSON.stringify({ type: 'job.start', job: 5, ...long }));
    expect(await a.error('JOB_EXISTS')).toMatchObject({ job: 5 });
    a.ws.send(JSON.stringify({ type: 'job.start', job: 6, ...long }));
    a.ws.send(JSON.stringify({ type: 'job.start', job: 7, ...long }));
    expect(await a.error('TOO_MANY_JOBS')).toMatchObject({ job: 7, retryable: true });
    a.ws.send(JSON.stringify({ type: 'job.cancel', job: 99 }));
    expect(await a.error('UNKNOWN_JOB')).toMatchObject({ job: 99, terminal: false });
    a.ws.send(new Uint8Array(64).fill(7));
    expect(await a.error('BAD_FRAME')).toMatchObject({ field: 'magic' });
    a.ws.send(JSON.stringify({ type: 'job.cancel', job: 5 }));
    a.ws.send(JSON.stringify({ type: 'job.cancel', job: 6 }));
    await a.until(() => a.msgs.filter((m) => m.type === 'job.cancelled').length === 2);
    // Denoise input beyond the credit limit ends the job with FLOW_CONTROL.
    a.ws.send(
      JSON.stringify({
        type: 'job.start',
        job: 8,
        kind: 'denoise',
        model: DEN,
        sampleRate: 8000,
        channels: 1,
      }),
    );
    const acc = await a.until(() => a.msgs.find((m) => m.type === 'job.accepted' && m.job === 8));
    const frame = (seq: number) =>
      encodeFrame({
        kind: 'in',
        job: 8,
        seq,
        sampleRate: 8000,
        startFrame: seq * 64,
        last: false,
        replay: false,
        channels: [new Float32Array(64)],
      });
    if (acc.type !== 'job.accepted') throw new Error('unreachable');
    for (let s = 0; s <= acc.inputCredit + 40; s++) a.ws.send(frame(s));
    expect(await a.error('FLOW_CONTROL')).toMatchObject({ job: 8, terminal: true });
    a.ws.send(JSON.stringify({ type: 'hello', protocol: 1 }));
    await a.until(() => a.msgs.find((m) => m.type === 'error' && /already/.test(m.message)));
    a.ws.close();
    const v = await raw(open.wsUrl);
    v.ws.send(JSON.stringify({ type: 'hello', protocol: 2 }));
    await v.error('UNSUPPORTED_VERSION');
    expect(await v.closed()).toBe(4004);
  });

  it('rate-limits a flooding client while a well-behaved one keeps streaming', async () => {
    const flood = await raw(open.wsUrl);
    flood.ws.send(JSON.stringify({ type: 'hello', protocol: 1 }));
    await flood.until(() => flood.msgs.find((m) => m.type === 'welcome'));
    // Two endless-ish jobs on a socket that is never read, plus a message flood.
    for (const job of [1, 2])
      flood.ws.send(
        JSON.stringify({
          type: 'job.start',
          job,
          kind: 'generate',
          model: GEN,
          params: { className: 'a', seconds: 120 },
        }),
      );
    await sleep(100);
    for (let i = 0; i < 300; i++) flood.ws.send(JSON.stringify({ type: 'ack', job: 77, seq: 0 }));
    await flood.error('RATE_LIMITED');
    flood.ws.pause();

    const good = await connect(open);
    const t0 = performance.now();
    const job = good.startJob({ kind: 'generate', model: GEN, params: { className: 'b', seconds: 2 } });
    const { channels } = await job.collect();
    const ms = performance.now() - t0;
    const r = await job.result;
    console.log(
      `well-behaved client next to a flooding one: 2 s clip in ${ms.toFixed(0)} ms, first chunk ${r.firstChunkMs} ms`,
    );
    expect(channels[0]!.length).toBe(16000);
    // Round-robin turns: the good client waits at most about one window per turn for the other.
    expect(r.firstChunkMs!).toBeLessThan(1500);
    await good.close();
    flood.ws.terminate();
  });
});

describe('sonodiff serve', () => {
  it('prints its URL, serves, and stops on abort', async () => {
    const out: string[] = [];
    const sink = {
      write: (s: string) => {
        out.push(String(s));
        return true;
      },
    } as unknown as NodeJS.WritableStream;
    const ac = new AbortController();
    const ctx = new CliContext(
      { stdout: sink, stderr: sink, stdin: process.stdin, env: {}, cwd: process.cwd() },
      ac.signal,
    );
    const program = new Command('sonodiff').exitOverride();
    registerServe(program, ctx);
    const run = program.parseAsync(['serve', '--port', '0', '--models-dir', fixtures, '--device', 'cpu'], {
      from: 'user',
    });
    let url: string | undefined;
    for (let i = 0; i < 200 && !url; i++) {
      url = /listening on (http:\/\/\S+)/.exec(out.join(''))?.[1];
      await sleep(20);
    }
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(out.join('')).toContain('tiny-mel-generate');
    const c = new SonodiffClient({ url: url! });
    await c.connect();
    const { channels } = await c
      .startJob({ kind: 'generate', model: GEN, params: { className: 'a' } })
      .collect();
    expect(channels[0]!.length).toBe(4000); // the fixture's default 0.5 s
    await c.close();
    ac.abort();
    await run;
    expect(out.join('')).toContain('stopping');
    await ctx.dispose();
    const refuse = new Command('sonodiff').exitOverride();
    registerServe(
      refuse,
      new CliContext(
        { stdout: sink, stderr: sink, stdin: process.stdin, env: {}, cwd: process.cwd() },
        ac.signal,
      ),
    );
    await expect(
      refuse.parseAsync(['serve', '--host', '0.0.0.0', '--port', '0'], { from: 'user' }),
    ).rejects.toThrow(/token is required/);
  });
});
