// The parent side of bench/runner/bare-clients.ts: spawns it like a runner (node + tsx loader, its
// own process) and turns its IPC protocol into awaitable steps.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { BareClientsReply, BareClientsRequest } from './bare-clients.ts';

const ROOT = join(import.meta.dirname, '../..');

export interface BareClientsProcess {
  readonly pid: number;
  request<T extends BareClientsReply['type']>(
    request: BareClientsRequest,
    expect: T,
    timeoutMs?: number,
  ): Promise<Extract<BareClientsReply, { type: T }>>;
  kill(): Promise<void>;
}

export async function spawnBareClients(): Promise<BareClientsProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'bare-clients.ts')],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  if (child.pid === undefined) throw new Error('bare clients process did not start');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T extends BareClientsReply['type']>(expect: T, timeoutMs: number) =>
    new Promise<Extract<BareClientsReply, { type: T }>>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', listener);
        reject(new Error(`bare clients: no '${expect}' within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const listener = (reply: BareClientsReply) => {
        if (reply.type !== expect && reply.type !== 'error') return;
        clearTimeout(timer);
        child.off('message', listener);
        if (reply.type === 'error') reject(new Error(`bare clients: ${reply.message}`));
        else resolve(reply as Extract<BareClientsReply, { type: T }>);
      };
      child.on('message', listener);
    });
  await next('ready', 60_000);
  return {
    pid: child.pid,
    request(request, expect, timeoutMs = 600_000) {
      const reply = next(expect, timeoutMs);
      child.send(request);
      return reply;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
