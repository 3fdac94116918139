// A runner as the benchmark runs it: its own process (`node --import tsx runner/main.ts`, not the
// tsx CLI, whose grandchild would survive a SIGKILL), configured only through its environment the
// way runner-harness.ts `spawnRunner` does, with a health port to read its shards and sessions from.
import { type ChildProcess, spawn } from 'node:child_process';
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
  /** SIGTERM (hand-over: leases released) and wait for the exit. */
  stop(): Promise<void>;
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
  /** Extra node flags, e.g. `--cpu-prof` to find where a small run's time goes. */
  readonly nodeFlags?: readonly string[];
}

export async function spawnBenchRunner(options: RunnerSpawnOptions): Promise<BenchRunner> {
  const healthPort = await freePort();
  const child = spawn(
    process.execPath,
    [...(options.nodeFlags ?? []), '--import', 'tsx', join(ROOT, 'runner/main.ts')],
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
      stdio: ['ignore', 'ignore', 'inherit'],
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
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
  };
}
