// The webhook dispatcher's own work queues, one message per delivery to try (`DeliveryJob`):
//
// - `Jobs`, standard: sent by the API (a test, a redelivery, a recovery) and by the dispatcher (the
//   next try of a failed delivery, a wait longer than SQS's delay). Not FIFO: a FIFO queue holds a
//   whole message group behind a failing message and delays no single message.
// - `Ordered`, FIFO: an event's first tries, from the fan-out, one message group per webhook and
//   channel (`orderKey`), so a healthy receiver gets each channel's events in the order the fan-out
//   queued them — its channel's order, which the fan-out keeps (docs/architecture.md, "Order.") —
//   while other groups go on beside it. No delay: a first try can be received at once. A failed try
//   moves to `Jobs`, so no failing delivery holds its group.
//
// A duplicate is harmless: a job names a delivery and the try it is for (`attemptCount`), and
// receivers deduplicate by `webhook-id` anyway (docs/architecture.md, "Webhooks").
//
// SQS delays a message 15 minutes at most. A later try carries its due time in the message and the
// dispatcher sends it again until then (a new message each time, never a longer visibility timeout:
// every receive counts towards the redrive to the DLQ).
import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { RuntimeConsumer } from '../runtime-environment.ts';
import { SecureQueue } from './secure-queue.construct.ts';

/** A batch of signed POSTs to slow clinic servers, each with its own 15 s timeout. */
export const WEBHOOK_DELIVERY_VISIBILITY_TIMEOUT = Duration.seconds(180);

export class WebhookDeliveries extends Construct {
  readonly queue: SecureQueue;
  readonly ordered: SecureQueue;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.queue = new SecureQueue(this, 'Jobs', {
      fifo: false,
      visibilityTimeout: WEBHOOK_DELIVERY_VISIBILITY_TIMEOUT,
    });
    this.ordered = new SecureQueue(this, 'Ordered', {
      fifo: true,
      visibilityTimeout: WEBHOOK_DELIVERY_VISIBILITY_TIMEOUT,
    });
  }

  get queueUrl(): string {
    return this.queue.queueUrl;
  }

  get orderedQueueUrl(): string {
    return this.ordered.queueUrl;
  }

  /** What enqueuing deliveries takes: the API's webhooks function. */
  bindSend(consumer: RuntimeConsumer): void {
    this.queue.queue.grantSendMessages(consumer);
    consumer.addEnvironment('WEBHOOK_DELIVERY_QUEUE_URL', this.queueUrl);
  }

  /** The dispatcher's delivery worker: it consumes both queues, sends the next tries to `Jobs`, and inspects the DLQs. */
  bindConsume(consumer: RuntimeConsumer): void {
    for (const queue of [this.queue, this.ordered]) {
      queue.grantConsume(consumer);
      queue.grantConsumeDeadLetters(consumer);
    }
    this.queue.queue.grantSendMessages(consumer);
    consumer.addEnvironment('WEBHOOK_DELIVERY_QUEUE_URL', this.queueUrl);
    consumer.addEnvironment('WEBHOOK_ORDERED_QUEUE_URL', this.orderedQueueUrl);
  }

  /** The dispatcher's fan-out: it queues first tries, in order. */
  bindSendOrdered(consumer: RuntimeConsumer): void {
    this.ordered.queue.grantSendMessages(consumer);
    consumer.addEnvironment('WEBHOOK_ORDERED_QUEUE_URL', this.orderedQueueUrl);
  }
}
