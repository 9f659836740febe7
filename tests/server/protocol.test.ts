import { describe, expect, it } from 'vitest';
import {
  type AudioFrame,
  DEFAULT_LIMITS,
  decodeFrame,
  encodeFrame,
  errorMessage,
  FRAME_HEADER_BYTES,
  frameOfQuarter,
  framesPerBar,
  nextBar,
  ProtocolError,
  parseClientMessage,
  parseServerMessage,
  RETRYABLE,
} from '../../src/protocol/index.ts';
import { FairQueue, ReplayBuffer } from '../../src/server/index.ts';

function frame(over: Partial<AudioFrame> = {}): AudioFrame {
  const a = new Float32Array(37).map((_, i) => Math.sin(i) * 0.5);
  const b = new Float32Array(37).map((_, i) => -i / 40);
  return {
    kind: 'out',
    job: 7,
    seq: 3,
    sampleRate: 48000,
    startFrame: 2 ** 40 + 5,
    last: false,
    replay: false,
    channels: [a, b],
    ...over,
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ProtocolError
      ? `${err.code}:${err.issues[0]?.field ?? ''}`
      : `other:${(err as Error).name}`;
  }
  return undefined;
}

/** Deterministic PRNG for the fuzz loops. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('binary frame codec', () => {
  it('round-trips every field and the samples bit-exactly', () => {
    for (const over of [
      {},
      { kind: 'in' as const, last: true, replay: true, seq: 0xffffffff, job: 0xffffffff },
    ]) {
      const f = frame(over);
      const bytes = encodeFrame(f);
      expect(bytes.length).toBe(FRAME_HEADER_BYTES + 2 * 37 * 4);
      // Fixed little-endian layout: magic "SDAF", version 1, channels, header words.
      expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe('SDAF');
      expect([bytes[4], bytes[6], bytes[7]]).toEqual([1, 2, 10]);
      const d = decodeFrame(bytes);
      expect({ ...d, channels: undefined }).toEqual({ ...f, channels: undefined });
      expect(d.channels.map((c) => Array.from(c))).toEqual(f.channels.map((c) => Array.from(c)));
    }
  });

  it('decodes from an unaligned view (as a network buffer may be)', () => {
    const bytes = encodeFrame(frame());
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    const d = decodeFrame(padded.subarray(3));
    expect(d.channels[1]![36]).toBeCloseTo(-36 / 40, 6);
  });

  it('allows an empty frame only when it is the last', () => {
    const empty = { channels: [new Float32Array(0)] };
    expect(decodeFrame(encodeFrame(frame({ ...empty, last: true }))).channels[0]!.length).toBe(0);
    expect(() => encodeFrame(frame(empty))).toThrow(RangeError);
  });

  it('rejects each malformed header field with BAD_FRAME naming it', () => {
    const good = encodeFrame(frame());
    const mutate = (fn: (dv: DataView, b: Uint8Array) => void, bytes = good.slice()) => {
      fn(new DataView(bytes.buffer), bytes);
      return () => decodeFrame(bytes);
    };
    expect(codeOf(() => decodeFrame(good.subarray(0, 39)))).toBe('BAD_FRAME:length');
    expect(codeOf(() => decodeFrame(good.subarray(0, good.length - 4)))).toBe('BAD_FRAME:length');
    expect(codeOf(mutate((dv) => dv.setUint8(0, 0x54)))).toBe('BAD_FRAME:magic');
    expect(codeOf(mutate((dv) => dv.setUint8(4, 2)))).toBe('BAD_FRAME:version');
    expect(codeOf(mutate((dv) => dv.setUint8(5, 3)))).toBe('BAD_FRAME:kind');
    expect(codeOf(mutate((dv) => dv.setUint8(6, 0)))).toBe('BAD_FRAME:channels');
    expect(codeOf(mutate((dv) => dv.setUint8(6, 9)))).toBe('BAD_FRAME:channels');
    expect(codeOf(mutate((dv) => dv.setUint8(6, 1)))).toBe('BAD_FRAME:length');
    expect(codeOf(mutate((dv) => dv.setUint8(7, 11)))).toBe('BAD_FRAME:headerWords');
    expect(codeOf(mutate((dv) => dv.setUint32(8, 4, true)))).toBe('BAD_FRAME:flags');
    expect(codeOf(mutate((dv) => dv.setUint32(12, 0, true)))).toBe('BAD_FRAME:job');
    expect(codeOf(mutate((dv) => dv.setUint32(20, 999, true)))).toBe('BAD_FRAME:sampleRate');
    expect(codeOf(mutate((dv) => dv.setUint32(20, 400_000, true)))).toBe('BAD_FRAME:sampleRate');
    expect(codeOf(mutate((dv) => dv.setUint32(24, 38, true)))).toBe('BAD_FRAME:length');
    expect(codeOf(mutate((dv) => dv.setUint32(24, 0, true)))).toBe('BAD_FRAME:frameCount');
    expect(codeOf(mutate((dv) => dv.setUint32(32, 0x200000, true)))).toBe('BAD_FRAME:startFrame');
    expect(codeOf(mutate((dv) => dv.setUint32(36, 1, true)))).toBe('BAD_FRAME:reserved');
    expect(codeOf(mutate((dv) => dv.setFloat32(40, Number.NaN, true)))).toBe('BAD_FRAME:samples');
    expect(codeOf(() => decodeFrame(good, { maxFrames: 36 }))).toBe('BAD_FRAME:frameCount');
  });

  it('never throws anything but BAD_FRAME on random corruption (fuzz)', () => {
    const rand = lcg(42);
    const good = encodeFrame(frame());
    let rejected = 0;
    let accepted = 0;
    for (let k = 0; k < 3000; k++) {
      let bytes: Uint8Array;
      const mode = k % 3;
      if (mode === 0) {
        bytes = good.slice();
        const flips = 1 + Math.floor(rand() * 4);
        for (let i = 0; i < flips; i++)
          bytes[Math.floor(rand() * FRAME_HEADER_BYTES)] = Math.floor(rand() * 256);
      } else if (mode === 1) {
        bytes = good.slice(0, Math.floor(rand() * good.length));
      } else {
        bytes = new Uint8Array(Math.floor(rand() * 120)).map(() => Math.floor(rand() * 256));
      }
      try {
        const d = decodeFrame(bytes);
        accepted++;
        // Whatever passes is self-consistent.
        expect(bytes.length).toBe(FRAME_HEADER_BYTES + d.channels.length * d.channels[0]!.length * 4);
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
        expect((err as ProtocolError).code).toBe('BAD_FRAME');
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(2000);
    expect(accepted).toBeGreaterThan(0); // flips of seq/job bytes are legal
  });

  it('validates encode arguments with RangeError/TypeError naming the field', () => {
    expect(() => encodeFrame(frame({ job: 0 }))).toThrow(/frame\.job/);
    expect(() => encodeFrame(frame({ sampleRate: 44100.5 }))).toThrow(/frame\.sampleRate/);
    expect(() => encodeFrame(frame({ channels: [new Float32Array(2), new Float32Array(3)] }))).toThrow(
      /channels\[1\]/,
    );
    expect(() => encodeFrame(frame({ channels: [] }))).toThrow(/frame\.channels/);
  });
});

describe('control messages', () => {
  it('parses every client message type', () => {
    expect(parseClientMessage('{"type":"hello","protocol":1,"client":"t"}')).toEqual({
      type: 'hello',
      protocol: 1,
      client: 't',
    });
    const start = parseClientMessage({
      type: 'job.start',
      job: 3,
      kind: 'generate',
      model: 'tiny-mel-generate',
      params: { className: 'a', bars: 2, steps: 4, seed: 9, tags: ['x'], controls: { key: 'C', bpm: 120 } },
      sampleRate: 48000,
      timing: { bpm: 128, timeSignature: [7, 8], anchor: 16 },
      pacing: 'realtime',
      credit: 4,
      futureField: true,
    });
    expect(start).toMatchObject({
      type: 'job.start',
      job: 3,
      timing: { bpm: 128, timeSignature: [7, 8], anchor: 16 },
      credit: 4,
    });
    expect(start).not.toHaveProperty('futureField');
    expect(parseClientMessage({ type: 'credit', job: 1, limit: 12 })).toEqual({
      type: 'credit',
      job: 1,
      limit: 12,
    });
    expect(parseClientMessage({ type: 'ack', job: 1, seq: 0 })).toEqual({ type: 'ack', job: 1, seq: 0 });
    expect(parseClientMessage({ type: 'job.cancel', job: 2 })).toEqual({ type: 'job.cancel', job: 2 });
    expect(parseClientMessage({ type: 'job.update', job: 2, params: { className: 'b' } })).toEqual({
      type: 'job.update',
      job: 2,
      params: { className: 'b' },
    });
  });

  it('reports every bad field of a message, one issue each', () => {
    let err: ProtocolError | undefined;
    try {
      parseClientMessage({
        type: 'job.start',
        job: 0,
        kind: 'remix',
        model: 'Bad Id',
        params: { steps: 0, seconds: -1, setps: 3 },
        pacing: 'fast',
      });
    } catch (e) {
      err = e as ProtocolError;
    }
    expect(err?.code).toBe('BAD_MESSAGE');
    expect(err?.retryable).toBe(false);
    expect(err?.issues.map((i) => i.field).sort()).toEqual(
      ['job', 'kind', 'model', 'pacing', 'params.seconds', 'params.setps', 'params.steps'].sort(),
    );
  });

  it('rejects non-JSON, non-objects, unknown types and kind-specific requirements', () => {
    expect(codeOf(() => parseClientMessage('{'))).toBe('BAD_MESSAGE:');
    expect(codeOf(() => parseClientMessage('[1]'))).toBe('BAD_MESSAGE:');
    expect(codeOf(() => parseClientMessage({ type: 'job.explode', job: 1 }))).toBe('BAD_MESSAGE:type');
    expect(
      codeOf(() =>
        parseClientMessage({ type: 'job.start', job: 1, kind: 'denoise', model: 'x', channels: 1 }),
      ),
    ).toBe('BAD_MESSAGE:sampleRate');
    expect(
      codeOf(() =>
        parseClientMessage({ type: 'job.start', job: 1, kind: 'jam', model: 'x', pacing: 'asap' }),
      ),
    ).toBe('BAD_MESSAGE:pacing');
    expect(
      codeOf(() =>
        parseClientMessage({ type: 'job.start', job: 1, kind: 'generate', model: 'x', params: { bars: 2 } }),
      ),
    ).toBe('BAD_MESSAGE:params.bars');
    expect(
      codeOf(() =>
        parseClientMessage({
          type: 'job.start',
          job: 1,
          kind: 'jam',
          model: 'x',
          timing: { bpm: 120, timeSignature: [4, 3] },
        }),
      ),
    ).toBe('BAD_MESSAGE:timing.timeSignature');
    expect(
      codeOf(() =>
        parseClientMessage({ type: 'hello', protocol: 1, resume: { session: 'short', jobs: [] } }),
      ),
    ).toBe('BAD_MESSAGE:resume.session');
    expect(codeOf(() => parseClientMessage({ type: 'credit', job: 1, limit: -1 }))).toBe('BAD_MESSAGE:limit');
    // The job id is kept so the server can tie the error to the job.
    try {
      parseClientMessage({
        type: 'job.start',
        job: 5,
        kind: 'generate',
        model: 'x',
        params: { steps: 'many' },
      });
    } catch (e) {
      expect((e as ProtocolError).job).toBe(5);
    }
  });

  it('parses server messages and maps errors to codes with retryable flags', () => {
    const e = errorMessage(new ProtocolError('SERVER_BUSY', 'full', { job: 4 }), undefined, true);
    expect(e).toEqual({
      type: 'error',
      code: 'SERVER_BUSY',
      message: 'full',
      retryable: true,
      job: 4,
      terminal: true,
    });
    expect(parseServerMessage(JSON.stringify(e))).toEqual(e);
    expect(errorMessage(new Error('boom'))).toMatchObject({
      code: 'INTERNAL',
      retryable: true,
      terminal: false,
    });
    expect(RETRYABLE.RESUME_GAP).toBe(false);
    expect(
      codeOf(() =>
        parseServerMessage({ type: 'error', code: 'NOPE', message: 'x', retryable: true, terminal: false }),
      ),
    ).toBe('BAD_MESSAGE:code');
    expect(
      codeOf(() =>
        parseServerMessage({
          type: 'welcome',
          protocol: 1,
          session: 'a'.repeat(22),
          resumed: null,
          limits: DEFAULT_LIMITS,
        }),
      ),
    ).toBeUndefined();
  });
});

describe('musical timing', () => {
  it('places bars from the anchor without drift', () => {
    const t = { bpm: 123, timeSignature: [7, 8] as const, anchor: 2.5 };
    // 7/8 = 3.5 quarters per bar; bar 1 starts at quarter 3.5, i.e. one quarter after the anchor.
    expect(framesPerBar(t, 48000)).toBeCloseTo((3.5 * 60 * 48000) / 123, 9);
    expect(nextBar(t, 48000, 0)).toEqual({ frame: frameOfQuarter(t, 48000, 3.5), bar: 1 });
    // After 10 000 bars the boundary is still the rounded exact position.
    const far = nextBar(t, 48000, Math.round(framesPerBar(t, 48000) * 10000));
    expect(far.frame).toBe(Math.round(((far.bar * 3.5 - 2.5) * 60 * 48000) / 123));
    expect(far.frame - Math.round(framesPerBar(t, 48000) * 10000)).toBeLessThan(framesPerBar(t, 48000));
    // A frame exactly on a boundary maps to that boundary.
    const b = nextBar({ bpm: 120, timeSignature: [4, 4], anchor: 0 }, 8000, 16000);
    expect(b).toEqual({ frame: 16000, bar: 1 });
  });
});

describe('fair queue and replay buffer', () => {
  it('serves owners round-robin whatever their backlog', async () => {
    const q = new FairQueue(1);
    const order: string[] = [];
    const hold = await q.acquire('a');
    const waits = ['a', 'a', 'a', 'b', 'c', 'b'].map((o, i) =>
      q.acquire(o).then((release) => {
        order.push(`${o}${i}`);
        release();
      }),
    );
    hold();
    await Promise.all(waits);
    expect(order).toEqual(['a0', 'b3', 'c4', 'a1', 'b5', 'a2']);
  });

  it('reports positions and drops aborted waiters', async () => {
    const q = new FairQueue(1);
    const hold = await q.acquire('x');
    const positions: number[] = [];
    const ac = new AbortController();
    const aborted = q.acquire('y', ac.signal).catch(() => 'aborted');
    const p = q.acquire('z', undefined, (n) => positions.push(n));
    expect(positions).toEqual([2]);
    ac.abort();
    expect(await aborted).toBe('aborted');
    expect(positions).toEqual([2, 1]);
    hold();
    (await p)();
    expect(positions).toEqual([2, 1, 0]);
    expect(q.running).toBe(0);
  });

  it('replays unacknowledged frames and detects gaps after eviction', () => {
    const r = new ReplayBuffer(100);
    for (let s = 0; s < 4; s++) r.push(1, s, new Uint8Array(20).fill(s));
    expect(r.from(1, 1, 4)?.map((b) => b[0])).toEqual([1, 2, 3]);
    r.ack(1, 1);
    expect(r.bytes).toBe(40);
    expect(r.from(1, 0, 4)).toBeUndefined();
    for (let s = 4; s < 10; s++) r.push(1, s, new Uint8Array(20).fill(s));
    expect(r.bytes).toBeLessThanOrEqual(100);
    expect(r.from(1, 4, 10)).toBeUndefined(); // 4 was evicted unacknowledged
    expect(r.from(1, 5, 10)?.length).toBe(5);
    expect(r.from(1, 10, 10)).toEqual([]);
    expect(r.from(1, 11, 10)).toBeUndefined();
  });
});
