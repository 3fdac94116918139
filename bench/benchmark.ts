// The shape every benchmark module returns, so bench/run.ts can print and store them alike.
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
}

export interface Benchmark {
  readonly name: string;
  run(options: Record<string, number>): Promise<BenchmarkResult>;
}
