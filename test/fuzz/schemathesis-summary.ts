// What a schemathesis run found, from its two reports: the JSON run report (version, operations,
// cases, the distinct failures) and the NDJSON event stream (every check on every case, so each
// check's runs and failures can be counted).
import { readFileSync } from 'node:fs';

export interface CheckCount {
  /** Cases the check ran on. */
  readonly cases: number;
  /** Cases it failed on. */
  readonly failed: number;
}

export interface FuzzSummary {
  readonly tool: 'schemathesis';
  readonly version: string;
  /** As schemathesis prints it (a 128-bit integer does not survive a JSON number). */
  readonly seed: string | null;
  readonly durationSeconds: number;
  readonly operations: { readonly total: number; readonly tested: number; readonly errored: number };
  readonly cases: { readonly generated: number; readonly withFailures: number; readonly errored: number };
  readonly failuresByCheck: Readonly<Record<string, CheckCount>>;
  /** Each distinct failure: schemathesis' code and title, how often, and where. */
  readonly failures: readonly { code: string; title: string; count: number; operations: string[] }[];
  /** Errors of the run itself (a schema it could not use, a crash), not of the API. */
  readonly errors: readonly string[];
  readonly warnings: Readonly<Record<string, readonly string[]>>;
}

interface RunReport {
  schemathesis_version: string;
  running_time: number;
  operations: { total: number; tested: number; errored: number };
  test_cases: { generated: number; with_failures: number; errored: number };
  failures: { code: string; title: string; count: number; operations: string[] }[];
  errors: unknown[];
  warnings: Record<string, unknown>;
}

type CheckRecord = { name: string; status: string };
type Recorder = { checks?: Record<string, CheckRecord[]> };

export function summarize(
  jsonReportFile: string,
  ndjsonReportFile: string,
  checks: readonly string[],
): FuzzSummary {
  const reportText = readFileSync(jsonReportFile, 'utf8');
  const report = JSON.parse(reportText) as RunReport;
  const byCheck = new Map(
    checks.map((check) => [check, { cases: new Set<string>(), failed: new Set<string>() }]),
  );
  for (const line of readFileSync(ndjsonReportFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const recorder = (JSON.parse(line) as { ScenarioFinished?: { recorder?: Recorder } }).ScenarioFinished
      ?.recorder;
    for (const [caseId, records] of Object.entries(recorder?.checks ?? {})) {
      for (const record of records) {
        const counted = byCheck.get(record.name) ?? { cases: new Set<string>(), failed: new Set<string>() };
        counted.cases.add(caseId);
        if (record.status === 'failure') counted.failed.add(caseId);
        byCheck.set(record.name, counted);
      }
    }
  }
  return {
    tool: 'schemathesis',
    version: report.schemathesis_version,
    seed: /"seed":\s*(\d+)/.exec(reportText)?.[1] ?? null,
    durationSeconds: Math.round(report.running_time * 10) / 10,
    operations: {
      total: report.operations.total,
      tested: report.operations.tested,
      errored: report.operations.errored,
    },
    cases: {
      generated: report.test_cases.generated,
      withFailures: report.test_cases.with_failures,
      errored: report.test_cases.errored,
    },
    failuresByCheck: Object.fromEntries(
      [...byCheck].map(([check, { cases, failed }]) => [check, { cases: cases.size, failed: failed.size }]),
    ),
    failures: report.failures.map(({ code, title, count, operations }) => ({
      code,
      title,
      count,
      operations,
    })),
    errors: report.errors.map((error) => JSON.stringify(error).slice(0, 500)),
    warnings: Object.fromEntries(
      Object.entries(report.warnings).flatMap(([name, value]) =>
        Array.isArray(value) && value.length ? [[name, value.map(String)]] : [],
      ),
    ),
  };
}

/** The summary as a few lines for the terminal. */
export function describe(summary: FuzzSummary): string {
  const checkWidth = Math.max(...Object.keys(summary.failuresByCheck).map((check) => check.length));
  const lines = [
    `schemathesis ${summary.version}, seed ${summary.seed}, ${summary.durationSeconds} s`,
    `operations: ${summary.operations.tested} of ${summary.operations.total} tested, ${summary.operations.errored} errored`,
    `cases: ${summary.cases.generated} generated, ${summary.cases.withFailures} with failures, ${summary.cases.errored} errored`,
    'checks (cases checked / failed):',
    ...Object.entries(summary.failuresByCheck).map(
      ([check, { cases, failed }]) =>
        `  ${check.padEnd(checkWidth)}  ${String(cases).padStart(6)}  ${failed}`,
    ),
    ...summary.failures.map(
      (failure) =>
        `failure ${failure.code} ${failure.title} (${failure.count}): ${failure.operations.join(', ')}`,
    ),
    ...summary.errors.map((error) => `error: ${error}`),
    ...Object.entries(summary.warnings).map(
      ([name, operations]) => `warning ${name}: ${operations.join(', ')}`,
    ),
  ];
  return lines.join('\n');
}
