/**
 * Runs every benchmark in this folder in one process and writes docs/benchmarks.md.
 * `node bench/run.ts [--quick] [--only name,name] [--no-write]`
 * Ratios against a peer measured in the same run are the headline; every table carries the
 * hardware line, the command and the date.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchModule, BenchResult } from './types.ts';

const here = import.meta.dirname;
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const write = !args.includes('--no-write') && !quick;
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? new Set((args[onlyIdx + 1] ?? '').split(',')) : undefined;

function hardwareLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const mem = (os.totalmem() / 2 ** 30).toFixed(0);
  let tools = '';
  for (const [name, cmd, a] of [
    ['sox', 'sox', ['--version']],
    ['ffmpeg', 'ffmpeg', ['-version']],
  ] as const) {
    try {
      const v = execFileSync(cmd, [...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(
        '\n',
      )[0];
      tools += `; ${name}: ${v?.trim()}`;
    } catch {
      tools += `; ${name}: not found`;
    }
  }
  return `${os.cpus().length} × ${cpu}, ${mem} GiB, Node ${process.versions.node}, ${os.platform()} ${os.release()}${tools}`;
}

function table(rows: BenchResult['rows']): string {
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

const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'types.ts'].includes(f))
  .filter((f) => !only || only.has(f.replace(/\.ts$/, '')))
  .sort();

const hw = hardwareLine();
const date = new Date().toISOString().slice(0, 10);
const sections: string[] = [];
let failed = 0;
for (const f of files) {
  const mod = (await import(pathToFileURL(path.join(here, f)).href)) as Partial<BenchModule>;
  if (typeof mod.run !== 'function') continue;
  const t0 = performance.now();
  try {
    const res = await mod.run({ quick });
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    const body = `## ${res.title}\n\n${table(res.rows)}\n\n${res.notes.map((n) => `- ${n}`).join('\n')}\n\n_Command: \`npm run bench -- --only ${f.replace(/\.ts$/, '')}\` · ${date} · ${secs} s · ${hw}_\n`;
    process.stdout.write(`${body}\n`);
    sections.push(body);
  } catch (err) {
    failed++;
    process.stderr.write(`bench ${f} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  }
}

if (write && !only) {
  const doc = `# Benchmarks\n\nMeasured with \`npm run bench\` on ${date}. Hardware: ${hw}.\nRatios compare sonodiff with a peer measured in the same run on the same input.\n\n${sections.join('\n')}`;
  writeFileSync(path.join(here, '..', 'docs', 'benchmarks.md'), doc);
}
if (failed > 0) process.exitCode = 1;
