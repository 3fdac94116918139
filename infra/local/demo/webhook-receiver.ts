// The clinic's side of the webhook, as a clinic would write it: an HTTP server on a free loopback port
// that accepts a request only when the `standardwebhooks` package verifies its signature with the
// webhook's secret, and answers 401 to anything unsigned, signed with another secret, or stale. A
// verified body is then held to the documented event schema (zod, the OpenAPI document's own).
// Events are at-least-once: a repeated event id is acknowledged and not recorded twice.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { anyEventSchema } from '#functions/http/event-schemas.ts';
import type { EventType, PlatformEvent } from '#shared/domain/events.ts';
import { DemoCallError } from './http-calls.ts';

export interface VerifiedEvent<T extends EventType = EventType> {
  readonly event: PlatformEvent<T>;
  /** The `webhook-id` header: the delivery's id, the same on every try. */
  readonly deliveryId: string;
  readonly receivedAt: number;
}

export interface RejectedRequest {
  readonly reason: string;
  readonly status: number;
  readonly receivedAt: number;
}

export interface DemoReceiver {
  readonly url: string;
  /** Every verified event, once each, in arrival order. */
  readonly verified: readonly VerifiedEvent[];
  readonly rejected: readonly RejectedRequest[];
  /** Requests for an event already recorded (a retry or a redelivery). */
  readonly duplicates: number;
  /** The secret to verify with, known once the webhook exists; until then every request is refused. */
  trust(secret: string): void;
  /** The first verified event of `type` that `matches` (one already received counts). */
  waitFor<T extends EventType>(
    type: T,
    matches: (event: PlatformEvent<T>) => boolean,
    what: string,
    timeoutMs: number,
  ): Promise<VerifiedEvent<T>>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function startDemoReceiver(): Promise<DemoReceiver> {
  const verified: VerifiedEvent[] = [];
  const rejected: RejectedRequest[] = [];
  const seen = new Set<string>();
  const listeners = new Set<() => void>();
  let webhook: Webhook | null = null;
  let duplicates = 0;

  const server = createServer(async (request, response) => {
    const answer = (status: number, reason?: string) => {
      if (reason) rejected.push({ reason, status, receivedAt: Date.now() });
      response.writeHead(status, { 'content-type': 'text/plain' }).end(reason ?? 'ok');
    };
    const body = await readBody(request);
    if (request.method !== 'POST') return answer(405, `${request.method} is not a webhook request`);
    if (body === null) return answer(413, 'body over 1 MiB');
    if (!webhook) return answer(401, 'no secret yet: the webhook does not exist');
    let payload: unknown;
    try {
      payload = webhook.verify(body, headersOf(request));
    } catch (error) {
      return answer(401, `signature refused: ${error instanceof Error ? error.message : String(error)}`);
    }
    const event = anyEventSchema.safeParse(payload);
    if (!event.success) {
      return answer(400, `signed, but not a documented event: ${event.error.issues[0]?.message}`);
    }
    if (seen.has(event.data.id)) duplicates++;
    else {
      seen.add(event.data.id);
      verified.push({
        event: event.data as PlatformEvent,
        deliveryId: headersOf(request)['webhook-id'] ?? '',
        receivedAt: Date.now(),
      });
      for (const listener of listeners) listener();
    }
    answer(204);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/webhooks/clinic-wa`,
    verified,
    rejected,
    get duplicates() {
      return duplicates;
    },
    trust(secret) {
      webhook = new Webhook(secret);
    },
    waitFor(type, matches, what, timeoutMs) {
      const find = () =>
        verified.find(
          (received): received is VerifiedEvent<typeof type> =>
            received.event.type === type && matches(received.event as PlatformEvent<typeof type>),
        );
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = find();
          if (!found) return;
          settle();
          resolve(found);
        };
        const timer = setTimeout(() => {
          settle();
          const refused = rejected.length
            ? `; ${rejected.length} requests refused, the last: ${rejected.at(-1)?.reason}`
            : '';
          reject(
            new DemoCallError(
              `${what}: no verified ${type} event in ${timeoutMs / 1000} s ` +
                `(${verified.length} verified events so far${refused})`,
              'timeout',
            ),
          );
        }, timeoutMs);
        const settle = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The body as text, or null past the cap (read to the end either way, so the answer is seen). */
async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8');
}

function headersOf(request: IncomingMessage): Record<string, string> {
  return Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [name, [value ?? ''].flat().join(', ')]),
  );
}
