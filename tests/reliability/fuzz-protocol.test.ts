/**
 * Protocol decoders under 10,000 malformed inputs each: binary frames (random bytes, mutations of
 * valid frames, headers with random fields) and JSON messages (arbitrary values, valid messages with
 * fields replaced, mutated text). Anything but a ProtocolError is a failure; what is accepted must
 * round-trip, and a frame never allocates more than its own length.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_MESSAGE_TYPES,
  decodeFrame,
  encodeFrame,
  FRAME_MAGIC,
  parseClientMessage,
  parseServerMessage,
  SERVER_MESSAGE_TYPES,
} from '../../src/protocol/index.ts';
import { fuzzSeed, mutate, mutationsArb, Tally, traceAllocations, unclearError } from './fuzz-helpers.ts';

const RUNS = 10_000;
/** Small arbitrary JSON-ish values: big ones only cost generation time. */
const anything = fc.anything({ maxDepth: 2, maxKeys: 4 });
const MAX_MS = 250;

const validFrame = fc
  .record({
    kind: fc.constantFrom('in' as const, 'out' as const),
    job: fc.integer({ min: 1, max: 0xffff_ffff }),
    seq: fc.nat({ max: 0xffff_ffff }),
    sampleRate: fc.constantFrom(8000, 16000, 44100, 48000),
    startFrame: fc.nat(),
    last: fc.boolean(),
    replay: fc.boolean(),
    channels: fc.integer({ min: 1, max: 8 }),
    frames: fc.integer({ min: 1, max: 64 }),
  })
  .map((f) =>
    encodeFrame({
      ...f,
      channels: Array.from({ length: f.channels }, (_, c) =>
        Float32Array.from({ length: f.frames }, (_, i) => Math.sin(i + c)),
      ),
    }),
  );

/** A header whose every field is drawn from edge values, with a body of some length. */
const randomHeader = fc
  .record({
    magic: fc.oneof(fc.constant(FRAME_MAGIC), fc.nat({ max: 0xffff_ffff })),
    version: fc.constantFrom(0, 1, 2, 255),
    kind: fc.constantFrom(0, 1, 2, 3),
    channels: fc.constantFrom(0, 1, 2, 8, 9, 255),
    words: fc.constantFrom(10, 0, 9, 11, 255),
    flags: fc.constantFrom(0, 1, 2, 3, 4, 0x8000_0000),
    job: fc.constantFrom(0, 1, 0xffff_ffff),
    rate: fc.constantFrom(0, 999, 1000, 48000, 384_000, 384_001, 0xffff_ffff),
    frames: fc.constantFrom(0, 1, 16, 0x3fff_ffff, 0xffff_ffff),
    hi: fc.constantFrom(0, 0x1f_ffff, 0x20_0000, 0xffff_ffff),
    reserved: fc.constantFrom(0, 1),
    body: fc.uint8Array({ maxLength: 256 }),
  })
  .map((h) => {
    const b = new Uint8Array(40 + h.body.length);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, h.magic, true);
    b[4] = h.version;
    b[5] = h.kind;
    b[6] = h.channels;
    b[7] = h.words;
    dv.setUint32(8, h.flags, true);
    dv.setUint32(12, h.job, true);
    dv.setUint32(16, 7, true);
    dv.setUint32(20, h.rate, true);
    dv.setUint32(24, h.frames, true);
    dv.setUint32(32, h.hi, true);
    dv.setUint32(36, h.reserved, true);
    b.set(h.body, 40);
    return b;
  });

const frameInput = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(validFrame, mutationsArb).map(([f, m]) => mutate(f, m)) },
  { weight: 3, arbitrary: randomHeader },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 128 }) },
  { weight: 1, arbitrary: validFrame },
);

describe('fuzz: binary frame decoder', () => {
  it('decodeFrame: 10,000 malformed frames → BAD_FRAME or a frame that re-encodes to the same bytes', () => {
    const tally = new Tally('decodeFrame');
    fc.assert(
      fc.property(frameInput, fc.boolean(), (bytes, unaligned) => {
        // Network buffers are often views at odd offsets.
        const input = unaligned ? new Uint8Array(bytes.length + 1).fill(0xaa).subarray(1) : bytes;
        if (unaligned) input.set(bytes);
        const t = traceAllocations(() => decodeFrame(input, { maxFrames: 16_384 }));
        tally.record(t.threw ? t.error : undefined, t.ms);
        if (t.threw) {
          const why = unclearError(t.error, ['ProtocolError']);
          if (why !== undefined) throw new Error(why);
          expect((t.error as { code: string }).code).toBe('BAD_FRAME');
        } else {
          const f = t.value!;
          expect(Buffer.from(encodeFrame(f)).equals(Buffer.from(input))).toBe(true);
        }
        expect(t.totalBytes).toBeLessThanOrEqual(input.length);
        expect(t.ms).toBeLessThan(MAX_MS);
      }),
      { numRuns: RUNS, seed: fuzzSeed(20) },
    );
    console.log(tally.summary());
    expect(tally.ok).toBeGreaterThan(RUNS * 0.05);
    expect(tally.codes.get('BAD_FRAME') ?? 0).toBeGreaterThan(RUNS * 0.5);
  });

  it('a header claiming 2^32 - 1 frames of 255 channels is refused without allocating', () => {
    const b = new Uint8Array(48);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, FRAME_MAGIC, true);
    b.set([1, 2, 8, 10], 4);
    dv.setUint32(12, 1, true);
    dv.setUint32(20, 48000, true);
    dv.setUint32(24, 0xffff_ffff, true);
    const t = traceAllocations(() => decodeFrame(b));
    expect((t.error as Error).message).toMatch(
      /length: 48 bytes, header says 137438953480 \(8 × 4294967295 float32\)/,
    );
    expect(t.maxBytes).toBe(0);
  });
});

const clientFields = {
  type: fc.constantFrom(...CLIENT_MESSAGE_TYPES),
  protocol: fc.constantFrom(1, 2, 0),
  job: fc.oneof(fc.integer({ min: 1, max: 10 }), fc.constantFrom(0, -1, 2 ** 32, 1.5)),
  kind: fc.constantFrom('generate', 'jam', 'denoise', 'x'),
  model: fc.constantFrom('tiny-mel-generate', '../etc/passwd', 'A', '', 'a'.repeat(65)),
  sampleRate: fc.constantFrom(8000, 999, 384_001),
  channels: fc.constantFrom(1, 8, 9),
  seq: fc.nat(),
  limit: fc.nat(),
  credit: fc.constantFrom(1, 0, 1e6 + 1),
  pacing: fc.constantFrom('realtime', 'asap', 'slow'),
  params: fc.record(
    {
      className: fc.string({ maxLength: 70 }),
      seconds: fc.double(),
      bars: fc.double(),
      steps: fc.integer(),
      seed: fc.integer(),
      guidance: fc.double(),
      strength: fc.double(),
      loop: anything,
      tags: fc.array(fc.string(), { maxLength: 70 }),
      controls: fc.dictionary(fc.string(), fc.oneof(fc.double(), fc.string())),
      extra: anything,
    },
    { requiredKeys: [] },
  ),
  timing: fc.record({ bpm: fc.double(), timeSignature: anything, anchor: fc.double() }, { requiredKeys: [] }),
  resume: fc.record(
    {
      session: fc.constantFrom('x'.repeat(22), 'short', '../../x'),
      jobs: fc.array(fc.record({ job: anything, nextSeq: anything }), { maxLength: 4 }),
    },
    { requiredKeys: [] },
  ),
};

/** Plausible client messages: each field either a plausible value or anything at all. */
const clientLike = fc.record(
  Object.fromEntries(
    Object.entries(clientFields).map(([k, arb]) => [
      k,
      fc.oneof({ weight: 4, arbitrary: arb as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anything }),
    ]),
  ),
  { requiredKeys: ['type'] },
);

const serverLike = fc.record(
  {
    type: fc.oneof(fc.constantFrom(...SERVER_MESSAGE_TYPES), fc.string()),
    job: fc.oneof(fc.integer({ min: 0, max: 5 }), anything),
    protocol: anything,
    session: fc.oneof(fc.constant('a'.repeat(22)), anything),
    limits: fc.oneof(fc.object(), anything),
    resumed: fc.oneof(fc.constant(null), fc.object(), anything),
    code: fc.oneof(fc.constantFrom('BAD_FRAME', 'INTERNAL', 'NOPE'), anything),
    message: fc.oneof(fc.string(), anything),
    retryable: anything,
    terminal: anything,
    frames: fc.oneof(fc.nat(), anything),
    chunks: fc.oneof(fc.nat(), anything),
    sampleRate: anything,
    channels: anything,
    position: anything,
    latencyFrames: anything,
    limit: anything,
    seq: anything,
  },
  { requiredKeys: ['type'] },
);

/** JSON text: serialised values, mutated at the byte level (broken UTF-8, truncations, …). */
function textOf(arb: fc.Arbitrary<unknown>): fc.Arbitrary<string | unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: arb.map((v) => JSON.stringify(v) ?? 'null') },
    {
      weight: 2,
      arbitrary: fc
        .tuple(arb, mutationsArb)
        .map(([v, m]) => Buffer.from(mutate(Buffer.from(JSON.stringify(v) ?? 'null'), m)).toString('utf8')),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: anything },
    { weight: 1, arbitrary: arb },
  );
}

function checkParser(
  name: string,
  parse: (input: unknown) => unknown,
  input: fc.Arbitrary<unknown>,
  seed: number,
) {
  const tally = new Tally(name);
  fc.assert(
    fc.property(input, (value) => {
      const t0 = performance.now();
      let err: unknown;
      let out: unknown;
      try {
        out = parse(value);
      } catch (e) {
        err = e;
      }
      const ms = performance.now() - t0;
      tally.record(err, ms);
      if (err !== undefined) {
        const why = unclearError(err, ['ProtocolError']);
        if (why !== undefined) throw new Error(why);
        expect(['BAD_MESSAGE']).toContain((err as { code: string }).code);
      } else if (typeof value === 'string') {
        // What was accepted from the wire survives another trip through JSON unchanged.
        expect(parse(JSON.stringify(out))).toEqual(out);
      }
      expect(ms).toBeLessThan(MAX_MS);
    }),
    { numRuns: RUNS, seed },
  );
  return tally;
}

describe('fuzz: JSON message parsers', () => {
  it('parseClientMessage: 10,000 malformed messages → BAD_MESSAGE or a valid message', () => {
    const tally = checkParser('parseClientMessage', parseClientMessage, textOf(clientLike), fuzzSeed(21));
    console.log(tally.summary());
    expect(tally.ok).toBeGreaterThan(RUNS * 0.02);
    expect(tally.codes.get('BAD_MESSAGE') ?? 0).toBeGreaterThan(RUNS * 0.5);
  });

  it('parseServerMessage: 10,000 malformed messages → BAD_MESSAGE or a valid message', () => {
    const tally = checkParser('parseServerMessage', parseServerMessage, textOf(serverLike), fuzzSeed(22));
    console.log(tally.summary());
    expect(tally.ok).toBeGreaterThan(RUNS * 0.02);
  });

  it('deeply nested and maximal-size JSON stays a BAD_MESSAGE, fast', () => {
    for (const text of [
      '['.repeat(60_000) + ']'.repeat(60_000),
      `{"type":"hello","protocol":1,"client":${'['.repeat(30_000)}${']'.repeat(30_000)}}`,
      JSON.stringify({
        type: 'job.start',
        job: 1,
        kind: 'generate',
        model: 'm',
        params: { tags: new Array(10_000).fill('t') },
      }),
    ]) {
      const t0 = performance.now();
      let err: unknown;
      try {
        parseClientMessage(text);
      } catch (e) {
        err = e;
      }
      expect(unclearError(err, ['ProtocolError'])).toBeUndefined();
      expect(performance.now() - t0).toBeLessThan(MAX_MS);
    }
  });
});
