// `npm run bench [-- --only baseline --memoryClients 200 ...]`: runs the benchmarks, prints a table
// and writes bench/results/<name>.json. Add a benchmark by adding its module to `benchmarks`.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { apiBenchmark, DEFAULT_API_BENCH_OPTIONS } from './api.ts';
import { baseline, DEFAULT_BASELINE_OPTIONS } from './baseline.ts';
import type { Benchmark, BenchmarkResult } from './benchmark.ts';
import { curveBenchmark } from './curve.ts';
import { DEFAULT_EVENTS_BENCH_OPTIONS, eventsBenchmark } from './events.ts';
import { DEFAULT_RUNNER_BENCH_OPTIONS, runnerBenchmark } from './runner.ts';

// A thousand in-process Baileys clients need more heap than V8's default: near the limit the
// collector thrashes, the event loop stalls and clients time out. Re-run with a larger heap.
const REQUIRED_HEAP_BYTES = 8 * 1024 ** 3;
if (getHeapStatistics().heap_size_limit < REQUIRED_HEAP_BYTES * 0.9) {
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=8192`.trim(),
    },
  });
  process.exit(child.status ?? 1);
}

// The runner comes last: it installs the native curve in this process, which the curve benchmark
// must not find installed.
const benchmarks: Benchmark[] = [baseline, curveBenchmark, runnerBenchmark, apiBenchmark, eventsBenchmark];

// libsignal prints whole session records to the console on routine session turnover; they would
// bury the table.
for (const level of ['log', 'info', 'warn'] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    if (
      typeof args[0] === 'string' &&
      /^(Closing (open )?session|Session already closed|Decrypted message with closed)/.test(args[0])
    )
      return;
    original(...args);
  };
}
const numericOptions = [
  ...Object.keys(DEFAULT_BASELINE_OPTIONS),
  ...Object.keys(DEFAULT_RUNNER_BENCH_OPTIONS),
  ...Object.keys(DEFAULT_API_BENCH_OPTIONS),
  ...Object.keys(DEFAULT_EVENTS_BENCH_OPTIONS),
];

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    ...Object.fromEntries(numericOptions.map((name) => [name, { type: 'string' as const }])),
  },
});

const overrides: Record<string, number> = {};
for (const name of numericOptions) {
  const raw = (values as Record<string, string | undefined>)[name];
  if (raw === undefined) continue;
  const parsed = Number(raw);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    console.error(`bench: --${name} must be a positive integer, got '${raw}'`);
    process.exit(2);
  }
  overrides[name] = parsed;
}

const resultsDirectory = join(dirname(fileURLToPath(import.meta.url)), 'results');
const environment = {
  node: process.version,
  cpus: availableParallelism(),
  memoryGiB: Math.round(totalmem() / 1024 ** 3),
  platform: process.platform,
};
// Timings are only comparable on a quiet machine: keep the load seen around the run with them.
const loadAverage = () => loadavg().map((value) => Math.round(value * 100) / 100);

function printTable(result: BenchmarkResult): void {
  const width = Math.max(...result.metrics.map((metric) => metric.name.length));
  console.log(`\n${result.name} (${result.startedAt})`);
  for (const metric of result.metrics) {
    console.log(`  ${metric.name.padEnd(width)}  ${String(metric.value).padStart(10)} ${metric.unit}`);
  }
  if (!result.goals?.length) return;
  const rows = [
    ['goal', 'target', 'measured', 'reference', 'ratio', ''],
    ...result.goals.map((goal) => [
      goal.name,
      goal.goal,
      `${goal.measured} ${goal.unit}`,
      `${goal.reference} ${goal.unit}`,
      String(goal.ratio),
      goal.pass ? 'PASS' : 'MISS',
    ]),
  ];
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  console.log('');
  for (const row of rows)
    console.log(`  ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}`);
}

await mkdir(resultsDirectory, { recursive: true });
const selected = benchmarks.filter((candidate) => !values.only || candidate.name === values.only);
if (selected.length > 1) {
  // Each benchmark in a process of its own: what one leaves behind (a thousand clients' garbage,
  // sockets, timers) made the next one's bare-Baileys figures several times slower.
  for (const benchmark of selected) {
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, process.argv[1] ?? '', ...process.argv.slice(2), '--only', benchmark.name],
      { stdio: 'inherit' },
    );
    if (child.status !== 0) process.exit(child.status ?? 1);
  }
  process.exit(0);
}
for (const benchmark of selected) {
  console.log(`bench: running ${benchmark.name}…`);
  const loadBefore = loadAverage();
  const result = await benchmark.run(overrides);
  printTable(result);
  const file = join(resultsDirectory, `${result.name}.json`);
  const context = { ...environment, loadAverageBefore: loadBefore, loadAverageAfter: loadAverage() };
  await writeFile(file, `${JSON.stringify({ ...result, environment: context }, null, 2)}\n`);
  console.log(`  → ${file}`);
}
process.exit(0);
