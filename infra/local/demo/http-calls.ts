// The demo's HTTP calls: each one made, checked against the status the step needs, its answer parsed
// with zod, and printed as one line (who, method, path, status, the interesting bits), so a reader
// of the output sees the API exactly as a clinic's integration would call it.
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';

export type Print = (line: string) => void;

/** A secret shown as its head and tail: enough to tell two apart, not enough to use one. */
export function abbreviate(secret: string): string {
  if (secret.length <= 12) return `${secret.slice(0, 4)}…`;
  return `${secret.slice(0, 10)}…${secret.slice(-4)}`;
}

/** Why a call did not give the step what it needed; `unreachable` is the platform not running. */
export class DemoCallError extends Error {
  constructor(
    message: string,
    readonly code: 'unreachable' | 'unexpected_status' | 'invalid_answer' | 'timeout',
    /** The HTTP status that was not the one expected. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DemoCallError';
  }
}

interface RawAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly ms: number;
}

export interface CallOptions<T> {
  readonly body?: unknown;
  /** The status (or statuses) the step needs; anything else fails it. */
  readonly expect: number | readonly number[];
  readonly schema: z.ZodType<T>;
  /** The interesting bits of the answer, for the printed line. */
  readonly show?: (answer: T) => string;
  /** Sends an `Idempotency-Key`, as a clinic should on every POST that creates something. */
  readonly idempotent?: boolean;
}

export interface PollOptions<T> extends CallOptions<T> {
  /** Statuses that mean "not yet" (409 for a QR not shown yet); any other fails at once. */
  readonly notYet?: readonly number[];
  /** Whether the answer is the one waited for (default: any answer with the expected status). */
  readonly until?: (answer: T) => boolean;
  readonly timeoutMs: number;
  readonly what: string;
}

const POLL_INTERVAL_MS = 100;

export class HttpCaller {
  constructor(
    /** Who is called, as printed: `api` or `sim`. */
    readonly label: string,
    readonly baseUrl: string,
    private readonly print: Print,
    private readonly key?: string,
  ) {}

  /** The same endpoint called with a bearer key. */
  as(key: string): HttpCaller {
    return new HttpCaller(this.label, this.baseUrl, this.print, key);
  }

  async call<T>(method: string, path: string, options: CallOptions<T>): Promise<T> {
    const answer = await this.send(method, path, options);
    const parsed = this.check(method, path, answer, options);
    this.printCall(method, path, answer, options.show?.(parsed));
    return parsed;
  }

  /** Calls again until the answer is the one waited for; prints the last call only. */
  async poll<T>(method: string, path: string, options: PollOptions<T>): Promise<T> {
    const deadline = Date.now() + options.timeoutMs;
    for (let tries = 1; ; tries++) {
      const answer = await this.send(method, path, options);
      const notYet = options.notYet?.includes(answer.status) ?? false;
      if (!notYet) {
        const parsed = this.check(method, path, answer, options);
        if (!options.until || options.until(parsed)) {
          const shown = options.show?.(parsed);
          const polled = tries > 1 ? `(call ${tries})` : '';
          this.printCall(method, path, answer, [shown, polled].filter(Boolean).join('  '));
          return parsed;
        }
      }
      if (Date.now() > deadline) {
        throw new DemoCallError(
          `${options.what}: not there after ${options.timeoutMs / 1000} s ` +
            `(${tries} calls of ${this.label} ${method} ${path}, the last answered ${answer.status})`,
          'timeout',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  }

  private async send(method: string, path: string, options: { body?: unknown; idempotent?: boolean }) {
    const headers: Record<string, string> = {};
    if (this.key) headers.authorization = `Bearer ${this.key}`;
    if (options.idempotent) headers['idempotency-key'] = randomUUID();
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const started = performance.now();
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      const cause =
        error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : '';
      throw new DemoCallError(
        `cannot reach ${this.baseUrl} (${method} ${path}: ${cause}): is \`npm start\` running?`,
        'unreachable',
      );
    }
    const text = await response.text();
    let body: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json') && text) {
      try {
        body = JSON.parse(text);
      } catch {
        // Left as text: the status check or the schema below names the problem.
      }
    }
    return { status: response.status, body, ms: Math.round(performance.now() - started) } satisfies RawAnswer;
  }

  private check<T>(method: string, path: string, answer: RawAnswer, options: CallOptions<T>): T {
    const expected = [options.expect].flat();
    if (!expected.includes(answer.status)) {
      this.printCall(method, path, answer, errorOf(answer.body));
      throw new DemoCallError(
        `${this.label} ${method} ${path} answered ${answer.status} (${errorOf(answer.body)}), ` +
          `expected ${expected.join(' or ')}`,
        'unexpected_status',
        answer.status,
      );
    }
    const parsed = options.schema.safeParse(answer.body);
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
        .join('; ');
      throw new DemoCallError(
        `${this.label} ${method} ${path} answered ${answer.status} with an unexpected body: ${problems}`,
        'invalid_answer',
      );
    }
    return parsed.data;
  }

  private printCall(method: string, path: string, answer: RawAnswer, shown = ''): void {
    const call = `${this.label} ${method.padEnd(6)} ${path}`;
    this.print(`   ${call} → ${answer.status} (${answer.ms} ms)${shown ? `  ${shown}` : ''}`);
  }
}

/** The error code and message of an error body (the API's and the simulator's share the shape). */
function errorOf(body: unknown): string {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const error = (body as { error?: { code?: unknown; message?: unknown } }).error;
    return `${String(error?.code)}: ${String(error?.message)}`;
  }
  return typeof body === 'string' ? body.slice(0, 200) : '';
}
