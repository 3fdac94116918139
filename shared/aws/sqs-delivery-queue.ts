import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { z } from 'zod';
import type { DeliveryJob, DeliveryQueue } from '../ports.ts';

// Deliveries to try, on the dispatcher's standard queue (`WEBHOOK_DELIVERY_QUEUE_URL`). SQS delays a
// message 15 minutes at most: a job due later is delayed that long and carries its due time,
// `notBefore`, for the dispatcher to send it on again until then (infra/constructs/
// webhook-deliveries.construct.ts). The message is JSON the dispatcher parses with
// `parseDeliveryJobMessage`, so the two ends read one shape.

/** The longest delay SQS gives a message. */
export const MAX_SQS_DELAY_SECONDS = 900;
/** Entries of one SendMessageBatch call. */
const BATCH_SIZE = 10;
/** Sends of entries SQS refused (throttled, say) before `enqueue` fails. */
const MAX_SEND_ROUNDS = 3;

export const deliveryJobMessageSchema = z.object({
  tenantId: z.string().min(1),
  webhookId: z.string().min(1),
  deliveryId: z.string().min(1),
  orderKey: z.string().min(1),
  /** The delivery's tries when the job was queued: a job its delivery has moved past is stale. */
  attemptCount: z.number().int().min(0),
  /** The delivery's round when the job was queued (0 in messages queued before rounds were kept). */
  generation: z.number().int().min(0).default(0),
  /** The delivery's next try when the job was queued (ISO-8601). */
  dueAt: z.iso.datetime(),
  /** When the try is due (ISO-8601): a receiver before then sends the job on, delayed again. */
  notBefore: z.iso.datetime(),
});

export type DeliveryJobMessage = z.output<typeof deliveryJobMessageSchema>;

/** A message of the queue as the dispatcher reads it; throws (a zod error) on anything else. */
export function parseDeliveryJobMessage(body: string): DeliveryJobMessage {
  return deliveryJobMessageSchema.parse(JSON.parse(body));
}

/** The message of a job (this queue's and the ordered FIFO queue's: one shape for both). */
export function deliveryJobMessage(job: DeliveryJob, notBefore: string): string {
  return JSON.stringify({
    tenantId: job.tenantId,
    webhookId: job.webhookId,
    deliveryId: job.deliveryId,
    orderKey: job.orderKey,
    attemptCount: job.attemptCount,
    generation: job.generation,
    dueAt: job.dueAt,
    notBefore,
  } satisfies DeliveryJobMessage);
}

export class SqsDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly options: { readonly now?: () => Date } = {},
  ) {}

  async enqueue(jobs: readonly DeliveryJob[], options: { delayMs?: number } = {}): Promise<void> {
    const delayMs = Math.max(0, options.delayMs ?? 0);
    const notBefore = new Date((this.options.now?.() ?? new Date()).getTime() + delayMs).toISOString();
    const delaySeconds = Math.min(MAX_SQS_DELAY_SECONDS, Math.ceil(delayMs / 1000));
    const entries = jobs.map(
      (job): Omit<SendMessageBatchRequestEntry, 'Id'> => ({
        MessageBody: deliveryJobMessage(job, notBefore),
        ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
      }),
    );
    await sendJobEntries(this.client, this.queueUrl, entries, { keepOrder: false });
  }
}

/**
 * Sends delivery jobs in batches of ten, again for the entries SQS refused; fails naming them if
 * they keep failing. With `keepOrder` (a FIFO queue) everything after a batch's first failure goes
 * again too: a retried entry sent after a later one of its group would break the group's order.
 */
export async function sendJobEntries(
  client: SQSClient,
  queueUrl: string,
  entries: readonly Omit<SendMessageBatchRequestEntry, 'Id'>[],
  { keepOrder }: { keepOrder: boolean },
): Promise<void> {
  for (let start = 0; start < entries.length; start += BATCH_SIZE) {
    let pending = entries
      .slice(start, start + BATCH_SIZE)
      .map((entry, index): SendMessageBatchRequestEntry => ({ ...entry, Id: String(index) }));
    for (let round = 1; ; round++) {
      const result = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
      const failures = result.Failed ?? [];
      if (failures.length === 0) break;
      if (failures.some((failure) => failure.SenderFault) || round >= MAX_SEND_ROUNDS) {
        const reasons = failures.map((failure) => `${failure.Code}: ${failure.Message}`);
        throw new Error(`SQS did not take ${failures.length} delivery job(s): ${reasons.join('; ')}`);
      }
      const failed = new Set(failures.map((failure) => failure.Id));
      pending = keepOrder
        ? pending.slice(pending.findIndex((entry) => failed.has(entry.Id)))
        : pending.filter((entry) => failed.has(entry.Id));
    }
  }
}
