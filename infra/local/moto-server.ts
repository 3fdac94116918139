// Runs moto (the AWS emulator from the project's .venv) as a child process on a free or given port.
// The server must never outlive us, even when we are killed without a chance to clean up: it runs
// moto's own entry point behind a watchdog thread that exits as soon as our end of its stdin pipe
// closes, which the OS does for us however we die. With a state file, it restores moto's state from
// it at boot and saves it there periodically and before it exits (moto_state.py).
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const venvPython = join(projectRoot, '.venv/bin/python');
const motoServer = join(projectRoot, '.venv/bin/moto_server');
const logDirectory = join(projectRoot, '.local');
const patchesDirectory = fileURLToPath(new URL('.', import.meta.url));

const LAUNCHER = [
  'import os, sys, threading',
  'import moto_patches',
  'import moto_state',
  'from moto.server import main',
  'moto_state.start_from_environment()',
  'def exit_when_parent_goes():',
  '    sys.stdin.buffer.read()',
  '    moto_state.save_final()',
  '    os._exit(0)',
  'threading.Thread(target=exit_when_parent_goes, daemon=True).start()',
  'main(sys.argv[1:])',
].join('\n');

export interface MotoServerOptions {
  /** A fixed port; by default a free one. */
  readonly port?: number;
  readonly startTimeoutMs?: number;
  /**
   * Where moto's state lives across restarts: restored from it at start when it exists, saved to it
   * every `snapshotIntervalSeconds` and on stop. Without it, the state dies with the server.
   */
  readonly stateFile?: string;
  /** Default 30: a server killed with SIGKILL loses at most that much. */
  readonly snapshotIntervalSeconds?: number;
}

export interface MotoServer {
  readonly endpoint: string;
  readonly port: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

export async function startMotoServer(options: MotoServerOptions = {}): Promise<MotoServer> {
  if (!existsSync(motoServer)) {
    throw new Error(
      `moto is not installed (${motoServer} is missing): run 'npm test' or 'npm start' once to create the .venv`,
    );
  }
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  mkdirSync(logDirectory, { recursive: true });
  pruneOldLogs();
  const logFile = join(logDirectory, `moto-${port}.log`);
  const log = openSync(logFile, 'w');
  const child = spawn(venvPython, ['-c', LAUNCHER, '-H', '127.0.0.1', '-p', String(port)], {
    cwd: projectRoot,
    stdio: ['pipe', log, log],
    // Its own process group: a Ctrl-C meant for us does not kill it before we shut down in order.
    detached: true,
    // moto_patches.py (beside this file) fixes two of moto's emulation traps; docs/infra.md.
    env: {
      ...process.env,
      PYTHONUNBUFFERED: '1',
      PYTHONPATH: patchesDirectory,
      ...(options.stateFile
        ? {
            CLINIC_WA_MOTO_STATE_FILE: options.stateFile,
            CLINIC_WA_MOTO_SNAPSHOT_SECONDS: String(options.snapshotIntervalSeconds ?? 30),
          }
        : {}),
    },
  });
  closeSync(log);
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(`exit ${code ?? signal}`)),
  );
  // Unref'd so an idle server does not keep us alive; the pipe stays open until we exit or stop it.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();

  const ready = await waitUntilAnswering(endpoint, exited, options.startTimeoutMs ?? 20_000);
  if (ready !== 'ready') {
    await killGroup(child, exited, 1_000);
    throw new Error(`moto did not start on port ${port} (${ready}); end of ${logFile}:\n${tail(logFile)}`);
  }
  // Saving the state waits for the requests in flight (at most 10 s), then writes it.
  const stopGraceMs = options.stateFile ? 30_000 : 1_000;
  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    port,
    logFile,
    stop: () => {
      stopped ??= killGroup(child, exited, stopGraceMs);
      return stopped;
    },
  };
}

async function waitUntilAnswering(
  endpoint: string,
  exited: Promise<string>,
  timeoutMs: number,
): Promise<'ready' | string> {
  const deadline = Date.now() + timeoutMs;
  let exit: string | undefined;
  void exited.then((reason) => {
    exit = reason;
  });
  while (Date.now() < deadline) {
    if (exit) return `the process ended early: ${exit}`;
    try {
      // Any HTTP answer means the server is up; moto loads each service on first use.
      await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
      return 'ready';
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return exit ? `the process ended early: ${exit}` : `no answer within ${timeoutMs} ms`;
}

async function killGroup(child: ChildProcess, exited: Promise<string>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const pid = child.pid;
  child.ref(); // keep the loop alive until its exit is observed
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  };
  const within = (ms: number) =>
    Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(resolve, ms, 'timeout'))]);
  // Closing its stdin ends it at once through the watchdog (after its last snapshot, if it keeps
  // one); moto's own SIGTERM handling waits for open keep-alive connections, so it is the fallback.
  child.stdin?.end();
  if ((await within(graceMs)) !== 'timeout') return;
  signalGroup('SIGTERM');
  if ((await within(3_000)) !== 'timeout') return;
  signalGroup('SIGKILL');
  await exited;
}

/** One log per server start; keep a day's worth for post-mortems, not forever. */
function pruneOldLogs(maxAgeMs = 24 * 3600_000): void {
  for (const name of readdirSync(logDirectory)) {
    if (!/^moto-\d+\.log$/.test(name)) continue;
    const file = join(logDirectory, name);
    try {
      if (Date.now() - statSync(file).mtimeMs > maxAgeMs) rmSync(file);
    } catch {
      // Another run pruned it first.
    }
  }
}

function tail(file: string, bytes = 2_000): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '(no log)';
  }
}

/** Whether a server could listen on `port` on the loopback address now. */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
