// The HTTPS API as the API benchmark runs it: infra/local/api-main.ts in a process of its own (the
// functions and the authorizer behind the local front, as `npm start` runs them), configured only
// through its environment, with the AWS SDK's calls traced (bench/runner/aws-trace.ts) so the
// benchmark can tell which calls one request made.
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

/** Loaded into a child to time its AWS SDK calls; it writes a summary on each SIGUSR2. */
export const AWS_TRACE_FLAGS = ['--import', './bench/runner/aws-trace.ts'] as const;

/** Where a traced child writes, its calls told apart by the items they touch. */
export function traceEnvironment(directory: string): Record<string, string> {
  return { BENCH_AWS_TRACE_DIR: directory, BENCH_AWS_TRACE_DETAIL: '1' };
}

export interface ApiProcess {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** SIGTERM, as `npm start` stops it; resolves once it exited. */
  stop(): Promise<void>;
}

export interface ApiSpawnOptions {
  /** The stack's runtime environment plus AWS endpoints and region. */
  readonly awsEnvironment: Record<string, string>;
  readonly adminKey: string;
  /** Where its output (errors only, at its log level) goes. */
  readonly logFile: string;
  /** Where the AWS call trace writes its summaries (`aws-trace-<pid>-<n>.json`). */
  readonly traceDirectory: string;
}

export async function spawnApiProcess(options: ApiSpawnOptions): Promise<ApiProcess> {
  const log = openSync(options.logFile, 'a');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ...AWS_TRACE_FLAGS, join(ROOT, 'infra/local/api-main.ts')],
    {
      cwd: ROOT,
      stdio: ['ignore', log, log, 'ipc'],
      env: {
        ...process.env,
        ...options.awsEnvironment,
        ADMIN_API_KEY: options.adminKey,
        LOCAL_API_PORT: '0',
        // As `npm start` runs it (infra/local/start.ts).
        LOG_LEVEL: process.env.BENCH_API_LOG_LEVEL ?? 'WARN',
        POWERTOOLS_METRICS_DISABLED: 'true',
        ...traceEnvironment(options.traceDirectory),
      },
    },
  );
  if (child.pid === undefined) throw new Error('the API process did not start');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the API was not ready within 60 s')), 60_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve((message as { ready: string }).ready);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the API exited with ${code} before it was ready (log: ${options.logFile})`));
    });
  });
  return {
    url,
    pid: child.pid,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
