// Child process of the events benchmark: the bare loop. It takes the very deliveries the dispatcher
// made (each event's JSON for each webhook that wants it, with its delivery id and its webhook's
// secret) and, for each, signs it with the `standardwebhooks` package and POSTs it to the same
// receiver, with the headers the dispatcher's sender sets — and nothing else: no queue, no
// database, no EventBridge, no URL policy. Run one at a time, or as wide as the dispatcher's worker
// may go (bench/events/grouped-pool.ts: so many in flight, one per webhook and channel, in order).
//
// Protocol (IPC): → 'ready'; ← 'run' (the deliveries and how) → 'done' with the time, timed here
// from the first request's start to the last answer's end.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { runGrouped } from './grouped-pool.ts';

export interface BareDelivery {
  readonly url: string;
  readonly secret: string;
  /** The delivery id: the `webhook-id` header. */
  readonly id: string;
  readonly body: string;
  /** The dispatcher's order group (webhook and channel). */
  readonly group: string;
}

export interface BareRun {
  readonly deliveries: readonly BareDelivery[];
  /** Requests in flight at most (1: one after another). */
  readonly concurrency: number;
  /** Reuse connections (an HTTP keep-alive agent) instead of one connection per request as the sender. */
  readonly keepAlive: boolean;
}

export type BareLoopRequest = { readonly type: 'run'; readonly run: BareRun };
export type BareLoopReply =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly ms: number; readonly requests: number; readonly failed: number }
  | { readonly type: 'error'; readonly message: string };

/** As shared/net/webhook-sender.ts sends it. */
const USER_AGENT = 'clinic-wa-webhooks/1';

function post(delivery: BareDelivery, agent: Agent | false): Promise<number> {
  const timestamp = new Date();
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(delivery.body)),
    'user-agent': USER_AGENT,
    'webhook-id': delivery.id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': new Webhook(delivery.secret).sign(delivery.id, timestamp, delivery.body),
  };
  return new Promise((resolve, reject) => {
    const outgoing = request(delivery.url, { method: 'POST', headers, agent }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(delivery.body);
  });
}

export async function runBare(run: BareRun): Promise<{ ms: number; requests: number; failed: number }> {
  const agent = run.keepAlive ? new Agent({ keepAlive: true, maxSockets: run.concurrency }) : false;
  let failed = 0;
  const started = performance.now();
  await runGrouped(
    run.deliveries,
    { concurrency: run.concurrency, groupOf: (delivery) => delivery.group },
    async (delivery) => {
      const status = await post(delivery, agent).catch(() => 0);
      if (status < 200 || status >= 300) failed++;
    },
  );
  const ms = performance.now() - started;
  if (agent) agent.destroy();
  return { ms, requests: run.deliveries.length, failed };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const reply = (message: BareLoopReply) => process.send?.(message);
  process.on('message', (message: BareLoopRequest) => {
    if (message.type !== 'run') return;
    runBare(message.run).then(
      (done) => reply({ type: 'done', ...done }),
      (error: unknown) => reply({ type: 'error', message: String(error) }),
    );
  });
  process.on('SIGTERM', () => process.exit(0));
  reply({ type: 'ready' });
}
