import type { SQSBatchResponse } from 'aws-lambda';
import { createDispatcherHandlers } from '#functions/consumers/webhook-dispatcher.ts';
import type { PlatformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import { createWebhookSender } from '#shared/net/webhook-sender.ts';
import { createWebhookDispatcher, type DispatchDependencies } from '#shared/use-cases/webhook-dispatch.ts';
import {
  eventMessage,
  MemoryCursors,
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
  /**
   * The clock of the webhook event queue (its visibility, its first-receive times) and, unless `now`
   * is given, the dispatcher's: a test moves it to let seconds pass.
   */
  readonly clock?: () => number;
}

/** The webhook event queue's visibility timeout, as the stack's. */
const EVENT_QUEUE_VISIBILITY_MS = 180_000;

export function dispatcherWorld(options: DispatcherWorldOptions = {}) {
  const clock = options.clock ?? Date.now;
  const webhooks = new MemoryWebhooks();
  const deliveries = new MemoryDeliveries();
  const events = new MemoryEvents();
  const cursors = new MemoryCursors(clock);
  /** The webhook event queue (standard), which EventBridge fills and the fan-out reads. */
  const eventQueue = new MemoryQueue(false, clock, EVENT_QUEUE_VISIBILITY_MS);
  const ordered = new MemoryQueue(true);
  const retries = new MemoryQueue(false);
  const counts = {
    succeeded: 0,
    failed: 0,
    dead: 0,
    webhookDisabled: 0,
    secretsUnreadable: 0,
    gapSkipped: 0,
  };
  const dispatcher = createWebhookDispatcher({
    webhooks,
    deliveries,
    firstTries: ordered,
    queue: retries,
    events,
    cursors,
    now: () => new Date(clock()),
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
      gapSkipped: () => counts.gapSkipped++,
    },
    retryScale: 1e-5,
    webhookCacheMs: 0,
    ...options,
  });
  const handlers = createDispatcherHandlers(dispatcher, { visibility: eventQueue });

  /**
   * Hands what the event queue shows now to the fan-out, `batchSize` at a time, one batch after
   * another, until nothing visible is left: the records each batch failed (held, or failing).
   */
  async function fanOutVisible(batchSize = 10): Promise<string[][]> {
    const failures: string[][] = [];
    for (let batch = eventQueue.receive(batchSize); batch; batch = eventQueue.receive(batchSize)) {
      const response: SQSBatchResponse = await handlers.fanOut(batch);
      const failed = response.batchItemFailures.map((failure) => failure.itemIdentifier);
      eventQueue.settle(batch, failed);
      failures.push(failed);
    }
    return failures;
  }

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
    cursors,
    eventQueue,
    ordered,
    retries,
    counts,
    dispatcher,
    handlers,
    pump,
    /** Publishes events as EventBridge does: onto the webhook event queue. */
    publish(...published: PlatformEvent[]): void {
      for (const event of published) eventQueue.put(eventMessage(event));
    },
    fanOutVisible,
    tenantId: newId('tenant'),
    /** Every delivery settled (succeeded or dead) and no job left. */
    settled: () =>
      ordered.depth === 0 &&
      retries.depth === 0 &&
      deliveries.all().every((delivery) => delivery.status !== 'pending'),
  };
}
