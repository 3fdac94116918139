// Opt-in diagnostics for a runner child (`BENCH_RUNNER_NODE_FLAGS="--import ./bench/runner/aws-trace.ts"`
// with `BENCH_AWS_TRACE_DIR`): times every AWS SDK call by command and writes a summary when the
// process exits, to tell the emulator's latency apart from the runner's own time. Not used by
// default: it patches the SDK's Client.send in the process it is loaded into.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

interface Sendable {
  send(command: TracedCommand, ...rest: unknown[]): Promise<unknown>;
}

interface TracedCommand {
  constructor: { name: string };
  input?: Record<string, unknown>;
}

/** With BENCH_AWS_TRACE_DETAIL=1, calls are told apart by the kind of item they touch too. */
function label(command: TracedCommand): string {
  const name = command.constructor.name;
  if (!process.env.BENCH_AWS_TRACE_DETAIL) return name;
  const input = command.input ?? {};
  const kinds = new Set<string>();
  const kindOf = (key: unknown) => {
    const raw = (key as { sk?: unknown } | undefined)?.sk;
    const sk = (raw as { S?: unknown } | undefined)?.S ?? raw;
    if (typeof sk === 'string') kinds.add(sk.split(/[#:]/)[0] ?? '');
  };
  kindOf(input.Key);
  kindOf(input.Item);
  for (const table of Object.values((input.RequestItems ?? {}) as Record<string, unknown>)) {
    const requests = Array.isArray(table) ? table : ((table as { Keys?: unknown[] }).Keys ?? []);
    for (const request of requests as Record<string, unknown>[]) {
      kindOf(request);
      kindOf((request.PutRequest as { Item?: unknown } | undefined)?.Item);
      kindOf((request.DeleteRequest as { Key?: unknown } | undefined)?.Key);
    }
  }
  for (const item of (input.TransactItems ?? []) as Record<string, { Key?: unknown; Item?: unknown }>[]) {
    for (const op of Object.values(item)) {
      kindOf(op.Key);
      kindOf(op.Item);
    }
  }
  const status = (input.ExpressionAttributeValues as Record<string, unknown> | undefined)?.[':status'];
  const expression =
    typeof input.UpdateExpression === 'string'
      ? ` ${input.UpdateExpression.slice(0, 30)}${typeof status === 'string' ? ` → ${status}` : ''}`
      : '';
  return kinds.size > 0 || expression ? `${name} [${[...kinds].sort().join(',')}]${expression}` : name;
}

const directory = process.env.BENCH_AWS_TRACE_DIR;
if (directory) {
  const require = createRequire(join(process.cwd(), 'package.json'));
  const { Client } = require('@smithy/core/client') as { Client: { prototype: Sendable } };
  const figures = new Map<string, { calls: number; totalMs: number; samples: number[] }>();
  let startedAt = performance.now();
  const original = Client.prototype.send;
  Client.prototype.send = function send(this: Sendable, command, ...rest) {
    const started = performance.now();
    const result = original.call(this, command, ...rest);
    const done = (outcome: unknown) => {
      const failure =
        outcome instanceof Error && process.env.BENCH_AWS_TRACE_DETAIL ? ` ✗ ${outcome.name}` : '';
      const name = `${label(command)}${failure}`;
      const entry = figures.get(name) ?? { calls: 0, totalMs: 0, samples: [] };
      const ms = performance.now() - started;
      entry.calls++;
      entry.totalMs += ms;
      if (entry.samples.length < 100_000) entry.samples.push(ms);
      figures.set(name, entry);
    };
    result.then(done, done);
    return result;
  };
  let part = 0;
  const write = () => {
    const summary = Object.fromEntries(
      [...figures].map(([name, { calls, totalMs, samples }]) => {
        const sorted = samples.sort((a, b) => a - b);
        const at = (q: number) => Math.round(sorted[Math.floor(q * (sorted.length - 1))] ?? 0);
        return [name, { calls, meanMs: Math.round(totalMs / calls), p50Ms: at(0.5), p99Ms: at(0.99) }];
      }),
    );
    const wallSeconds = Math.round((performance.now() - startedAt) / 1000);
    writeFileSync(
      join(directory, `aws-trace-${process.pid}-${part++}.json`),
      `${JSON.stringify({ wallSeconds, calls: summary }, null, 2)}\n`,
    );
    figures.clear();
    startedAt = performance.now();
  };
  // The benchmark sends SIGUSR2 between phases, so each phase gets a summary of its own.
  process.on('SIGUSR2', write);
  process.on('exit', write);
}
