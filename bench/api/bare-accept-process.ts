// The parent side of bench/api/bare-accept-calls.ts: spawns it like the API (node + tsx loader, a
// process of its own, the same environment, its AWS calls traced) and turns its IPC protocol into
// awaitable steps.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { AWS_TRACE_FLAGS, traceEnvironment } from './api-process.ts';
import type { AcceptTarget, BareAcceptReply, BareAcceptRequest } from './bare-accept-calls.ts';

const ROOT = join(import.meta.dirname, '../..');

export interface BareAcceptProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  prepare(target: AcceptTarget): Promise<void>;
  /** One request's calls: the round's time and each call's, in ms, timed in the child. */
  round(): Promise<{ ms: number; callsMs: readonly number[] }>;
  stop(): Promise<void>;
}

export async function spawnBareAcceptCalls(options: {
  readonly awsEnvironment: Record<string, string>;
  readonly traceDirectory: string;
}): Promise<BareAcceptProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ...AWS_TRACE_FLAGS, join(import.meta.dirname, 'bare-accept-calls.ts')],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {
        ...process.env,
        ...options.awsEnvironment,
        ...traceEnvironment(options.traceDirectory),
      },
    },
  );
  if (child.pid === undefined) throw new Error('the bare accept process did not start');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T extends BareAcceptReply['type']>(expect: T, timeoutMs = 60_000) =>
    new Promise<Extract<BareAcceptReply, { type: T }>>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', listener);
        reject(new Error(`bare accept calls: no '${expect}' within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const listener = (reply: BareAcceptReply) => {
        if (reply.type !== expect && reply.type !== 'error') return;
        clearTimeout(timer);
        child.off('message', listener);
        if (reply.type === 'error') reject(new Error(`bare accept calls: ${reply.message}`));
        else resolve(reply as Extract<BareAcceptReply, { type: T }>);
      };
      child.on('message', listener);
    });
  const ask = <T extends BareAcceptReply['type']>(request: BareAcceptRequest, expect: T) => {
    const reply = next(expect);
    child.send(request);
    return reply;
  };
  await next('ready');
  return {
    pid: child.pid,
    child,
    async prepare(target) {
      await ask({ type: 'prepare', target }, 'prepared');
    },
    async round() {
      const { ms, callsMs } = await ask({ type: 'round' }, 'done');
      return { ms, callsMs };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
