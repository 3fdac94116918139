// A consumer's subscription to platform events: a rule on the bus delivering to the consumer's own
// standard queue. Standard, not FIFO: consumers deduplicate by event id anyway, and EventBridge's
// FIFO targets need a message group and dedup settings that emulators get wrong (moto drops them).
// Two dead-letter queues, for two different failures: the rule target's (EventBridge could not
// deliver, e.g. a policy or quota problem) and the queue's redrive (the consumer kept failing).
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type EventBus, type EventPattern, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { RuntimeConsumer, RuntimeEnvironmentKey } from '../runtime-environment.ts';
import { SecureQueue } from './secure-queue.construct.ts';

export interface EventSubscriptionProps {
  readonly bus: EventBus;
  readonly eventPattern: EventPattern;
  readonly description: string;
  readonly visibilityTimeout: Duration;
  /** The variable that carries the queue's URL to the consumer. */
  readonly environmentKey: RuntimeEnvironmentKey;
}

export class EventSubscription extends Construct {
  readonly queue: SecureQueue;
  readonly undeliveredQueue: Queue;
  readonly rule: Rule;
  readonly environmentKey: RuntimeEnvironmentKey;

  constructor(scope: Construct, id: string, props: EventSubscriptionProps) {
    super(scope, id);
    this.environmentKey = props.environmentKey;
    this.queue = new SecureQueue(this, 'Events', { fifo: false, visibilityTimeout: props.visibilityTimeout });
    this.undeliveredQueue = new Queue(this, 'UndeliveredEvents', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.undeliveredQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter queue: the EventBridge rule target’s, for undeliverable events.',
    });
    this.rule = new Rule(this, 'Rule', {
      eventBus: props.bus,
      description: props.description,
      eventPattern: props.eventPattern,
      targets: [new SqsQueue(this.queue.queue, { deadLetterQueue: this.undeliveredQueue })],
    });
  }

  get queueUrl(): string {
    return this.queue.queueUrl;
  }

  /** The queue and its DLQ: the consumer is also what inspects and replays its failures. */
  bindConsume(consumer: RuntimeConsumer): void {
    this.queue.grantConsume(consumer);
    this.queue.grantConsumeDeadLetters(consumer);
    consumer.addEnvironment(this.environmentKey, this.queueUrl);
  }
}
