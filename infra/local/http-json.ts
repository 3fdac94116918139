// The local platform's few HTTP calls to its own parts (the API, the simulator's admin API): JSON in,
// JSON out, the answer checked with zod, and a failure named by its route and the server's error code.
import type { z } from 'zod';

export class HttpCallError extends Error {
  override readonly name = 'HttpCallError';
  constructor(
    readonly route: string,
    readonly status: number,
    detail: string,
  ) {
    super(`${route} answered ${status}${detail ? `: ${detail}` : ''}`);
  }
}

export interface JsonCall {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** Calls `url` and parses its 2xx body with `schema`; any other answer throws `HttpCallError`. */
export async function callJson<Schema extends z.ZodType>(
  call: JsonCall,
  schema: Schema,
): Promise<{ readonly status: number; readonly body: z.output<Schema> }> {
  const { route, response, text } = await send(call);
  if (!response.ok) throw new HttpCallError(route, response.status, errorDetail(text));
  const parsed = schema.safeParse(parseJson(text));
  if (!parsed.success) {
    throw new HttpCallError(route, response.status, `unexpected body (${parsed.error.issues[0]?.message})`);
  }
  return { status: response.status, body: parsed.data };
}

/**
 * Whether something exists, by the status of a read: one of `answers` (200, 404…) is returned;
 * any other status throws `HttpCallError`, so a server failing is never taken for "absent".
 */
export async function probe(call: JsonCall, answers: readonly number[]): Promise<number> {
  const { route, response, text } = await send(call);
  if (!answers.includes(response.status)) {
    throw new HttpCallError(route, response.status, errorDetail(text));
  }
  return response.status;
}

async function send(call: JsonCall) {
  const route = `${call.method} ${new URL(call.url).pathname}`;
  const response = await fetch(call.url, {
    method: call.method,
    headers: {
      ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...call.headers,
    },
    ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  return { route, response, text: await response.text() };
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/** The `{ error: { code, message } }` both servers answer with, else the start of the text. */
function errorDetail(text: string): string {
  try {
    const { error } = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof error?.code === 'string') {
      return typeof error.message === 'string' ? `${error.code} (${error.message})` : error.code;
    }
  } catch {
    // not JSON: the text itself says more than nothing
  }
  return text.slice(0, 200);
}
