import { createDispatcherHandlers } from '#functions/consumers/webhook-dispatcher.ts';
import { newId } from '#shared/domain/ids.ts';
import { createWebhookSender } from '#shared/net/webhook-sender.ts';
import { createWebhookDispatcher, type DispatchDependencies } from '#shared/use-cases/webhook-dispatch.ts';
import {
  MemoryDeliveries,
  MemoryEvents,
  MemoryQueue,
  MemoryWebhooks,
  memorySecrets,
} from './webhook-fakes.ts';

// The dispatcher over in-memory ports and queues, with the real sender posting to real receivers on
// loopback, driven like Lambda drives it: SQS-shaped batches in, `batchItemFailures` out.

export interface DispatcherWorldOptions extends Partial<DispatchDependencies> {
  readonly timeoutMs?: number;
  /** The ordered queue's own delay (the stack's is 1 s). */
  readonly orderedDelayMs?: number;
}

export function dispatcherWorld(options: DispatcherWorldOptions = {}) {
  const webhooks = new MemoryWebhooks();
  const deliveries = new MemoryDeliveries();
  const events = new MemoryEvents();
  const ordered = new MemoryQueue(true, Date.now, options.orderedDelayMs ?? 20);
  const retries = new MemoryQueue(false);
  const counts = { succeeded: 0, failed: 0, dead: 0, webhookDisabled: 0, secretsUnreadable: 0 };
  const dispatcher = createWebhookDispatcher({
    webhooks,
    deliveries,
    firstTries: ordered,
    queue: retries,
    events,
    sender: createWebhookSender({
      policy: { allowLoopback: true },
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    }),
    secrets: memorySecrets,
    metrics: {
      succeeded: () => counts.succeeded++,
      failed: () => counts.failed++,
      dead: () => counts.dead++,
      webhookDisabled: () => counts.webhookDisabled++,
      secretsUnreadable: () => counts.secretsUnreadable++,
    },
    retryScale: 1e-5,
    webhookCacheMs: 0,
    ...options,
  });
  const handlers = createDispatcherHandlers(dispatcher);

  /** Runs the delivery queues like Lambda's pollers (4 batches at once) until `until()` holds. */
  async function pump(until: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const inFlight = new Set<Promise<void>>();
    while (!until()) {
      if (Date.now() > deadline) {
        await Promise.all(inFlight);
        throw new Error(
          `pump: not done after ${timeoutMs} ms (ordered ${ordered.depth}, retries ${retries.depth})`,
        );
      }
      let started = false;
      for (const [queue, size] of [
        [ordered, 5],
        [retries, 10],
      ] as const) {
        while (inFlight.size < 4) {
          const batch = queue.receive(size);
          if (!batch) break;
          started = true;
          const run = handlers
            .deliveries(batch)
            .then((response) =>
              queue.settle(
                batch,
                response.batchItemFailures.map((failure) => failure.itemIdentifier),
              ),
            )
            .finally(() => inFlight.delete(run));
          inFlight.add(run);
        }
      }
      if (!started) await Promise.race([...inFlight, new Promise((resolve) => setTimeout(resolve, 5))]);
    }
    await Promise.all(inFlight);
  }

  return {
    webhooks,
    deliveries,
    events,
    ordered,
    retries,
    counts,
    dispatcher,
    handlers,
    pump,
    tenantId: newId('tenant'),
    /** Every delivery settled (succeeded or dead) and no job left. */
    settled: () =>
      ordered.depth === 0 &&
      retries.depth === 0 &&
      deliveries.all().every((delivery) => delivery.status !== 'pending'),
  };
}
