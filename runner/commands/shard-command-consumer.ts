import {
  ChangeMessageVisibilityBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type ChannelCommand, channelCommandSchema } from '#shared/domain/commands.ts';
import { DeleteBatcher } from './delete-batcher.ts';

/** Short enough that a crashed runner's commands come back soon; in-hand ones are extended. */
export const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;
/** Deletes wait this long for company at most; a group's go when the group is done. */
const DELETE_LINGER_MS = 1_000;

/**
 * Carries out one command; resolves when it is done, throws to have it retried. It may call
 * `mayContinue` earlier, once the channel's next command can start (a send: its stanza is written,
 * the server's ack still to come); otherwise the next one starts when this one is done.
 */
export type CommandHandler = (command: ChannelCommand, mayContinue: () => void) => Promise<void>;

export interface ShardCommandConsumerOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** Resolves when the command is done (for a send: acked by WhatsApp and recorded); throws to retry. */
  readonly handle: CommandHandler;
  readonly waitTimeSeconds?: number;
  /**
   * How long a received command stays hidden from other consumers. Commands in hand are extended by
   * this much every third of it, so a long send (a large video) is never handed out twice, while a
   * crashed runner's commands reappear this soon after its last extension.
   */
  readonly visibilityTimeoutSeconds?: number;
  /** Groups (channels) handled at once; within a group, commands start in order (see CommandHandler). */
  readonly maxInFlight?: number;
  /** Seconds before a failed command is seen again (doubling with each receive, capped). */
  readonly retryDelaySeconds?: number;
  readonly onError?: (error: unknown, context: { messageId?: string; receiveCount: number }) => void;
}

/**
 * Polls one shard's FIFO queue. SQS hands out a message group only when none of its messages is in
 * flight, so one channel's commands arrive in order, in one batch at a time; they start in that
 * order (a send letting the next start once its stanza is written), and different channels run
 * side by side up to `maxInFlight`. A message is deleted only after its handler resolved. A failed
 * or malformed command becomes visible again after a backoff and, after the queue's
 * maxReceiveCount, moves to the dead-letter queue, which keeps the channel's later commands waiting
 * behind it as FIFO order demands.
 */
export class ShardCommandConsumer {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** Receipt handles of the messages received and not yet deleted or given back. */
  private readonly inHand = new Set<string>();
  private readonly deletes: DeleteBatcher;
  private extender: NodeJS.Timeout | undefined;

  constructor(private readonly options: ShardCommandConsumerOptions) {
    this.deletes = new DeleteBatcher(options.client, options.queueUrl, DELETE_LINGER_MS);
  }

  private get visibilityTimeoutSeconds(): number {
    return this.options.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_TIMEOUT_SECONDS;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.poll();
    this.extender = setInterval(
      () => void this.extendVisibility(),
      (this.visibilityTimeoutSeconds * 1000) / 3,
    );
    this.extender.unref();
  }

  /**
   * Stops receiving, lets the commands in hand finish and deletes the finished ones. The long poll in
   * progress is not aborted: SQS would still hand its messages to the abandoned request, hiding them
   * from the next owner for a whole visibility timeout. It ends within `waitTimeSeconds`, and what it
   * brings is made visible again at once.
   */
  async stop(): Promise<void> {
    await this.drain();
    await this.loop;
    await this.deletes.flush();
    clearInterval(this.extender);
  }

  /**
   * Stops taking commands and resolves once those in hand are done and deleted, without waiting for
   * the long poll still out: the sessions can close and the lease go now, and `stop()` waits for the
   * poll (whose messages are released at once) before the process may exit.
   */
  async drain(): Promise<void> {
    this.running = false;
    await Promise.allSettled(this.inFlight);
    await this.deletes.flush();
  }

  private async extendVisibility(): Promise<void> {
    const handles = [...this.inHand];
    for (let i = 0; i < handles.length; i += 10) {
      const batch = handles.slice(i, i + 10);
      await this.options.client
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: batch.map((handle, j) => ({
              Id: String(j),
              ReceiptHandle: handle,
              VisibilityTimeout: this.visibilityTimeoutSeconds,
            })),
          }),
        )
        // A handle done meanwhile is refused; the others were extended.
        .catch((error) => this.options.onError?.(error, { receiveCount: 0 }));
    }
  }

  private async poll(): Promise<void> {
    const maxInFlight = this.options.maxInFlight ?? 50;
    while (this.running) {
      if (this.inFlight.size >= maxInFlight) {
        await Promise.race(this.inFlight);
        continue;
      }
      let messages: Message[];
      try {
        const result = await this.options.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.options.queueUrl,
            MaxNumberOfMessages: Math.min(10, maxInFlight - this.inFlight.size),
            WaitTimeSeconds: this.options.waitTimeSeconds ?? 20,
            VisibilityTimeout: this.visibilityTimeoutSeconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
          }),
        );
        messages = result.Messages ?? [];
        for (const message of messages) this.inHand.add(message.ReceiptHandle ?? '');
        if (!this.running) {
          await this.releaseUnhandled(messages);
          return;
        }
      } catch (error) {
        if (!this.running) return;
        this.options.onError?.(error, { receiveCount: 0 });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      for (const group of groupInOrder(messages)) this.track(this.handleGroup(group));
    }
  }

  private async releaseUnhandled(messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    for (const message of messages) this.inHand.delete(message.ReceiptHandle ?? '');
    await this.options.client
      .send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: messages.map((message, i) => ({
            Id: String(i),
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      )
      .catch((error) => this.options.onError?.(error, { receiveCount: 0 }));
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /**
   * A group's commands start in order, each once the one before let it (a send: its stanza written),
   * so a channel's sends leave in order without each waiting for the server's ack of the one
   * before. After a failure no further command starts; those that did are waited for, and the
   * failed one and every one not done wait for their redelivery, in order. Deletes gather while
   * the group runs and go when it ends: SQS hands out none of the group's later messages while one
   * is undeleted.
   */
  private async handleGroup(group: Message[]): Promise<void> {
    try {
      await this.runInOrder(group);
    } finally {
      void this.deletes.flush();
    }
  }

  private async runInOrder(group: Message[]): Promise<void> {
    const started: { message: Message; done: Promise<boolean> }[] = [];
    let stop: () => void = () => undefined;
    const stopped = new Promise<false>((resolve) => {
      stop = () => resolve(false);
    });
    for (const message of group) {
      let mayContinue: () => void = () => undefined;
      const continued = new Promise<true>((resolve) => {
        mayContinue = () => resolve(true);
      });
      const done = this.carryOut(message, mayContinue).then((ok) => {
        if (!ok) stop();
        return ok;
      });
      started.push({ message, done });
      // The next command starts when this one lets it or ends; any failure stops the group.
      if (!(await Promise.race([continued, done, stopped]))) break;
    }
    const outcomes = await Promise.all(started.map(({ done }) => done));
    const firstFailed = outcomes.indexOf(false);
    if (firstFailed === -1) return;
    const unfinished = group.filter((_, i) => i >= started.length || outcomes[i] === false);
    const receiveCount = receiveCountOf(group[firstFailed] as Message);
    await this.retryLater(unfinished, receiveCount);
  }

  /** True once the command is done and its delete asked for; false when it failed (reported). */
  private async carryOut(message: Message, mayContinue: () => void): Promise<boolean> {
    const receiveCount = receiveCountOf(message);
    try {
      const command = channelCommandSchema.parse(JSON.parse(message.Body ?? ''));
      await this.options.handle(command, mayContinue);
    } catch (error) {
      this.options.onError?.(error, {
        ...(message.MessageId ? { messageId: message.MessageId } : {}),
        receiveCount,
      });
      return false;
    }
    this.inHand.delete(message.ReceiptHandle ?? '');
    // A delete that fails brings the command back, which a redelivery handles as done already.
    this.deletes
      .delete(message.ReceiptHandle ?? '')
      .catch((error) => this.options.onError?.(error, { receiveCount }));
    return true;
  }

  /** Gives messages back for a later retry, in one call and in order: the earlier is seen first. */
  private async retryLater(messages: Message[], receiveCount: number): Promise<void> {
    for (const message of messages) this.inHand.delete(message.ReceiptHandle ?? '');
    const base = this.options.retryDelaySeconds ?? 2;
    const delay = Math.min(base * 2 ** (receiveCount - 1), 300);
    await this.options.client
      .send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: messages.map((message, i) => ({
            Id: String(i),
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: delay,
          })),
        }),
      )
      .catch((error) => this.options.onError?.(error, { receiveCount }));
  }
}

function receiveCountOf(message: Message): number {
  return Number(message.Attributes?.ApproximateReceiveCount ?? '1');
}

function groupInOrder(messages: Message[]): Message[][] {
  const groups = new Map<string, Message[]>();
  for (const message of messages) {
    const group = message.Attributes?.MessageGroupId ?? message.MessageId ?? '';
    groups.set(group, [...(groups.get(group) ?? []), message]);
  }
  return [...groups.values()];
}
