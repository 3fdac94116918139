// The shape every benchmark module returns, so bench/run.ts can print and store them alike.
import { round } from './stats.ts';

export interface Metric {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}

/** A goal set against a reference measured in the same run (e.g. the runner against bare Baileys). */
export interface Goal {
  readonly name: string;
  /** The goal in words, e.g. "≤ 1.5× bare". */
  readonly goal: string;
  readonly measured: number;
  readonly reference: number;
  readonly unit: string;
  /** measured / reference. */
  readonly ratio: number;
  readonly pass: boolean;
}

export interface BenchmarkResult {
  readonly name: string;
  readonly startedAt: string;
  readonly parameters: Record<string, number>;
  readonly metrics: Metric[];
  readonly goals?: Goal[];
  /** The benchmark's own figures beside these (its headline ratios, the raw figures behind them). */
  readonly [figure: string]: unknown;
}

export interface Benchmark {
  readonly name: string;
  run(options: Record<string, number>): Promise<BenchmarkResult>;
}

/** A goal for `measured` against `reference` as a ratio within `bound` (NaN never passes). */
export function goal(
  name: string,
  measured: number,
  reference: number,
  unit: string,
  bound: { max?: number; min?: number },
  describe: string,
): Goal {
  const ratio = measured / reference;
  const pass = bound.max !== undefined ? ratio <= bound.max : ratio >= (bound.min ?? 0);
  return {
    name,
    goal: describe,
    measured: round(measured, 2),
    reference: round(reference, 2),
    unit,
    ratio: round(ratio, 2),
    pass: Number.isFinite(ratio) && pass,
  };
}
