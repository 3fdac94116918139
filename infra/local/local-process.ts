// A part of the local platform that runs as its own Node process (a runner, the API, the consumers),
// configured through its environment like its deployed counterpart. Its stdout reaches the terminal
// as it is; its stderr is held while it starts (a crash's stack goes to the details file, its message
// into one line of progress) and passed through once it is ready.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Enough of a stack trace to hold its message line (Node prints the source excerpt first). */
const KEPT_ERROR_LINES = 40;

/** A process that died or hung while starting; `output` is the end of its stderr, for the details. */
export class LocalProcessError extends Error {
  override readonly name = 'LocalProcessError';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

export interface LocalProcess {
  readonly pid: number;
  /** What it wrote to stderr last, for the details file. */
  errorOutput(): string;
  /**
   * What `ready` resolves to, unless the process exits first (a `LocalProcessError` naming its exit
   * and the error it printed) or `timeoutMs` passes (the process is stopped, and the error says so).
   * `ready`'s signal aborts when it is no longer awaited.
   */
  untilReady<T>(ready: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T>;
  /** Its first IPC message's `ready` field (the API and the consumers send one when they listen). */
  readyMessage<T>(): Promise<T>;
  /** SIGTERM (a graceful stop: a runner hands its shards over) and wait for the exit. */
  stop(): Promise<void>;
}

export function startLocalProcess(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  options: { readonly ipc?: boolean } = {},
): LocalProcess {
  // `node --import tsx` rather than the tsx CLI: one process, so the pid we signal is the one running.
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'pipe', ...(options.ipc ? ['ipc' as const] : [])],
    env,
  });
  const errorLines: string[] = [];
  let partial = '';
  const heldWhileStarting: Buffer[] = [];
  let passThrough = false;
  child.stderr?.on('data', (chunk: Buffer) => {
    if (passThrough) process.stderr.write(chunk);
    else heldWhileStarting.push(chunk);
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    errorLines.push(...lines);
    errorLines.splice(0, Math.max(0, errorLines.length - KEPT_ERROR_LINES));
  });
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) =>
      resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`),
    ),
  );
  const errorOutput = () => [...errorLines, partial].join('\n').trim();
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };

  return {
    pid: child.pid ?? -1,
    errorOutput,
    async untilReady<T>(ready: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T> {
      const waiting = new AbortController();
      let timedOut = false;
      // Too late: stopped, and its exit then says so.
      const timer = setTimeout(() => {
        timedOut = true;
        void stop();
      }, timeoutMs);
      const exit = exited.then((how) => {
        const cause = errorMessageLine(errorOutput());
        throw new LocalProcessError(
          timedOut
            ? `${name} was not ready within ${Math.round(timeoutMs / 1000)} s (stopped)`
            : `${name} ${how} before it was ready${cause ? `: ${cause}` : ''}`,
          errorOutput(),
        );
      });
      // The exit rejects whenever the process ends, ready or not: only this race listens to it.
      exit.catch(() => {});
      try {
        const result = await Promise.race([ready(waiting.signal), exit]);
        // Ready: what it warned about while starting is worth seeing, and so is all it says next.
        passThrough = true;
        for (const chunk of heldWhileStarting.splice(0)) process.stderr.write(chunk);
        return result;
      } finally {
        clearTimeout(timer);
        waiting.abort();
      }
    },
    readyMessage<T>(): Promise<T> {
      return new Promise<T>((resolve) =>
        child.once('message', (message) => resolve((message as { ready: T }).ready)),
      );
    },
    stop,
  };
}

/**
 * The line of a crash that says what went wrong (`ConfigurationError: Invalid configuration: …`),
 * else the last line printed: a stack's last frame says nothing.
 */
export function errorMessageLine(output: string): string | undefined {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.find((line) => /^(\w+Error|Error)\b[^:]*:/.test(line)) ?? lines.at(-1);
}
