/**
 * Security checks: loopback by default, the token (constant-time compare, never in a log line, a URL
 * or an error), browser Origins, payload and rate limits, model ids that cannot name a path, and file
 * names built from server data that cannot leave the output folder.
 */
import { request } from 'node:http';
import { connect as netConnect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { sanitizeStem, segmentFileName } from '../../src/bridge/index.ts';
import { ModelRegistry } from '../../src/packs/index.ts';
import { encodeFrame } from '../../src/protocol/index.ts';
import { Runtime } from '../../src/runtime/index.ts';
import { tokenMatches } from '../../src/server/http.ts';
import { createServer, type SonodiffServer } from '../../src/server/index.ts';
import { fuzzSeed, ROOT } from './fuzz-helpers.ts';
import { RawClient } from './raw-client.ts';

const PACKS = path.join(ROOT, 'tests/fixtures/packs');
const TOKEN = 'Zq8-rel1ab1l1ty-t0ken-9f3c';
const logLines: string[] = [];
let runtime: Runtime;
let open: SonodiffServer;
let guarded: SonodiffServer;

beforeAll(async () => {
  runtime = new Runtime({ workers: 1 });
  const common = {
    port: 0,
    registry: new ModelRegistry({ dirs: [PACKS], env: {} }),
    runtime,
    device: 'cpu' as const,
    webDir: null,
    log: (l: string) => logLines.push(l),
  };
  open = await createServer({
    ...common,
    allowOrigins: ['http://studio.example'],
    limits: {
      maxPayloadBytes: 8192,
      maxTextBytes: 1024,
      maxFramesPerMessage: 1024,
      maxMessagesPerSecond: 20,
    },
  });
  guarded = await createServer({ ...common, token: TOKEN });
});

afterAll(async () => {
  await open.close();
  await guarded.close();
  await runtime.dispose();
});

function httpGet(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The HTTP status of a refused WebSocket upgrade, or 101 when it opened. */
function upgrade(
  url: string,
  opts: { headers?: Record<string, string>; origin?: string } = {},
): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, opts);
    ws.on('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => resolve(0));
  });
}

describe('security: binding and authentication', () => {
  it('binds loopback by default; another interface of this machine is refused', async () => {
    expect(open.host).toBe('127.0.0.1');
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
    if (external !== undefined) {
      const refused = await new Promise<string>((resolve) => {
        const s = netConnect({ host: external, port: open.port });
        s.on('connect', () => {
          s.destroy();
          resolve('connected');
        });
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');
    }
    expect(() => new (open.constructor as typeof SonodiffServer)({ host: '0.0.0.0', runtime })).toThrow(
      /token is required/,
    );
  });

  it('the token: required, compared whole, accepted by header or query', async () => {
    const ws = guarded.wsUrl;
    expect(await upgrade(ws)).toBe(401);
    expect(await upgrade(ws, { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}` } })).toBe(401);
    expect(await upgrade(ws, { headers: { authorization: `Bearer ${TOKEN}x` } })).toBe(401);
    expect(await upgrade(ws, { headers: { authorization: `Bearer ${TOKEN}` } })).toBe(101);
    expect(await upgrade(`${ws}?token=${encodeURIComponent(TOKEN)}`)).toBe(101);
    expect(await httpGet(`${guarded.url}api/models`)).toBe(401);
    expect(await httpGet(`${guarded.url}api/models`, { authorization: `Bearer ${TOKEN}` })).toBe(200);
    // Equal-length digests go to timingSafeEqual, so prefixes and lengths leak nothing.
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    for (const wrong of ['', TOKEN.slice(0, 1), TOKEN.slice(0, -1), `${TOKEN}\0`, TOKEN.toUpperCase()]) {
      expect(tokenMatches(wrong, TOKEN)).toBe(false);
    }
    expect(tokenMatches(undefined, TOKEN)).toBe(false);
  });

  it('the token never appears in log lines, URLs, welcome or error messages', async () => {
    // Exercise everything that logs: failed upgrades, bad messages, a failing job, a resumed session.
    await upgrade(`${guarded.wsUrl}?token=${TOKEN}-wrong`);
    const c = new RawClient(`${guarded.wsUrl}?token=${encodeURIComponent(TOKEN)}`);
    await c.open();
    c.ws.send('not json');
    c.send({ type: 'hello', protocol: 1 });
    await c.until(() => c.find('welcome'));
    c.send({ type: 'job.start', job: 1, kind: 'generate', model: 'no-such-model', params: {} });
    c.send({
      type: 'job.start',
      job: 2,
      kind: 'generate',
      model: 'tiny-mel-generate',
      params: { className: 'zzz' },
    });
    c.ws.send(new Uint8Array([1, 2, 3]));
    await c.until(() => c.log.filter((m) => m.type === 'error').length >= 4);
    await c.close();
    // The session's resume secret stays out of the logs as well.
    const session = c.find('welcome')!.session;
    expect(logLines.join('\n')).not.toContain(session);
    const texts = [...logLines, guarded.url, guarded.wsUrl, JSON.stringify(c.log)];
    expect(texts.join('\n')).not.toContain(TOKEN);
    expect(texts.join('\n')).not.toContain(encodeURIComponent(TOKEN));
    expect(logLines.length).toBeGreaterThan(0);
  });
});

describe('security: browsers and limits', () => {
  it('Origin allow-list: foreign origins 403, listed and same-origin pass; Host must be loopback without a token', async () => {
    expect(await upgrade(open.wsUrl, { origin: 'http://evil.example' })).toBe(403);
    expect(await upgrade(open.wsUrl, { origin: 'http://studio.example' })).toBe(101);
    expect(await upgrade(open.wsUrl, { origin: `http://127.0.0.1:${open.port}` })).toBe(101);
    expect(await httpGet(`${open.url}healthz`, { origin: 'http://evil.example' })).toBe(403);
    // DNS rebinding: a page served as evil.example reaching 127.0.0.1 sends its own Host.
    expect(await upgrade(open.wsUrl, { headers: { host: `evil.example:${open.port}` } })).toBe(403);
  });

  it('payload limit closes with 1009; text limit answers BAD_MESSAGE; a flood is rate-limited then closed', async () => {
    const big = await RawClient.hello(open.wsUrl);
    big.ws.send(new Uint8Array(8193), { binary: true });
    expect(await big.until(() => big.closeCode)).toBe(1009);

    const text = await RawClient.hello(open.wsUrl);
    text.ws.send(JSON.stringify({ type: 'job.cancel', job: 1, pad: 'x'.repeat(2000) }));
    const e = await text.until(() => text.find('error'));
    expect(e).toMatchObject({ code: 'BAD_MESSAGE', message: expect.stringMatching(/exceeds 1024/) });
    await text.close();

    const flood = await RawClient.hello(open.wsUrl);
    for (let i = 0; i < 600; i++) flood.send({ type: 'ack', job: 1, seq: 0 });
    await flood.until(
      () => flood.find('error') && flood.log.some((m) => m.type === 'error' && m.code === 'RATE_LIMITED'),
    );
    expect(await flood.until(() => flood.closeCode)).toBe(4003);
    // Others are unaffected.
    const ok = await RawClient.hello(open.wsUrl);
    ok.send({
      type: 'job.start',
      job: 1,
      kind: 'generate',
      model: 'tiny-mel-generate',
      params: { className: 'a', seconds: 0.5 },
    });
    expect((await ok.until(() => ok.find('job.done', 1))).frames).toBe(4000);
    await ok.close();
  });

  it('a binary frame with a valid header but a huge claimed length is refused before any allocation', async () => {
    const c = await RawClient.hello(open.wsUrl);
    const f = encodeFrame({
      kind: 'in',
      job: 1,
      seq: 0,
      sampleRate: 8000,
      startFrame: 0,
      last: false,
      replay: false,
      channels: [new Float32Array(4)],
    });
    new DataView(f.buffer).setUint32(24, 0xffff_ffff, true);
    c.ws.send(f, { binary: true });
    const e = await c.until(() => c.find('error'));
    expect(e).toMatchObject({ code: 'BAD_FRAME', field: 'frameCount' });
    await c.close();
  });
});

describe('security: names that could become paths', () => {
  it('model ids: ModelRegistry.get and job.start refuse anything but [a-z0-9._-]', async () => {
    const registry = new ModelRegistry({ dirs: [PACKS], env: {} });
    for (const id of [
      '../x',
      '../../etc/passwd',
      '/etc/passwd',
      'tiny-mel-generate/../x',
      'a\\b',
      'A',
      '.hidden',
      '',
      'a'.repeat(65),
      'x\0',
    ]) {
      await expect(registry.get(id)).rejects.toMatchObject({
        code: 'ERR_MODEL',
        message: expect.stringMatching(/invalid model id/),
      });
    }
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 80, unit: 'grapheme-ascii' }), async (id) => {
        try {
          await registry.get(id);
        } catch (err) {
          expect((err as { code?: string }).code).toBe('ERR_MODEL');
          return;
        }
        expect(id).toMatch(/^[a-z0-9][a-z0-9._-]{0,63}$/);
      }),
      { numRuns: 500, seed: fuzzSeed(40) },
    );
    const c = await RawClient.hello(open.wsUrl);
    c.send({ type: 'job.start', job: 1, kind: 'generate', model: '../tiny-mel-generate', params: {} });
    expect(await c.until(() => c.find('error'))).toMatchObject({ code: 'BAD_MESSAGE', field: 'model' });
    await c.close();
  });

  it('bridge file names from any stem stay one plain file inside --out-dir', () => {
    const outDir = path.resolve('/tmp/out-dir');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 100 }),
          fc.constantFrom('..', '.', '../../etc/passwd', '/abs', 'a/../../b', 'C:\\x', '\0', ' ', '～／..'),
        ),
        fc.double({ min: 1, max: 999, noNaN: true }),
        fc.integer({ min: -9999, max: 9999 }),
        (stem, bpm, bar) => {
          const s = sanitizeStem(stem);
          expect(s).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
          const name = segmentFileName({
            runId: '20250101-000000',
            stem,
            bpm,
            timeSignature: [4, 4],
            bar,
            bars: 4,
          });
          expect(name).not.toMatch(/[/\\\0]/);
          const full = path.join(outDir, name);
          expect(path.dirname(full)).toBe(outDir);
          expect(path.basename(full)).toBe(name);
        },
      ),
      { numRuns: 2000, seed: fuzzSeed(41) },
    );
  });
});
