import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

// A clinic's webhook receiver on this machine's loopback: it records every request it gets and
// verifies each with the `standardwebhooks` package, as a clinic would, unchanged.

export interface ReceivedRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Per secret given to the receiver: whether `Webhook.verify` accepted the request with it alone. */
  readonly verifiedWith: readonly boolean[];
  /** The event, when some secret verified it. */
  readonly event: Record<string, unknown> | null;
}

export type Answer = (request: ReceivedRequest, response: ServerResponse) => void | Promise<void>;

export interface Receiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Replaces how the receiver answers from now on (default: 200 "ok"). */
  answer(next: Answer): void;
  /** Resolves once `count` requests have come. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startReceiver(
  secrets: readonly string[],
  options: { host?: string } = {},
): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const waiters: (() => void)[] = [];
  let answer: Answer = (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  };
  const server: Server = createServer(async (incoming: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = Object.fromEntries(
      Object.entries(incoming.headers).map(([name, value]) => [name, [value].flat().join(', ')]),
    );
    let event: Record<string, unknown> | null = null;
    const verifiedWith = secrets.map((secret) => {
      try {
        event = new Webhook(secret).verify(body, headers) as Record<string, unknown>;
        return true;
      } catch {
        return false;
      }
    });
    const request: ReceivedRequest = {
      at: Date.now(),
      method: incoming.method ?? '',
      path: incoming.url ?? '',
      headers,
      body,
      verifiedWith,
      event,
    };
    requests.push(request);
    for (const wake of waiters.splice(0)) wake();
    try {
      await answer(request, response);
    } catch {
      response.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/hooks/clinic`,
    requests,
    answer(next) {
      answer = next;
    },
    async waitFor(count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`the receiver got ${requests.length} of ${count} requests in time`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return requests.slice(0, count);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
