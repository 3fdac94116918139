import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DeliveryJob, DeliveryQueue } from '../ports.ts';
import { deliveryJobMessage, sendJobEntries } from './sqs-delivery-queue.ts';

// First tries of deliveries, in order: the dispatcher's FIFO queue (`WEBHOOK_ORDERED_QUEUE_URL`),
// one message group per webhook and channel (`orderKey`), so a healthy receiver gets a channel's
// events in the order they happened while other groups go on beside it. FIFO queues cannot delay
// one message: retries and waits go to the standard delivery queue instead, so a failing delivery
// never holds its group (docs/architecture.md, "Webhooks").

/**
 * The deduplication id: the same job queued twice within SQS's five minutes (a fan-out tried again
 * after a crash) is stored once; a redelivery (a new due time) is a new job.
 */
export function orderedJobDeduplicationId(job: DeliveryJob): string {
  return `${job.deliveryId}.${job.attemptCount}.${Date.parse(job.dueAt)}`;
}

export class SqsOrderedDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly options: { readonly now?: () => Date } = {},
  ) {}

  async enqueue(jobs: readonly DeliveryJob[], options: { delayMs?: number } = {}): Promise<void> {
    if ((options.delayMs ?? 0) > 0) {
      throw new RangeError(
        'A FIFO queue delays no single message: queue a delayed job on the delivery queue',
      );
    }
    const notBefore = (this.options.now?.() ?? new Date()).toISOString();
    const entries = jobs.map((job) => ({
      MessageBody: deliveryJobMessage(job, notBefore),
      MessageGroupId: job.orderKey,
      MessageDeduplicationId: orderedJobDeduplicationId(job),
    }));
    // In one call, a group's messages keep the order of the entries.
    await sendJobEntries(this.client, this.queueUrl, entries, { keepOrder: true });
  }
}
