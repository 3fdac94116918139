// The webhook dispatcher's own work queue: one message per delivery to try (`DeliveryJob`), sent by
// the API (a test, a redelivery, a recovery) and by the dispatcher itself (an event's deliveries,
// the next try of a failed one). Standard, not FIFO: a FIFO queue holds a whole message group behind
// a delayed message and caps a message's delay per queue; deliveries are ordered by the dispatcher
// where it matters (`orderKey`), and a duplicate is harmless (receivers deduplicate by `webhook-id`).
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

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.queue = new SecureQueue(this, 'Jobs', {
      fifo: false,
      visibilityTimeout: WEBHOOK_DELIVERY_VISIBILITY_TIMEOUT,
    });
  }

  get queueUrl(): string {
    return this.queue.queueUrl;
  }

  /** What enqueuing deliveries takes: the API's webhooks function. */
  bindSend(consumer: RuntimeConsumer): void {
    this.queue.queue.grantSendMessages(consumer);
    consumer.addEnvironment('WEBHOOK_DELIVERY_QUEUE_URL', this.queueUrl);
  }

  /** The dispatcher: it consumes the queue, sends the next tries to it, and inspects its DLQ. */
  bindConsume(consumer: RuntimeConsumer): void {
    this.queue.grantConsume(consumer);
    this.queue.queue.grantSendMessages(consumer);
    this.queue.grantConsumeDeadLetters(consumer);
    consumer.addEnvironment('WEBHOOK_DELIVERY_QUEUE_URL', this.queueUrl);
  }
}
