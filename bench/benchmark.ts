// The shape every benchmark module returns, so bench/run.ts can print and store them alike.
export interface Metric {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}

export interface BenchmarkResult {
  readonly name: string;
  readonly startedAt: string;
  readonly parameters: Record<string, number>;
  readonly metrics: Metric[];
}

export interface Benchmark {
  readonly name: string;
  run(options: Record<string, number>): Promise<BenchmarkResult>;
}
