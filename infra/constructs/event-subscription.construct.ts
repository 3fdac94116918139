// A consumer's subscription to platform events: rules on the bus delivering to the consumer's own
// standard queues. Standard, not FIFO: consumers deduplicate by event id anyway, and EventBridge's
// FIFO targets need a message group and dedup settings that emulators get wrong (moto drops them).
//
// Every event but the pairing secrets goes to a durable queue with two dead-letter queues, for two
// different failures: the rule target's (EventBridge could not deliver, e.g. a policy or quota
// problem) and the queue's redrive (the consumer kept failing), both kept 14 days for replay. A QR or
// pairing code must not outlive its minute or three (docs/infra.md, "Pairing secrets"), so those take
// a route of their own: a queue with SQS's shortest retention and no redrive, and a rule target with
// no dead-letter queue that stops retrying after the same minute. What is not consumed in time is
// gone, which is the point: the clinic asks for a new one.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type EventBus, Match, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PAIRING_SECRET_EVENTS } from '#shared/domain/events.ts';
import type { RuntimeConsumer, RuntimeEnvironmentKey } from '../runtime-environment.ts';
import { deadLetterAlarm, SecureQueue } from './secure-queue.construct.ts';

/** The shortest retention SQS allows, and no longer than a first QR is valid. */
const PAIRING_SECRET_RETENTION = Duration.seconds(60);
/** A delivery that failed is tried again within the minute: a later QR lives 20 s. */
const PAIRING_SECRET_VISIBILITY_TIMEOUT = Duration.seconds(20);

export interface EventSubscriptionProps {
  readonly bus: EventBus;
  /** The event sources the consumer gets every event of. */
  readonly sources: readonly string[];
  readonly description: string;
  readonly visibilityTimeout: Duration;
  /** Receives of an event before it goes to the event queue's DLQ (default `MAX_RECEIVE_COUNT`). */
  readonly maxReceiveCount?: number;
  /** The variables that carry the queues' URLs to the consumer: all events but pairing secrets, and those. */
  readonly environmentKey: RuntimeEnvironmentKey;
  readonly pairingSecretsEnvironmentKey: RuntimeEnvironmentKey;
}

export class EventSubscription extends Construct {
  readonly queue: SecureQueue;
  readonly undeliveredQueue: Queue;
  readonly rule: Rule;
  readonly pairingSecretsQueue: Queue;
  readonly pairingSecretsRule: Rule;
  readonly environmentKey: RuntimeEnvironmentKey;
  readonly pairingSecretsEnvironmentKey: RuntimeEnvironmentKey;

  constructor(scope: Construct, id: string, props: EventSubscriptionProps) {
    super(scope, id);
    this.environmentKey = props.environmentKey;
    this.pairingSecretsEnvironmentKey = props.pairingSecretsEnvironmentKey;
    const source = [...props.sources];

    this.queue = new SecureQueue(this, 'Events', {
      fifo: false,
      visibilityTimeout: props.visibilityTimeout,
      ...(props.maxReceiveCount ? { maxReceiveCount: props.maxReceiveCount } : {}),
    });
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
    deadLetterAlarm(this, this.undeliveredQueue, 'EventBridge could not deliver');
    this.rule = new Rule(this, 'Rule', {
      eventBus: props.bus,
      description: props.description,
      eventPattern: { source, detailType: Match.anythingBut(...PAIRING_SECRET_EVENTS) },
      targets: [new SqsQueue(this.queue.queue, { deadLetterQueue: this.undeliveredQueue })],
    });

    this.pairingSecretsQueue = new Queue(this, 'PairingSecrets', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: PAIRING_SECRET_RETENTION,
      visibilityTimeout: PAIRING_SECRET_VISIBILITY_TIMEOUT,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.pairingSecretsQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'QR and pairing codes are secrets valid for a minute or three: a dead-letter queue would keep them ' +
        'for days. An event not consumed in time expires with the queue’s 60 s retention.',
    });
    this.pairingSecretsRule = new Rule(this, 'PairingSecretsRule', {
      eventBus: props.bus,
      description: `${props.description}: QR and pairing codes only, kept no longer than they are valid`,
      eventPattern: { source, detailType: [...PAIRING_SECRET_EVENTS] },
      // No dead-letter queue, and no retrying past the queue's retention (EventBridge's default: a day).
      targets: [new SqsQueue(this.pairingSecretsQueue, { maxEventAge: PAIRING_SECRET_RETENTION })],
    });
  }

  get queueUrl(): string {
    return this.queue.queueUrl;
  }

  get pairingSecretsQueueUrl(): string {
    return this.pairingSecretsQueue.queueUrl;
  }

  /** Both queues and the DLQ: the consumer is also what inspects and replays its failures. */
  bindConsume(consumer: RuntimeConsumer): void {
    this.queue.grantConsume(consumer);
    this.queue.grantConsumeDeadLetters(consumer);
    this.pairingSecretsQueue.grantConsumeMessages(consumer);
    consumer.addEnvironment(this.environmentKey, this.queueUrl);
    consumer.addEnvironment(this.pairingSecretsEnvironmentKey, this.pairingSecretsQueueUrl);
  }
}
