import { describe, expect, it } from 'vitest';
import { mergeDoc, parseSection, renderSection, setChartLinks, splitDoc } from '../../bench/report.ts';
import type { BenchResult } from '../../bench/types.ts';

const meta = (name: string) => ({ name, date: '2026-01-01', seconds: '1.0', hardware: 'hw', charts: [] });

const res: BenchResult = {
  title: 'Thing: ours vs peer',
  rows: [
    { case: 'a', 'speed (×)': 1.5, n: 3 },
    { case: 'b → c', 'speed (×)': 0.25, n: '' },
  ],
  notes: ['one note'],
  tables: [{ title: 'Second table', rows: [{ k: 'x', v: -2.5 }], notes: ['sub note'] }],
};

const doc = `# Benchmarks

Header text.

## Alpha

| x |
| --- |
| 1 |

_Command: \`npm run bench -- --only alpha\` · 2026-01-01 · 1 s · hw_

- A hand-written remark that must survive.

## Gamma

| y |
| --- |
| 2 |

_Command: \`npm run bench -- --only gamma\` · 2026-01-01 · 1 s · hw_
`;

describe('benchmarks.md sections', () => {
  it('splits by section and keeps hand-written text after the command line apart', () => {
    const s = splitDoc(doc);
    expect(s.head.trim()).toBe('# Benchmarks\n\nHeader text.');
    expect(s.sections.map((x) => x.name)).toEqual(['alpha', 'gamma']);
    expect(s.sections[0]!.trailing.trim()).toBe('- A hand-written remark that must survive.');
  });

  it('replaces only the re-run section, keeps the others and the remark, inserts new ones in order', () => {
    const beta = renderSection(res, meta('beta'));
    const alpha = renderSection({ title: 'Alpha', rows: [{ x: 9 }], notes: [] }, meta('alpha'));
    const out = mergeDoc(
      doc,
      new Map([
        ['beta', beta],
        ['alpha', alpha],
      ]),
    );
    expect(out).toContain('| 9 |');
    expect(out).not.toContain('| 1 |');
    expect(out).toContain('| 2 |');
    expect(out).toContain('- A hand-written remark that must survive.');
    expect(out.indexOf('## Alpha')).toBeLessThan(out.indexOf('## Thing'));
    expect(out.indexOf('## Thing')).toBeLessThan(out.indexOf('## Gamma'));
    expect(out.indexOf('must survive')).toBeLessThan(out.indexOf('## Thing'));
    // Merging the same update again changes nothing.
    expect(mergeDoc(out, new Map([['beta', beta]]))).toBe(out);
    // No update: the document comes back as it was.
    expect(mergeDoc(doc, new Map())).toBe(doc);
  });

  it('reads tables back with numbers as numbers', () => {
    const back = parseSection(renderSection(res, meta('beta')));
    expect(back.title).toBe(res.title);
    expect(back.rows).toEqual([
      { case: 'a', 'speed (×)': 1.5, n: 3 },
      { case: 'b → c', 'speed (×)': 0.25 },
    ]);
    expect(back.tables).toEqual([{ title: 'Second table', rows: [{ k: 'x', v: -2.5 }], notes: [] }]);
  });

  it('puts chart links before the command line and replaces them on the next run', () => {
    const body = renderSection(res, { ...meta('beta'), charts: [{ alt: 'A', path: 'bench/beta-a.png' }] });
    expect(body).toMatch(/!\[A\]\(bench\/beta-a\.png\)\n\n_Command:/);
    const again = setChartLinks(body, [{ alt: 'B', path: 'bench/beta-b.png' }]);
    expect(again).not.toContain('beta-a.png');
    expect(again).toMatch(/!\[B\]\(bench\/beta-b\.png\)\n\n_Command:/);
    expect(setChartLinks(again, [{ alt: 'B', path: 'bench/beta-b.png' }])).toBe(again);
  });
});
