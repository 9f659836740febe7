/** What every benchmark module returns; bench/run.ts prints it and writes docs/benchmarks.md. */
import type { Chart } from './plot.ts';

export type BenchRow = Record<string, string | number>;

/** A further table in the same section (written under a `###` heading). */
export interface BenchTable {
  title: string;
  rows: BenchRow[];
  notes: string[];
}

export interface BenchResult {
  title: string;
  rows: BenchRow[];
  notes: string[];
  tables?: BenchTable[];
}

export interface BenchOptions {
  /** A smoke version that takes seconds (CI runs it so the harness keeps working). */
  quick: boolean;
}

export type BenchModule = {
  run(opts: BenchOptions): Promise<BenchResult>;
  /**
   * Charts drawn from a result. Pure: run.ts also calls it on tables read back from
   * docs/benchmarks.md (`--charts`), where cells are numbers or text and notes are empty.
   */
  charts?(res: BenchResult): Chart[];
};
