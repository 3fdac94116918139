// The clinics' webhook receiver of the events benchmark: one real HTTP server on loopback, one path
// per webhook (`/hooks/<webhookId>`), that verifies every request with the `standardwebhooks`
// package's `Webhook.verify` and that webhook's secret, as a clinic would, records when it arrived
// (this process's monotonic clock, the one the publishing side reads too) and answers 200. It also
// counts the connections open at once, to show how many requests the sender had in flight (the
// dispatcher's sender, like the bare loop by default, opens a connection per request).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Webhook } from 'standardwebhooks';

export interface Arrival {
  /** performance.now() of this process when the whole request had come and was verified. */
  readonly at: number;
  /** The webhook the request was for (its path). */
  readonly webhookId: string;
  /** The `webhook-id` header: the delivery id. */
  readonly messageId: string;
  /** Whether `Webhook.verify` accepted it with the webhook's secret. */
  readonly verified: boolean;
  /** From the verified payload (or, unverified, the raw body when it parses). */
  readonly eventId: string | null;
  readonly channelId: string | null;
}

export interface BenchReceiver {
  /** The URL of a webhook's path. */
  urlOf(webhookId: string): string;
  /** Registers the secret the webhook's requests must verify with. */
  expect(webhookId: string, secret: string): void;
  readonly arrivals: readonly Arrival[];
  /** The most connections open at once since the last `reset` (a request's, until it closes). */
  readonly maxInFlight: number;
  /** Forgets the arrivals and the peak: a new phase starts. */
  reset(): Arrival[];
  /**
   * Whether `count` requests arrived since the last reset: false once `stallMs` passed without a
   * new one (the sender stopped; the check then says what is missing).
   */
  waitFor(count: number, stallMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export async function startBenchReceiver(): Promise<BenchReceiver> {
  const secrets = new Map<string, Webhook>();
  let arrivals: Arrival[] = [];
  let open = 0;
  let maxInFlight = 0;
  let wake: (() => void) | undefined;

  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const webhookId = /^\/hooks\/([^/?]+)$/.exec(request.url ?? '')?.[1] ?? '';
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [name, [value].flat().join(', ')]),
    );
    let payload: Record<string, unknown> | null = null;
    let verified = false;
    try {
      payload = secrets.get(webhookId)?.verify(body, headers) as Record<string, unknown>;
      verified = payload !== undefined && payload !== null;
    } catch {
      try {
        payload = JSON.parse(body) as Record<string, unknown>;
      } catch {
        payload = null;
      }
    }
    arrivals.push({
      at: performance.now(),
      webhookId,
      messageId: headers['webhook-id'] ?? '',
      verified,
      eventId: typeof payload?.id === 'string' ? payload.id : null,
      channelId: typeof payload?.channelId === 'string' ? payload.channelId : null,
    });
    wake?.();
    response.writeHead(verified ? 200 : 401, { 'content-type': 'text/plain' }).end(verified ? 'ok' : 'no');
  });
  server.on('connection', (socket) => {
    open++;
    maxInFlight = Math.max(maxInFlight, open);
    socket.once('close', () => open--);
  });
  // The keep-alive way of the bare loop leaves idle connections: closed within a second, before the
  // next phase starts counting.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    urlOf: (webhookId) => `http://127.0.0.1:${port}/hooks/${webhookId}`,
    expect(webhookId, secret) {
      secrets.set(webhookId, new Webhook(secret));
    },
    get arrivals() {
      return arrivals;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    reset() {
      const phase = arrivals;
      arrivals = [];
      maxInFlight = open;
      return phase;
    },
    async waitFor(count, stallMs) {
      let seen = arrivals.length;
      let deadline = performance.now() + stallMs;
      while (arrivals.length < count) {
        if (arrivals.length > seen) {
          seen = arrivals.length;
          deadline = performance.now() + stallMs;
        }
        const left = deadline - performance.now();
        if (left <= 0) return false;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 1_000));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return true;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
