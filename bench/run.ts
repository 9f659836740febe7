/**
 * Runs the benchmarks in this folder in one process and updates docs/benchmarks.md.
 * `node bench/run.ts [--quick] [--only name,name] [--no-write] [--charts]`
 * Ratios against a peer measured in the same run are the headline; every table carries the
 * hardware line, the command and the date.
 *
 * - Only the sections of the benches that ran are replaced (bench/report.ts); the others, and any
 *   hand-written text after a section's command line, stay as they are.
 * - Each bench's charts go to docs/bench/<bench>-<chart>.png, linked from its section. With
 *   --quick or --no-write they go to a temporary folder instead (checked, not kept).
 * - `--charts` measures nothing: it redraws the charts from the tables already in
 *   docs/benchmarks.md and refreshes the links.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Chart, chartPng } from './plot.ts';
import { type ChartLink, mergeDoc, parseSection, renderSection, setChartLinks, splitDoc } from './report.ts';
import type { BenchModule, BenchResult } from './types.ts';

const here = import.meta.dirname;
const docsDir = path.join(here, '..', 'docs');
const docFile = path.join(docsDir, 'benchmarks.md');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const chartsOnly = args.includes('--charts');
const write = !args.includes('--no-write') && !quick;
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? new Set((args[onlyIdx + 1] ?? '').split(',')) : undefined;
/** Modules in this folder that are helpers, not benches. */
const HELPERS = new Set(['run.ts', 'types.ts', 'plot.ts', 'report.ts', 'onnx-flops.ts']);
/** Every chart must stay small enough to sit in the repository. */
const MAX_PNG_BYTES = 60_000;

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

const chartDir = write
  ? path.join(docsDir, 'bench')
  : mkdtempSync(path.join(os.tmpdir(), 'sonodiff-bench-charts-'));
let failed = 0;

/** Draws `mod`'s charts for `res` into chartDir; returns the links (paths relative to docs/). */
function drawCharts(name: string, mod: Partial<BenchModule>, res: BenchResult): ChartLink[] {
  if (typeof mod.charts !== 'function') return [];
  let charts: Chart[];
  try {
    charts = mod.charts(res);
  } catch (err) {
    failed++;
    process.stderr.write(`charts for ${name} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    return [];
  }
  mkdirSync(chartDir, { recursive: true });
  const files = new Set<string>();
  const links: ChartLink[] = [];
  for (const c of charts) {
    const file = `${name}-${c.file}.png`;
    const png = chartPng(c);
    if (png.length > MAX_PNG_BYTES) {
      failed++;
      process.stderr.write(`chart ${file} is ${png.length} bytes (limit ${MAX_PNG_BYTES})\n`);
    }
    writeFileSync(path.join(chartDir, file), png);
    files.add(file);
    links.push({ alt: c.title.replace(/[[\]]/g, ''), path: `bench/${file}` });
    process.stdout.write(
      `chart: ${path.relative(process.cwd(), path.join(chartDir, file))} (${png.length} bytes)\n`,
    );
  }
  // Drop this bench's charts from an earlier run that it no longer draws.
  if (write)
    for (const f of readdirSync(chartDir))
      if (f.startsWith(`${name}-`) && f.endsWith('.png') && !files.has(f)) unlinkSync(path.join(chartDir, f));
  return links;
}

const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !HELPERS.has(f))
  .filter((f) => !only || only.has(f.replace(/\.ts$/, '')))
  .sort();
const load = async (f: string) =>
  (await import(pathToFileURL(path.join(here, f)).href)) as Partial<BenchModule>;
const existing = existsSync(docFile) ? readFileSync(docFile, 'utf8') : '';
const updates = new Map<string, string>();

if (chartsOnly) {
  const sections = new Map(splitDoc(existing).sections.map((s) => [s.name, s.generated]));
  for (const f of files) {
    const name = f.replace(/\.ts$/, '');
    const generated = sections.get(name);
    const mod = await load(f);
    if (generated === undefined || typeof mod.charts !== 'function') continue;
    updates.set(name, setChartLinks(generated, drawCharts(name, mod, parseSection(generated))));
  }
  if (write) writeFileSync(docFile, mergeDoc(existing, updates));
} else {
  const hw = hardwareLine();
  const date = new Date().toISOString().slice(0, 10);
  for (const f of files) {
    const name = f.replace(/\.ts$/, '');
    const mod = await load(f);
    if (typeof mod.run !== 'function') continue;
    const t0 = performance.now();
    try {
      const res = await mod.run({ quick });
      const seconds = ((performance.now() - t0) / 1000).toFixed(1);
      const body = renderSection(res, {
        name,
        date,
        seconds,
        hardware: hw,
        charts: drawCharts(name, mod, res),
      });
      process.stdout.write(`${body}\n`);
      updates.set(name, body);
    } catch (err) {
      failed++;
      process.stderr.write(`bench ${f} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    }
  }
  if (write && updates.size > 0) {
    // A full run refreshes the header; a partial one keeps it (each section carries its own date).
    const head = only
      ? undefined
      : `# Benchmarks\n\nMeasured with \`npm run bench\` on ${date}. Hardware: ${hw}.\nRatios compare sonodiff with a peer measured in the same run on the same input. Each section names the command that refreshes it (\`npm run bench -- --only <name>\`) and when it last ran; re-running one bench replaces only its section. Charts live in docs/bench/ and are drawn from the tables (\`node bench/run.ts --charts\` redraws them without measuring).\n`;
    writeFileSync(docFile, mergeDoc(existing || '# Benchmarks\n', updates, head));
  }
}
if (!write) rmSync(chartDir, { recursive: true, force: true });
if (failed > 0) process.exitCode = 1;
