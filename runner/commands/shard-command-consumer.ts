import {
  ChangeMessageVisibilityBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  type ChannelCommand,
  channelCommandSchema,
  commandDeadline,
  DEFAULT_COMMAND_TTL_MS,
} from '#shared/domain/commands.ts';
import { backoffDelay } from '../sessions/backoff.ts';
import { DeleteBatcher } from './delete-batcher.ts';

/** Short enough that a crashed runner's commands come back soon; in-hand ones are extended. */
export const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;
/** Deletes wait this long for company at most; a group's go when the group is done. */
const DELETE_LINGER_MS = 1_000;
/**
 * SQS refuses to keep a message hidden longer than 12 hours after it was received: a group failing
 * this long is given back (it returns with its receive count one higher) rather than lost track of.
 */
const MAX_HOLD_MS = 11 * 3600_000;

/**
 * Carries out one command; resolves when it is done, throws when it may succeed later (it is then
 * tried again). It may call `mayContinue` earlier, once the channel's next command can start (a
 * send: its stanza is written, the server's ack still to come); otherwise the next one starts when
 * this one is done. A command that can never succeed is answered by the handler and resolves.
 */
export type CommandHandler = (command: ChannelCommand, mayContinue: () => void) => Promise<void>;

/** Where a message that is not a valid command came from; never its content. */
export interface MalformedCommand {
  readonly body: string;
  readonly messageId: string;
  readonly groupId: string;
  readonly problem: unknown;
}

export interface ShardCommandConsumerOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** Resolves when the command is done (for a send: acked by WhatsApp and recorded); throws to retry. */
  readonly handle: CommandHandler;
  /** Answers a message that is not a valid command (it is deleted once this resolves; retried if it throws). */
  readonly refuseMalformed?: (malformed: MalformedCommand) => Promise<void>;
  /** Answers a command whose deadline passed, before or while retrying (then deleted, like a done one). */
  readonly expire?: (command: ChannelCommand, lastError: unknown) => Promise<void>;
  readonly waitTimeSeconds?: number;
  /**
   * How long a received command stays hidden from other consumers. Commands in hand are extended by
   * this much every third of it, so a long send (a large video) or a command waiting to be retried is
   * never handed out twice, while a crashed runner's commands reappear this soon after its last
   * extension.
   */
  readonly visibilityTimeoutSeconds?: number;
  /** Groups (channels) worked on at once; within a group, commands start in order (see CommandHandler). */
  readonly maxInFlight?: number;
  /** Groups held at once, counting those waiting to retry a failed command. */
  readonly maxHeld?: number;
  /** First wait before a failed command is tried again; it doubles each time (full jitter), capped. */
  readonly retryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  readonly now?: () => number;
  readonly onError?: (error: unknown, context: { messageId?: string; receiveCount: number }) => void;
}

type Outcome = 'done' | 'failed' | 'not_started';

/**
 * Polls one shard's FIFO queue. SQS hands out a message group only when none of its messages is in
 * flight, so one channel's commands arrive in order, in one batch at a time; they start in that
 * order (a send letting the next start once its stanza is written), and different channels run
 * side by side up to `maxInFlight`. A message is deleted only after its handler resolved.
 *
 * A command that fails is tried again by this consumer, with backoff, while the commands behind it
 * in its group wait in hand (hidden, their receive count unchanged) — never the whole batch given
 * back to climb to the dead-letter queue together. It is retried until it succeeds or its deadline
 * passes (`expire`); only a hand-over or a crash returns the group to the queue, and only a
 * command that keeps crashing runners reaches the DLQ. A message that is not a valid command is
 * answered (`refuseMalformed`) and deleted at once.
 */
export class ShardCommandConsumer {
  private running = false;
  /** The shard's lease is gone: nothing more is deleted, everything in hand went back. */
  private abandoned = false;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** Groups waiting out a retry delay: held, but not working. */
  private waiting = 0;
  /** Why each message in hand last failed, for the one that expires before its next try. */
  private readonly lastErrors = new WeakMap<Message, unknown>();
  /** Handles given back when the shard was abandoned: never given back (or extended) again. */
  private readonly givenBack = new Set<string>();
  /**
   * Visibility calls (extensions, give-backs) one after another: an extension sent before a
   * give-back must not land after it and hide the message from the next owner again.
   */
  private visibilityCalls: Promise<void> = Promise.resolve();
  /** Receipt handles of the messages received and not yet deleted or given back. */
  private readonly inHand = new Set<string>();
  private readonly deletes: DeleteBatcher;
  private extender: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  /** Wakes whatever waits for a slot or a retry delay: a group ended or paused, or a drain began. */
  private wake: () => void = () => undefined;
  private woken = this.nextWake();

  constructor(private readonly options: ShardCommandConsumerOptions) {
    this.deletes = new DeleteBatcher(options.client, options.queueUrl, DELETE_LINGER_MS);
    this.now = options.now ?? Date.now;
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
   * Stops taking commands and resolves once those in hand are done and deleted (commands waiting to
   * be retried are given back at once), without waiting for the long poll still out: the sessions
   * can close and the lease go now, and `stop()` waits for the poll (whose messages are released at
   * once) before the process may exit.
   */
  async drain(): Promise<void> {
    this.running = false;
    this.wake();
    await Promise.allSettled(this.inFlight);
    await this.deletes.flush();
  }

  /**
   * The runner can no longer prove it holds the shard (its sockets are closed, so nothing in hand
   * can be sent from here): every command in hand goes back to the queue now, for the next owner,
   * without waiting for handlers that may hang on an unreachable DynamoDB; their outcome is ignored.
   */
  async abandon(): Promise<void> {
    this.running = false;
    this.abandoned = true;
    this.wake();
    clearInterval(this.extender);
    const handles = [...this.inHand];
    this.inHand.clear();
    for (const handle of handles) this.givenBack.add(handle);
    await this.giveBackHandles(handles, 0);
  }

  private nextWake(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = () => {
        resolve();
        this.woken = this.nextWake();
      };
    });
  }

  private extendVisibility(): Promise<void> {
    return this.inTurn(async () => {
      // Read when its turn comes: what was given back or done meanwhile is not extended.
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
    });
  }

  private inTurn(call: () => Promise<void>): Promise<void> {
    const turn = this.visibilityCalls.then(call, call);
    this.visibilityCalls = turn.catch(() => undefined);
    return turn;
  }

  private hasRoom(): boolean {
    const maxInFlight = this.options.maxInFlight ?? 50;
    const working = this.inFlight.size - this.waiting;
    return working < maxInFlight && this.inFlight.size < (this.options.maxHeld ?? maxInFlight * 4);
  }

  private async poll(): Promise<void> {
    const maxInFlight = this.options.maxInFlight ?? 50;
    while (this.running) {
      if (!this.hasRoom()) {
        await this.woken;
        continue;
      }
      let messages: Message[];
      try {
        const result = await this.options.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.options.queueUrl,
            MaxNumberOfMessages: Math.max(1, Math.min(10, maxInFlight - (this.inFlight.size - this.waiting))),
            WaitTimeSeconds: this.options.waitTimeSeconds ?? 20,
            VisibilityTimeout: this.visibilityTimeoutSeconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId', 'SentTimestamp'],
          }),
        );
        messages = result.Messages ?? [];
        for (const message of messages) this.inHand.add(message.ReceiptHandle ?? '');
        if (!this.running) {
          await this.giveBack(messages, 0);
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

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => {
      this.inFlight.delete(work);
      this.wake();
    });
  }

  /**
   * Works a group until every command is done: a failed one is tried again after a delay, the ones
   * behind it waiting in hand. Deletes gather while the group runs and go when it ends: SQS hands
   * out none of the group's later messages while one is undeleted.
   */
  private async handleGroup(group: Message[]): Promise<void> {
    const heldSince = this.now();
    let pending = group;
    try {
      for (let attempt = 0; pending.length > 0; attempt++) {
        const outcomes = await this.runInOrder(pending);
        pending = pending.filter((_, i) => outcomes[i] !== 'done');
        if (pending.length === 0 || !this.running) break;
        const delayMs = backoffDelay(attempt, {
          baseMs: this.options.retryDelayMs ?? 1_000,
          maxMs: this.options.maxRetryDelayMs ?? 30_000,
        });
        if (this.now() - heldSince + delayMs > MAX_HOLD_MS) {
          await this.giveBack(pending, Math.ceil(delayMs / 1000));
          return;
        }
        await this.pause(delayMs);
      }
      // Draining: what is left goes back at once, in order, for the shard's next owner.
      if (pending.length > 0) await this.giveBack(pending, 0);
    } finally {
      void this.deletes.flush();
    }
  }

  /** Waits `ms`, or less if a drain begins; the group does not count as working meanwhile. */
  private async pause(ms: number): Promise<void> {
    this.waiting++;
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    try {
      const elapsed = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      });
      while (this.running) {
        const done = await Promise.race([elapsed.then(() => true), this.woken.then(() => false)]);
        if (done) return;
      }
    } finally {
      clearTimeout(timer);
      this.waiting--;
    }
  }

  /**
   * Starts `group`'s commands in order, each once the one before let it (a send: its stanza
   * written), so a channel's sends leave in order without each waiting for the server's ack of the
   * one before. After a failure no further command starts; those that did are waited for.
   */
  private async runInOrder(group: Message[]): Promise<Outcome[]> {
    const started: Promise<boolean>[] = [];
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
      started.push(done);
      // The next command starts when this one lets it or ends; any failure stops the group.
      if (!(await Promise.race([continued, done, stopped]))) break;
    }
    const results = await Promise.all(started);
    return group.map((_, i) => (i >= results.length ? 'not_started' : results[i] ? 'done' : 'failed'));
  }

  /** True once the command is answered and its delete asked for; false when it is to be tried again. */
  private async carryOut(message: Message, mayContinue: () => void): Promise<boolean> {
    const receiveCount = receiveCountOf(message);
    const command = this.parse(message);
    try {
      if (!command.ok) {
        await this.options.refuseMalformed?.(command.malformed);
      } else if (this.now() >= deadlineOf(command.command, message)) {
        await this.options.expire?.(command.command, this.lastErrors.get(message));
      } else {
        await this.tryHandling(command.command, message, mayContinue);
      }
    } catch (error) {
      this.lastErrors.set(message, error);
      this.options.onError?.(error, {
        ...(message.MessageId ? { messageId: message.MessageId } : {}),
        receiveCount,
      });
      return false;
    }
    if (this.abandoned) return false;
    this.inHand.delete(message.ReceiptHandle ?? '');
    // A delete that fails brings the command back, which a redelivery handles as done already.
    this.deletes
      .delete(message.ReceiptHandle ?? '')
      .catch((error) => this.options.onError?.(error, { receiveCount }));
    return true;
  }

  /** Handles the command; when it fails past its deadline, it is expired instead of retried. */
  private async tryHandling(
    command: ChannelCommand,
    message: Message,
    mayContinue: () => void,
  ): Promise<void> {
    try {
      await this.options.handle(command, mayContinue);
    } catch (error) {
      if (this.now() < deadlineOf(command, message)) throw error;
      await this.options.expire?.(command, error);
    }
  }

  private parse(
    message: Message,
  ): { ok: true; command: ChannelCommand } | { ok: false; malformed: MalformedCommand } {
    const body = message.Body ?? '';
    try {
      const command = channelCommandSchema.parse(JSON.parse(body));
      // Its group is the channel's queue order: a command in another channel's group could hold
      // that channel's commands behind it.
      const group = message.Attributes?.MessageGroupId;
      if (group !== undefined && group !== command.channelId) throw new CommandGroupMismatch();
      return { ok: true, command };
    } catch (problem) {
      return {
        ok: false,
        malformed: {
          body,
          messageId: message.MessageId ?? '',
          groupId: message.Attributes?.MessageGroupId ?? '',
          problem,
        },
      };
    }
  }

  /** Gives messages back to the queue, in one call and in order: the earlier is seen first. */
  private async giveBack(messages: Message[], delaySeconds: number): Promise<void> {
    const handles = messages
      .map((message) => message.ReceiptHandle ?? '')
      .filter((handle) => !this.givenBack.has(handle));
    for (const handle of handles) this.inHand.delete(handle);
    await this.giveBackHandles(handles, delaySeconds);
  }

  private giveBackHandles(handles: string[], delaySeconds: number): Promise<void> {
    return this.inTurn(() => this.changeVisibility(handles, delaySeconds));
  }

  private async changeVisibility(handles: string[], delaySeconds: number): Promise<void> {
    for (let i = 0; i < handles.length; i += 10) {
      await this.options.client
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: handles.slice(i, i + 10).map((handle, j) => ({
              Id: String(j),
              ReceiptHandle: handle,
              VisibilityTimeout: delaySeconds,
            })),
          }),
        )
        .catch((error) => this.options.onError?.(error, { receiveCount: 0 }));
    }
  }
}

/** A command whose FIFO group is not its channel. */
export class CommandGroupMismatch extends Error {
  constructor() {
    super('The command’s message group is not its channel');
    this.name = 'CommandGroupMismatch';
  }
}

/**
 * When the command is given up: its own deadline, but never later than a day after SQS took it —
 * whatever `expiresAt` or `issuedAt` a sender wrote, a command cannot hold its channel's queue longer.
 */
function deadlineOf(command: ChannelCommand, message: Message): number {
  const sentAt = Number(message.Attributes?.SentTimestamp);
  const latest = Number.isFinite(sentAt) ? sentAt + DEFAULT_COMMAND_TTL_MS : Number.POSITIVE_INFINITY;
  return Math.min(commandDeadline(command), latest);
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
