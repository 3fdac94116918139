// The AWS calls a traced child made (bench/runner/aws-trace.ts loaded into it): each SIGUSR2 makes it
// write what it saw since the one before (`aws-trace-<pid>-<n>.json`) and start afresh, so a
// benchmark can cut a phase's calls out and count them per request.
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface TracedCalls {
  readonly calls: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface TraceSummary {
  readonly wallSeconds: number;
  /** By command, told apart by the kind of item and the update they touch (BENCH_AWS_TRACE_DETAIL). */
  readonly calls: Record<string, TracedCalls>;
}

export class CallTrace {
  private parts = 0;

  constructor(
    private readonly directory: string,
    private readonly child: ChildProcess,
  ) {}

  /** The calls since the last cut (or the start). */
  async cut(timeoutMs = 10_000): Promise<TraceSummary> {
    const file = join(this.directory, `aws-trace-${this.child.pid}-${this.parts++}.json`);
    this.child.kill('SIGUSR2');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return JSON.parse(await readFile(file, 'utf8')) as TraceSummary;
      } catch (error) {
        // Not written yet, or written half: the child writes it from its signal handler.
        if (Date.now() > deadline) throw new Error(`no call trace from ${this.child.pid}: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }
}

/** Calls of each kind per request, over `requests` requests. */
export function callsPerRequest(summary: TraceSummary, requests: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(summary.calls)
      .map(([name, { calls }]) => [name, Math.round((calls / requests) * 1000) / 1000] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}
