/** What every benchmark module returns; bench/run.ts prints it and writes docs/benchmarks.md. */
export interface BenchResult {
  title: string;
  rows: Array<Record<string, string | number>>;
  notes: string[];
}

export interface BenchOptions {
  /** A smoke version that takes seconds (CI runs it so the harness keeps working). */
  quick: boolean;
}

export type BenchModule = { run(opts: BenchOptions): Promise<BenchResult> };
