// An SQS queue with its dead-letter queue and the platform's defaults: SQS-managed encryption,
// TLS-only access, a redrive after a few failed receives, and a DLQ that keeps messages 14 days
// (SQS's maximum) so they can be inspected and replayed (`npm run dead-letters`), with an alarm
// as soon as one arrives: nothing sits there unseen.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { type Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export const MAX_RECEIVE_COUNT = 5;

export interface SecureQueueProps {
  /** FIFO with high throughput (deduplication and quota per message group). */
  readonly fifo: boolean;
  /** How long a receiver has before the message becomes visible again. */
  readonly visibilityTimeout: Duration;
  /** Receives before a message moves to the DLQ (default MAX_RECEIVE_COUNT). */
  readonly maxReceiveCount?: number;
}

export class SecureQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: SecureQueueProps) {
    super(scope, id);
    // Queued commands and events are data too: a stack change must not drop them.
    const secure = {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    } as const;
    const fifo = props.fifo
      ? {
          fifo: true,
          deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
          fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
        }
      : {};
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...secure,
      ...fifo,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Queue', {
      ...secure,
      ...fifo,
      visibilityTimeout: props.visibilityTimeout,
      deadLetterQueue: {
        queue: this.deadLetterQueue,
        maxReceiveCount: props.maxReceiveCount ?? MAX_RECEIVE_COUNT,
      },
    });
    this.deadLetterAlarm = deadLetterAlarm(this, this.deadLetterQueue, 'kept failing');
  }

  get queueUrl(): string {
    return this.queue.queueUrl;
  }

  /** Receive, delete, change visibility: what the queue's consumer needs. */
  grantConsume(grantee: IGrantable): void {
    this.queue.grantConsumeMessages(grantee);
  }

  /** The same on the DLQ, for inspection and replay tools. */
  grantConsumeDeadLetters(grantee: IGrantable): void {
    this.deadLetterQueue.grantConsumeMessages(grantee);
  }
}

/**
 * In alarm while any message waits in `deadLetters`: a dead letter is a failure someone must look at
 * (replay it with `npm run dead-letters` once the cause is fixed, or discard it).
 */
export function deadLetterAlarm(scope: Construct, deadLetters: Queue, why: string): Alarm {
  return deadLetters
    .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' })
    .createAlarm(scope, 'DeadLettersAlarm', {
      alarmDescription: `Messages ${why} and wait in a dead-letter queue: inspect, then replay or discard them (docs/infra.md, Dead letters)`,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
}
