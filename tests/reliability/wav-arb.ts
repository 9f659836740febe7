/**
 * A fast-check generator of structurally plausible, mostly wrong WAV files: RIFF/RF64 headers, fmt
 * chunks with edge-case fields, data chunks whose claimed size disagrees with what follows, and
 * metadata chunks (LIST, cue, smpl, acid, bext, ds64) with lying counts. Random bytes rarely get past
 * the magic; these reach every branch of the RIFF walk.
 */
import fc from 'fast-check';

const u32 = fc.oneof(
  fc.constantFrom(0, 1, 2, 4, 16, 24, 36, 40, 0x7fff_ffff, 0xffff_fffe, 0xffff_ffff),
  fc.nat({ max: 0xffff_ffff }),
);
const u16 = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 6, 7, 8, 16, 24, 32, 64, 65, 0xfffe, 0xffff),
  fc.nat({ max: 0xffff }),
);
const small = fc.nat({ max: 96 });

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
function le16(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff];
}
function id(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}

interface Chunk {
  id: string;
  body: number[];
  /** Size written in the header; undefined = the true size. */
  claimed: number | undefined;
  pad: boolean;
}

/** Mostly `undefined` (the true value), sometimes a lie. */
function sometimes<T>(arb: fc.Arbitrary<T>, weight = 1): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight, arbitrary: arb });
}

/** A consistent fmt: integer PCM, float or G.711 with a matching bit depth. */
const goodFmt = fc
  .record({
    kind: fc.constantFrom([1, 8], [1, 16], [1, 24], [1, 32], [1, 12], [3, 32], [3, 64], [6, 8], [7, 8]),
    channels: fc.integer({ min: 1, max: 3 }),
    rate: fc.constantFrom(8000, 16000, 44100),
  })
  .map(({ kind: [tag, bits], channels, rate }) => ({ tag: tag!, bits: bits!, channels, rate }));

const fmtBody = fc
  .record({
    good: fc.option(goodFmt, { freq: 3 }),
    tag: fc.oneof(fc.constantFrom(1, 3, 6, 7, 2, 0x55, 0xfffe), u16),
    channels: fc.oneof(fc.constantFrom(1, 2, 0, 8, 64, 65), u16),
    rate: fc.oneof(fc.constantFrom(8000, 16000, 44100, 0, 999, 384_001), u32),
    bits: fc.oneof(fc.constantFrom(8, 16, 24, 32, 64, 0, 12, 20, 33), u16),
    blockAlignDelta: fc.oneof(fc.constant(0), fc.integer({ min: -3, max: 3 }), u16),
    extensible: fc.boolean(),
    subTag: fc.constantFrom(1, 3, 6, 2),
    goodGuid: fc.boolean(),
    validBits: u16,
    truncateTo: sometimes(fc.nat({ max: 40 })),
  })
  .map((r) => {
    const f =
      r.good === null ? r : { ...r, ...r.good, blockAlignDelta: 0, subTag: r.good.tag, goodGuid: true };
    const bytesPer = Math.ceil(f.bits / 8);
    const ba =
      f.blockAlignDelta > 3 ? f.blockAlignDelta : (f.channels * bytesPer + f.blockAlignDelta) & 0xffff;
    const body = [
      ...le16(f.extensible ? 0xfffe : f.tag),
      ...le16(f.channels),
      ...le32(f.rate),
      ...le32((f.rate * ba) >>> 0),
      ...le16(ba),
      ...le16(f.bits),
    ];
    if (f.extensible) {
      body.push(...le16(22), ...le16(f.validBits), ...le32(0b11));
      body.push(...le16(f.subTag), 0, 0);
      const tail = [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
      body.push(...(f.goodGuid ? tail : tail.map((b) => b ^ 1)));
    }
    return f.truncateTo === undefined ? body : body.slice(0, f.truncateTo);
  });

const metaChunk: fc.Arbitrary<{ id: string; body: number[] }> = fc.oneof(
  fc
    .record({
      kind: fc.constantFrom('INFO', 'adtl', 'xxxx'),
      entries: fc.array(
        fc.tuple(fc.constantFrom('INAM', 'ICMT', 'labl'), u32, fc.uint8Array({ maxLength: 12 })),
        { maxLength: 4 },
      ),
    })
    .map(({ kind, entries }) => ({
      id: 'LIST',
      body: [
        ...id(kind),
        ...entries.flatMap(([i, size, b]) => [...id(i), ...le32(size % 64 === size ? size : b.length), ...b]),
      ],
    })),
  fc.record({ n: u32, points: small }).map(({ n, points }) => ({
    id: 'cue ',
    body: [...le32(n), ...new Array<number>(points).fill(7)],
  })),
  fc.record({ n: u32, extra: small }).map(({ n, extra }) => ({
    id: 'smpl',
    body: [...new Array<number>(28).fill(1), ...le32(n), ...le32(0), ...new Array<number>(extra).fill(3)],
  })),
  fc.nat({ max: 40 }).map((n) => ({ id: 'acid', body: new Array<number>(n).fill(0x41) })),
  fc.nat({ max: 300 }).map((n) => ({ id: 'bext', body: new Array<number>(n).fill(0x62) })),
  fc.record({ size: fc.oneof(u32, fc.constant(0)), n: fc.nat({ max: 28 }) }).map(({ size, n }) => ({
    id: 'ds64',
    body: [...le32(size), ...le32(0), ...le32(size), ...le32(size & 1), ...new Array<number>(n).fill(0)],
  })),
  fc.uint8Array({ maxLength: 33 }).map((b) => ({ id: 'JUNK', body: [...b] })),
  fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ maxLength: 9 })).map(([i, b]) => ({
    id: String.fromCharCode(...i),
    body: [...b],
  })),
);

const chunkArb: fc.Arbitrary<Chunk> = fc
  .record({
    c: fc.oneof(
      { weight: 3, arbitrary: fmtBody.map((body) => ({ id: 'fmt ', body })) },
      { weight: 3, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => ({ id: 'data', body: [...b] })) },
      { weight: 3, arbitrary: metaChunk },
    ),
    lie: sometimes(u32),
    pad: fc.boolean(),
  })
  .map(({ c, lie, pad }) => ({ ...c, claimed: lie ?? undefined, pad }));

/** Bytes of a WAV-like file. */
export const wavArb: fc.Arbitrary<Uint8Array> = fc
  .record({
    magic: fc.constantFrom('RIFF', 'RIFF', 'RIFF', 'RIFF', 'RF64', 'RF64', 'RIFX'),
    form: fc.constantFrom('WAVE', 'WAVE', 'WAVE', 'WAVE', 'WAVE', 'AVI '),
    riffSize: sometimes(u32),
    chunks: fc.array(chunkArb, { maxLength: 7 }),
    withFmtData: fc.boolean(),
    tail: fc.uint8Array({ maxLength: 8 }),
  })
  .chain((r) =>
    r.withFmtData
      ? fmtBody.map((fmt) => ({
          ...r,
          chunks: [
            { id: 'fmt ', body: fmt, claimed: undefined, pad: true },
            ...r.chunks,
            { id: 'data', body: new Array<number>(64).fill(0x10), claimed: undefined, pad: true },
          ],
        }))
      : fc.constant(r),
  )
  .map((r) => {
    const body: number[] = [];
    for (const c of r.chunks) {
      body.push(...id(c.id.padEnd(4).slice(0, 4)), ...le32(c.claimed ?? c.body.length), ...c.body);
      if (c.pad && c.body.length % 2 === 1) body.push(0);
    }
    body.push(...r.tail);
    const size = r.riffSize ?? body.length + 4;
    return Uint8Array.from([...id(r.magic), ...le32(size), ...id(r.form), ...body]);
  });
