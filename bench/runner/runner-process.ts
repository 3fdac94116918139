// A runner as the benchmark runs it: its own process (`node --import tsx runner/main.ts`, not the
// tsx CLI, whose grandchild would survive a SIGKILL), configured only through its environment the
// way runner-harness.ts `spawnRunner` does, with a health port to read its shards and sessions from.
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '#infra/local/moto-server.ts';

const ROOT = join(import.meta.dirname, '../..');

export interface RunnerHealth {
  readonly shards: number[];
  readonly sessions: Partial<Record<string, number>>;
  readonly connectsRunning: number;
  readonly connectsQueued: number;
}

export interface BenchRunner {
  readonly runnerId: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  health(): Promise<RunnerHealth | undefined>;
  /**
   * SIGTERM (hand-over: leases released) and wait for the exit, at most `graceMs` (ECS's default
   * stopTimeout, 30 s) before a SIGKILL, as ECS would; resolves to the milliseconds a clean exit
   * took, or NaN when it had to be killed.
   */
  stop(graceMs?: number): Promise<number>;
  /** SIGKILL: a crash, the leases are left to expire. */
  kill(): Promise<void>;
}

export interface RunnerSpawnOptions {
  readonly runnerId: string;
  /** The stack's runtime environment plus AWS endpoint and region. */
  readonly awsEnvironment: Record<string, string>;
  readonly cluster: string;
  readonly leaseTtlSeconds: number;
  readonly maxConcurrentConnects: number;
  readonly simulator: { readonly wsUrl: string; readonly rootPublicKey: Buffer; readonly mediaCaPem: string };
  /** Where the runner's stderr (its logs) goes. */
  readonly logFile: string;
  /** Extra node flags, e.g. `--cpu-prof` to find where a small run's time goes. */
  readonly nodeFlags?: readonly string[];
}

export async function spawnBenchRunner(options: RunnerSpawnOptions): Promise<BenchRunner> {
  const healthPort = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ...(options.nodeFlags ?? []), join(ROOT, 'runner/main.ts')],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        ...options.awsEnvironment,
        RUNNER_ID: options.runnerId,
        RUNNER_CLUSTER: options.cluster,
        LEASE_TTL_SECONDS: String(options.leaseTtlSeconds),
        MAX_CONCURRENT_CONNECTS: String(options.maxConcurrentConnects),
        HEALTH_PORT: String(healthPort),
        // As the local platform runs it (infra/local/start.ts).
        SESSION_TRANSACTION_CONCURRENCY: '1',
        LOG_LEVEL: process.env.BENCH_RUNNER_LOG_LEVEL ?? 'ERROR',
        WA_MODE: 'simulator',
        WA_WEBSOCKET_URL: options.simulator.wsUrl,
        WA_TRUST_ROOT: options.simulator.rootPublicKey.toString('base64'),
        WA_MEDIA_CA_PEM: options.simulator.mediaCaPem,
      },
      // The runners' logs (errors only, by default) go to a file: they would bury the table.
      stdio: ['ignore', 'ignore', openSync(options.logFile, 'a')],
    },
  );
  if (child.pid === undefined) throw new Error('runner process did not start');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${healthPort}/healthz`;
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };
  return {
    runnerId: options.runnerId,
    pid: child.pid,
    child,
    exited,
    async health() {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
        return (await response.json()) as RunnerHealth;
      } catch {
        return undefined; // not listening yet, or busy
      }
    },
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return 0;
      const started = performance.now();
      child.kill('SIGTERM');
      const clean = await Promise.race([
        exited.then(() => true),
        new Promise<false>((resolve) => setTimeout(resolve, graceMs, false)),
      ]);
      if (clean) return performance.now() - started;
      await signal('SIGKILL');
      return Number.NaN;
    },
    kill: () => signal('SIGKILL'),
  };
}
