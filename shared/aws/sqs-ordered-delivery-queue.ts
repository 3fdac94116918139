import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeliveryJob, DeliveryQueue } from '../ports.ts';
import { deliveryJobMessage } from './sqs-delivery-queue.ts';

// First tries of deliveries, in order: the dispatcher's FIFO queue (`WEBHOOK_ORDERED_QUEUE_URL`),
// one message group per webhook and channel (`orderKey`), so a healthy receiver gets a channel's
// events in the order they happened while other groups go on beside it. FIFO queues cannot delay
// one message: retries and waits go to the standard delivery queue instead, so a failing delivery
// never holds its group (docs/architecture.md, "Webhooks").

const BATCH_SIZE = 10;
const MAX_SEND_ROUNDS = 3;

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
    for (let start = 0; start < jobs.length; start += BATCH_SIZE) {
      // In one call, a group's messages keep the order of the entries.
      const entries = jobs.slice(start, start + BATCH_SIZE).map(
        (job, index): SendMessageBatchRequestEntry => ({
          Id: String(index),
          MessageBody: deliveryJobMessage(job, notBefore),
          MessageGroupId: job.orderKey,
          MessageDeduplicationId: orderedJobDeduplicationId(job),
        }),
      );
      await this.sendBatch(entries);
    }
  }

  private async sendBatch(entries: SendMessageBatchRequestEntry[]): Promise<void> {
    let pending = entries;
    for (let round = 1; ; round++) {
      const result = await this.client.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }),
      );
      const failed = new Set((result.Failed ?? []).map((failure) => failure.Id));
      if (failed.size === 0) return;
      if ((result.Failed ?? []).some((failure) => failure.SenderFault) || round >= MAX_SEND_ROUNDS) {
        const reasons = (result.Failed ?? []).map((failure) => `${failure.Code}: ${failure.Message}`);
        throw new Error(`SQS did not take ${failed.size} delivery job(s): ${reasons.join('; ')}`);
      }
      // Only what failed goes again; a retried entry after a later one of its group would break
      // the group's order, so everything after the first failure goes again too.
      const first = pending.findIndex((entry) => failed.has(entry.Id));
      pending = pending.slice(first);
    }
  }
}
