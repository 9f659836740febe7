/**
 * docs/benchmarks.md as sections: rendering one bench's result as markdown, splitting the document
 * into per-bench sections (identified by the `--only <name>` in each section's command line),
 * merging re-run sections into it without touching the others, reading tables back (so charts
 * can be redrawn without re-measuring) and placing chart links.
 *
 * A section is `## title` … `_Command: \`npm run bench -- --only name\` …_`; anything after the
 * command line up to the next `## ` is hand-written and survives re-runs.
 */
import type { BenchResult, BenchRow } from './types.ts';

export function formatTable(rows: BenchRow[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const fmt = (v: string | number | undefined) =>
    v === undefined ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v;
  return [
    `| ${cols.join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${cols.map((c) => fmt(r[c])).join(' | ')} |`),
  ].join('\n');
}

const notesText = (notes: string[]) =>
  notes.length > 0 ? `${notes.map((n) => `- ${n}`).join('\n')}\n\n` : '';

export interface SectionMeta {
  name: string;
  date: string;
  seconds: string;
  hardware: string;
  charts: ChartLink[];
}

export interface ChartLink {
  alt: string;
  /** Relative to docs/. */
  path: string;
}

/** Markdown of one bench's section, ending with its command line. */
export function renderSection(res: BenchResult, meta: SectionMeta): string {
  let body = `## ${res.title}\n\n${formatTable(res.rows)}\n\n${notesText(res.notes)}`;
  for (const t of res.tables ?? [])
    body += `### ${t.title}\n\n${formatTable(t.rows)}\n\n${notesText(t.notes)}`;
  body += `_Command: \`npm run bench -- --only ${meta.name}\` · ${meta.date} · ${meta.seconds} s · ${meta.hardware}_\n`;
  return setChartLinks(body, meta.charts);
}

const COMMAND = /^_Command: `npm run bench -- --only ([\w-]+)`/;
const CHART_LINE = /^!\[[^\]]*\]\(bench\/[^)]+\.png\)\s*$/;

export interface DocSection {
  /** The bench's name, from the command line; undefined for a section without one. */
  name?: string;
  /** From `## ` through the command line. */
  generated: string;
  /** Hand-written text after the command line (kept on re-runs). */
  trailing: string;
}

export function splitDoc(doc: string): { head: string; sections: DocSection[] } {
  const lines = doc.split('\n');
  const starts = lines.flatMap((l, i) => (l.startsWith('## ') ? [i] : []));
  const head = lines.slice(0, starts[0] ?? lines.length).join('\n');
  const sections = starts.map((s, k): DocSection => {
    const chunk = lines.slice(s, starts[k + 1] ?? lines.length);
    let cmd = -1;
    chunk.forEach((l, i) => {
      if (COMMAND.test(l)) cmd = i;
    });
    if (cmd < 0) return { generated: chunk.join('\n'), trailing: '' };
    return {
      name: COMMAND.exec(chunk[cmd]!)![1],
      generated: chunk.slice(0, cmd + 1).join('\n'),
      trailing: chunk.slice(cmd + 1).join('\n'),
    };
  });
  return { head, sections };
}

function joinDoc(head: string, sections: DocSection[]): string {
  const parts = sections.map((s) => {
    const trailing = s.trailing.trim();
    return `${s.generated.trimEnd()}\n${trailing !== '' ? `\n${trailing}\n` : ''}`;
  });
  return `${head.trimEnd()}\n\n${parts.join('\n')}`;
}

/**
 * Replaces the generated part of each updated section (by bench name), keeps every other section
 * and all hand-written trailing text, and inserts new sections in name order. `head` replaces the
 * text before the first section when given.
 */
export function mergeDoc(doc: string, updates: Map<string, string>, head?: string): string {
  const split = splitDoc(doc);
  const sections = split.sections.map((s) =>
    s.name !== undefined && updates.has(s.name) ? { ...s, generated: updates.get(s.name)! } : s,
  );
  const present = new Set(sections.map((s) => s.name));
  for (const [name, generated] of [...updates].sort(([a], [b]) => a.localeCompare(b))) {
    if (present.has(name)) continue;
    const at = sections.findIndex((s) => s.name !== undefined && s.name.localeCompare(name) > 0);
    const sec = { name, generated, trailing: '' };
    if (at < 0) sections.push(sec);
    else sections.splice(at, 0, sec);
  }
  return joinDoc(head ?? split.head, sections);
}

function parseCell(s: string): string | number {
  const t = s.trim();
  return /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(t) ? Number(t) : t;
}

function parseTable(lines: string[]): BenchRow[] {
  const cells = (l: string) => l.trim().replace(/^\|/, '').replace(/\|$/, '').split('|');
  if (lines.length < 2) return [];
  const cols = cells(lines[0]!).map((c) => c.trim());
  return lines.slice(2).map((l) => {
    const row: BenchRow = {};
    cells(l).forEach((c, i) => {
      const v = parseCell(c);
      if (v !== '' && cols[i] !== undefined) row[cols[i]!] = v;
    });
    return row;
  });
}

/** Reads a section's tables back (notes are not needed by charts and are left empty). */
export function parseSection(generated: string): BenchResult {
  const lines = generated.split('\n');
  const res: BenchResult = { title: (lines[0] ?? '').replace(/^## /, ''), rows: [], notes: [], tables: [] };
  let target: BenchRow[][] = [];
  let i = 1;
  let main = true;
  while (i < lines.length) {
    const l = lines[i]!;
    if (l.startsWith('### ')) {
      const t = { title: l.slice(4), rows: [] as BenchRow[], notes: [] };
      res.tables!.push(t);
      target = [t.rows];
      main = false;
      i++;
    } else if (l.startsWith('|')) {
      const block: string[] = [];
      while (i < lines.length && lines[i]!.startsWith('|')) block.push(lines[i++]!);
      const rows = parseTable(block);
      if (main && res.rows.length === 0) res.rows = rows;
      else if (target[0] !== undefined && target[0].length === 0) target[0].push(...rows);
    } else i++;
  }
  return res;
}

/** Puts chart images just before the command line, replacing any there were. */
export function setChartLinks(generated: string, charts: ChartLink[]): string {
  const lines = generated.split('\n').filter((l) => !CHART_LINE.test(l));
  const kept: string[] = [];
  for (const l of lines)
    if (!(l.trim() === '' && kept.length > 0 && kept[kept.length - 1]!.trim() === '')) kept.push(l);
  if (charts.length === 0) return kept.join('\n');
  const at = kept.findIndex((l) => COMMAND.test(l));
  const links = [...charts.map((c) => `![${c.alt}](${c.path})`), ''];
  if (at < 0) return [...kept, '', ...links].join('\n');
  kept.splice(at, 0, ...links);
  return kept.join('\n');
}
