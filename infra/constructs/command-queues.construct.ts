// One FIFO command queue per shard: the API sends a channel's commands to its shard's queue with the
// channel as message group, and the runner that leases the shard consumes it in per-channel order.
import { Duration, Fn } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { RuntimeConsumer } from '../runtime-environment.ts';
import { SecureQueue } from './secure-queue.construct.ts';

export interface CommandQueuesProps {
  readonly shardCount: number;
}

/**
 * How long a received command stays hidden. The runner receives with this timeout and extends the
 * commands it holds every third of it (a send waits for WhatsApp's ack, a video upload longer), so
 * it bounds only how soon a crashed runner's commands come back.
 */
export const COMMAND_VISIBILITY_TIMEOUT = Duration.seconds(30);

/**
 * A runner retries a failing command itself until its deadline, so a receive count rises only when
 * a runner lets a command go without an answer: a hand-over (a deploy) or a crash — and a hand-over
 * raises it for every command the runner held, the ones waiting behind a failing one included. Ten
 * lets a channel offline through several deploys keep its sends; a command that crashes runners
 * still reaches the DLQ after ten of them.
 */
export const COMMAND_MAX_RECEIVE_COUNT = 10;

export class CommandQueues extends Construct {
  readonly shards: readonly SecureQueue[];

  constructor(scope: Construct, id: string, props: CommandQueuesProps) {
    super(scope, id);
    if (!Number.isInteger(props.shardCount) || props.shardCount < 1 || props.shardCount > 1024) {
      throw new Error(`shardCount must be an integer from 1 to 1024, got ${props.shardCount}`);
    }
    this.shards = Array.from(
      { length: props.shardCount },
      (_, shard) =>
        new SecureQueue(this, `Shard${shard}`, {
          fifo: true,
          visibilityTimeout: COMMAND_VISIBILITY_TIMEOUT,
          maxReceiveCount: COMMAND_MAX_RECEIVE_COUNT,
        }),
    );
  }

  get shardCount(): number {
    return this.shards.length;
  }

  /** Comma-separated, index = shard: the form of `COMMAND_QUEUE_URLS`. */
  get queueUrls(): string {
    return Fn.join(
      ',',
      this.shards.map((shard) => shard.queueUrl),
    );
  }

  bindSend(consumer: RuntimeConsumer): void {
    for (const shard of this.shards) shard.queue.grantSendMessages(consumer);
    this.setEnvironment(consumer);
  }

  /** The shard queues only: a runner never needs the DLQs (SQS moves poison commands there itself). */
  bindConsume(consumer: RuntimeConsumer): void {
    for (const shard of this.shards) shard.grantConsume(consumer);
    this.setEnvironment(consumer);
  }

  private setEnvironment(consumer: RuntimeConsumer): void {
    consumer.addEnvironment('COMMAND_QUEUE_URLS', this.queueUrls);
    consumer.addEnvironment('SHARD_COUNT', String(this.shardCount));
  }
}
