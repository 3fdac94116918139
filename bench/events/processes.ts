// The parent side of the events benchmark's two children: the dispatcher (dispatcher-main.ts) and
// the bare loop (bare-loop.ts), each node + the tsx loader in a process of its own, as the API
// benchmark spawns its children, their IPC protocols turned into awaitable steps.
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { AWS_TRACE_FLAGS, traceEnvironment } from '../api/api-process.ts';
import type { BareLoopReply, BareRun } from './bare-loop.ts';
import type { DispatcherReply } from './dispatcher-main.ts';

const ROOT = join(import.meta.dirname, '../..');

/** `npm start`'s invocations at once per queue (infra/local/consumers-platform.ts's default). */
export const LOCAL_POLLERS_PER_QUEUE = 2;

type Reply = { readonly type: string; readonly message?: string };

/** The next reply of `type` (or an 'error' one), within `timeoutMs`. */
function nextReply<R extends Reply, T extends R['type']>(
  child: ChildProcess,
  type: T,
  what: string,
  timeoutMs: number,
): Promise<Extract<R, { type: T }>> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', listener);
      child.off('exit', exited);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: no '${type}' within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const exited = (code: number | null) => {
      done();
      reject(new Error(`${what} exited (${code}) before '${type}'`));
    };
    const listener = (reply: R) => {
      if (reply.type !== type && reply.type !== 'error') return;
      done();
      if (reply.type === 'error') reject(new Error(`${what}: ${reply.message}`));
      else resolve(reply as Extract<R, { type: T }>);
    };
    child.on('message', listener);
    child.once('exit', exited);
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    // Its pollers finish their invocations; a stuck one is not waited for.
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(killer);
  };
}

export interface DispatcherProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly consumers: readonly string[];
  /** Each consumer's counts, and the receives and deletes that failed (by consumer and error). */
  stats(): Promise<Omit<Extract<DispatcherReply, { type: 'stats' }>, 'type'>>;
  stop(): Promise<void>;
}

export async function spawnDispatcher(options: {
  /** The stack's runtime environment, AWS endpoints and region: where the dispatcher's platform is. */
  readonly awsEnvironment: Record<string, string>;
  /** Where the webhook event queues (EventBridge's targets) are read from. */
  readonly eventSourceSqsEndpoint: string;
  readonly pollers: number;
  readonly logFile: string;
  readonly traceDirectory: string;
}): Promise<DispatcherProcess> {
  const log = openSync(options.logFile, 'a');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ...AWS_TRACE_FLAGS, join(import.meta.dirname, 'dispatcher-main.ts')],
    {
      cwd: ROOT,
      stdio: ['ignore', log, log, 'ipc'],
      env: {
        ...process.env,
        ...options.awsEnvironment,
        // As `npm start` runs the consumers (infra/local/start.ts).
        WEBHOOK_ALLOW_LOOPBACK: 'true',
        WEBHOOK_RETRY_SCALE: '0.01',
        LOG_LEVEL: process.env.BENCH_DISPATCHER_LOG_LEVEL ?? 'WARN',
        POWERTOOLS_METRICS_DISABLED: 'true',
        BENCH_EVENT_SOURCE_SQS_ENDPOINT: options.eventSourceSqsEndpoint,
        BENCH_DISPATCHER_POLLERS: String(options.pollers),
        ...traceEnvironment(options.traceDirectory),
      },
    },
  );
  if (child.pid === undefined) throw new Error('the dispatcher process did not start');
  const stop = stopper(child);
  try {
    const ready = await nextReply<DispatcherReply, 'ready'>(child, 'ready', 'the dispatcher', 60_000);
    return {
      pid: child.pid,
      child,
      consumers: ready.consumers,
      async stats() {
        const reply = nextReply<DispatcherReply, 'stats'>(child, 'stats', 'the dispatcher', 10_000);
        child.send({ type: 'stats' });
        const { stats, errors } = await reply;
        return { stats, errors };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message} (log: ${options.logFile})`);
  }
}

export interface BareLoopProcess {
  readonly pid: number;
  run(run: BareRun): Promise<{ ms: number; requests: number; failed: number }>;
  stop(): Promise<void>;
}

export async function spawnBareLoop(): Promise<BareLoopProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'bare-loop.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: process.env,
  });
  if (child.pid === undefined) throw new Error('the bare loop process did not start');
  const stop = stopper(child);
  try {
    await nextReply<BareLoopReply, 'ready'>(child, 'ready', 'the bare loop', 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    pid: child.pid,
    async run(run) {
      const reply = nextReply<BareLoopReply, 'done'>(child, 'done', 'the bare loop', 300_000);
      child.send({ type: 'run', run });
      const { ms, requests, failed } = await reply;
      return { ms, requests, failed };
    },
    stop,
  };
}
