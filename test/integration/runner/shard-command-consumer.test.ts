import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { ShardCommandConsumer } from '#runner/commands/shard-command-consumer.ts';
import { createSqsClient } from '#shared/aws/clients.ts';
import { SqsCommandBus } from '#shared/aws/sqs-command-bus.ts';
import { loadAwsConfig } from '#shared/config.ts';
import type { ChannelCommand } from '#shared/domain/commands.ts';
import { newId } from '#shared/domain/ids.ts';
import { emulatorEnvironment } from '../support/platform.ts';
import { fifoQueueWithDeadLetters } from '../support/queues.ts';

const sqs = createSqsClient(loadAwsConfig(emulatorEnvironment()));
const consumers: ShardCommandConsumer[] = [];
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
});

/** A shard queue of this test's own, shaped like the stack's, with a DLQ after 3 receives. */
async function shardQueue(): Promise<{ queueUrl: string; dlqUrl: string }> {
  const { queueUrl, deadLetterQueueUrl } = await fifoQueueWithDeadLetters(
    sqs,
    `test-${crypto.randomUUID().slice(0, 8)}`,
    { maxReceiveCount: 3, visibilityTimeoutSeconds: 30 },
  );
  return { queueUrl, dlqUrl: deadLetterQueueUrl };
}

const tenantId = newId('tenant');
const channelIds = new Map<string, string>();
/** A channel id of its own for each name a test uses. */
function channelNamed(name: string): string {
  const id = channelIds.get(name) ?? newId('channel');
  channelIds.set(name, id);
  return id;
}

/** A send whose text is `<channel name>-<n>`: what the tests compare. */
function textCommand(channel: string, n: number, extra: Partial<ChannelCommand> = {}): ChannelCommand {
  return {
    commandId: newId('command'),
    tenantId,
    channelId: channelNamed(channel),
    issuedAt: new Date().toISOString(),
    type: 'send',
    messageId: newId('message'),
    message: { to: '+5511987654321', type: 'text', text: { body: `${channel}-${n}` } },
    ...extra,
  } as ChannelCommand;
}

function labelOf(command: ChannelCommand): string {
  return command.type === 'send' && command.message.type === 'text'
    ? command.message.text.body
    : command.type;
}

/** Liveness, not speed: a loaded 2-core machine with a slow emulator still gets there within a minute. */
async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function visibleAndInFlight(queueUrl: string): Promise<number> {
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(attributes.Attributes?.ApproximateNumberOfMessages) +
    Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

describe('shard command consumer', () => {
  it('runs each channel’s commands in order, channels side by side, and deletes them once done', async () => {
    const { queueUrl } = await shardQueue();
    const bus = new SqsCommandBus(sqs, [queueUrl]);
    const first = textCommand('a', 0);
    await bus.send(first, 0);
    await bus.send(textCommand('b', 0), 0);
    for (let n = 1; n < 6; n++) {
      await bus.send(textCommand('a', n), 0);
      await bus.send(textCommand('b', n), 0);
    }
    await bus.send(first, 0); // a client retry: deduplicated by command id

    const handled: string[] = [];
    let concurrentPerChannel = 0;
    const running = new Set<string>();
    const consumer = new ShardCommandConsumer({
      client: sqs,
      queueUrl,
      waitTimeSeconds: 1,
      handle: async (command) => {
        if (running.has(command.channelId)) concurrentPerChannel++;
        running.add(command.channelId);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running.delete(command.channelId);
        handled.push(labelOf(command));
      },
    });
    consumers.push(consumer);
    consumer.start();
    await until(() => handled.length >= 12, 'all twelve commands');
    await until(async () => (await visibleAndInFlight(queueUrl)) === 0, 'the queue to empty');

    expect(concurrentPerChannel).toBe(0);
    for (const channel of ['a', 'b']) {
      expect(handled.filter((label) => label.startsWith(`${channel}-`))).toEqual(
        [0, 1, 2, 3, 4, 5].map((n) => `${channel}-${n}`),
      );
    }
    expect(handled).toHaveLength(12);
  });

  it('deletes the handled commands of a received batch together, not one call each', async () => {
    const { queueUrl } = await shardQueue();
    const bus = new SqsCommandBus(sqs, [queueUrl]);
    for (let n = 0; n < 10; n++) await bus.send(textCommand('busy', n), 0);
    const calls = new Map<string, number>();
    const counting = Object.create(sqs, {
      send: {
        value: (command: { constructor: { name: string } }) => {
          calls.set(command.constructor.name, (calls.get(command.constructor.name) ?? 0) + 1);
          return sqs.send(command as never);
        },
      },
    });
    const handled: string[] = [];
    const consumer = new ShardCommandConsumer({
      client: counting,
      queueUrl,
      waitTimeSeconds: 1,
      // Each longer than a delete's short linger: the group's deletes still leave together.
      handle: async (command) => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        handled.push(labelOf(command));
      },
    });
    consumers.push(consumer);
    consumer.start();
    await until(async () => (await visibleAndInFlight(queueUrl)) === 0, 'the queue to empty');

    expect(handled).toEqual(Array.from({ length: 10 }, (_, n) => `busy-${n}`));
    // One receive brings all ten (one group); handled one after another, they leave in one or two calls.
    expect(calls.get('DeleteMessageBatchCommand')).toBeLessThanOrEqual(2);
  });

  it('starts a channel’s next command once the one before lets it, in order, and retries from a failure', async () => {
    const { queueUrl } = await shardQueue();
    const bus = new SqsCommandBus(sqs, [queueUrl]);
    for (let n = 0; n < 6; n++) await bus.send(textCommand('pipe', n), 0);

    const started: string[] = [];
    const finished: string[] = [];
    let inFlightAtOnce = 0;
    let failTwo: () => void = () => undefined;
    const twoFailed = new Promise<void>((resolve) => {
      failTwo = resolve;
    });
    const consumer = new ShardCommandConsumer({
      client: sqs,
      queueUrl,
      waitTimeSeconds: 1,
      retryDelayMs: 1_000,
      // Like a send: the next may start once "written", this one "acked" later. The third fails
      // once, after letting the fourth start; the fifth is "written" only after that failure.
      handle: async (command, mayContinue) => {
        const label = labelOf(command);
        started.push(label);
        inFlightAtOnce = Math.max(inFlightAtOnce, started.length - finished.length);
        if (label === 'pipe-4') {
          await twoFailed;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        mayContinue();
        if (label === 'pipe-2' && started.length <= 5) {
          failTwo();
          throw new Error('ack timed out');
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        finished.push(label);
      },
    });
    consumers.push(consumer);
    consumer.start();
    await until(() => finished.length >= 6, 'every command done', 30_000);
    await until(async () => (await visibleAndInFlight(queueUrl)) === 0, 'the queue to empty');

    expect(inFlightAtOnce).toBeGreaterThan(1);
    // The failure stopped the group before the sixth; the third and the sixth were tried next, in order.
    expect(started).toEqual([0, 1, 2, 3, 4, 2, 5].map((n) => `pipe-${n}`));
    expect([...finished].sort()).toEqual([0, 1, 2, 3, 4, 5].map((n) => `pipe-${n}`));
  });

  it('keeps a long command and its channel’s next ones from another consumer while in hand', async () => {
    const { queueUrl } = await shardQueue();
    const bus = new SqsCommandBus(sqs, [queueUrl]);
    await bus.send(textCommand('slow', 0), 0);
    await bus.send(textCommand('slow', 1), 0);

    // The first consumer holds the channel's commands for three visibility timeouts.
    let release: () => void = () => undefined;
    const handledBySlow: string[] = [];
    const withShortVisibility = (handle: (command: ChannelCommand) => Promise<void>) =>
      new ShardCommandConsumer({
        client: sqs,
        queueUrl,
        waitTimeSeconds: 1,
        visibilityTimeoutSeconds: 2,
        handle,
      });
    const slow = withShortVisibility(async (command) => {
      handledBySlow.push(labelOf(command));
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    const handledByOther: string[] = [];
    const other = withShortVisibility(async (command) => {
      handledByOther.push(labelOf(command));
    });
    consumers.push(slow, other);
    slow.start();
    await until(() => handledBySlow.length === 1, 'the slow consumer to take the first command');
    other.start();
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(handledByOther).toEqual([]);

    release();
    await until(() => handledBySlow.length === 2, 'the second command, in order, on the same consumer');
    expect(handledBySlow).toEqual(['slow-0', 'slow-1']);
    expect(handledByOther).toEqual([]);
    release();
    await until(async () => (await visibleAndInFlight(queueUrl)) === 0, 'the queue to empty');
  }, 30_000);

  it('retries a failed command before the channel’s next one, and never loses either', async () => {
    const { queueUrl } = await shardQueue();
    const bus = new SqsCommandBus(sqs, [queueUrl]);
    await bus.send(textCommand('retry', 0), 0);
    await bus.send(textCommand('retry', 1), 0);

    const attempts: string[] = [];
    let failuresLeft = 2;
    const consumer = new ShardCommandConsumer({
      client: sqs,
      queueUrl,
      waitTimeSeconds: 1,
      retryDelayMs: 0,
      handle: async (command) => {
        attempts.push(labelOf(command));
        if (labelOf(command) === 'retry-0' && failuresLeft-- > 0) throw new Error('WhatsApp did not ack');
      },
    });
    consumers.push(consumer);
    consumer.start();
    await until(() => attempts.includes('retry-1'), 'the second command');
    expect(attempts).toEqual(['retry-0', 'retry-0', 'retry-0', 'retry-1']);
    await until(async () => (await visibleAndInFlight(queueUrl)) === 0, 'the queue to empty');
  });

  it('holds the commands behind a failing one in hand: more failures than the DLQ allows receives send none there', async () => {
    const { queueUrl, dlqUrl } = await shardQueue(); // maxReceiveCount 3
    const bus = new SqsCommandBus(sqs, [queueUrl]);
    for (let n = 0; n < 3; n++) await bus.send(textCommand('held', n), 0);

    const attempts: string[] = [];
    const receiveCounts: number[] = [];
    const consumer = new ShardCommandConsumer({
      client: sqs,
      queueUrl,
      waitTimeSeconds: 1,
      retryDelayMs: 50,
      maxRetryDelayMs: 100,
      handle: async (command) => {
        attempts.push(labelOf(command));
        if (labelOf(command) === 'held-0' && attempts.length <= 6) throw new Error('channel reconnecting');
      },
      onError: (_error, { receiveCount }) => void receiveCounts.push(receiveCount),
    });
    consumers.push(consumer);
    consumer.start();
    await until(async () => (await visibleAndInFlight(queueUrl)) === 0, 'the queue to empty');

    // Six failures of the first, each retried in hand: one receive for the whole group.
    expect(attempts).toEqual([...Array(7).fill('held-0'), 'held-1', 'held-2']);
    expect(receiveCounts).toEqual([1, 1, 1, 1, 1, 1]);
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }));
    expect(dead.Messages ?? []).toEqual([]);
  });

  it('expires a command still failing at its deadline, and one received past it without trying it', async () => {
    const { queueUrl } = await shardQueue();
    const bus = new SqsCommandBus(sqs, [queueUrl]);
    const soon = new Date(Date.now() + 1_500).toISOString();
    const stale = new Date(Date.now() - 1_000).toISOString();
    await bus.send(textCommand('deadline', 0, { expiresAt: soon }), 0);
    await bus.send(textCommand('deadline', 1), 0);
    await bus.send(textCommand('stale', 0, { expiresAt: stale }), 0);

    const attempts: string[] = [];
    const expired: { label: string; lastError: string | undefined }[] = [];
    const consumer = new ShardCommandConsumer({
      client: sqs,
      queueUrl,
      waitTimeSeconds: 1,
      retryDelayMs: 200,
      maxRetryDelayMs: 400,
      handle: async (command) => {
        attempts.push(labelOf(command));
        if (labelOf(command) === 'deadline-0') throw new Error('channel reconnecting');
      },
      expire: async (command, lastError) =>
        void expired.push({ label: labelOf(command), lastError: (lastError as Error | undefined)?.message }),
    });
    consumers.push(consumer);
    consumer.start();
    await until(async () => (await visibleAndInFlight(queueUrl)) === 0, 'the queue to empty');

    expect(expired).toContainEqual({ label: 'stale-0', lastError: undefined });
    expect(expired).toContainEqual({ label: 'deadline-0', lastError: 'channel reconnecting' });
    expect(expired).toHaveLength(2);
    expect(attempts).not.toContain('stale-0');
    expect(attempts.filter((label) => label === 'deadline-1')).toHaveLength(1);
    expect(attempts.indexOf('deadline-1')).toBeGreaterThan(attempts.lastIndexOf('deadline-0'));
  });

  it('gives a group waiting to retry back at once when it drains, for the shard’s next owner', async () => {
    const { queueUrl } = await shardQueue();
    const bus = new SqsCommandBus(sqs, [queueUrl]);
    await bus.send(textCommand('handover', 0), 0);
    await bus.send(textCommand('handover', 1), 0);

    const failing = new ShardCommandConsumer({
      client: sqs,
      queueUrl,
      waitTimeSeconds: 1,
      retryDelayMs: 60_000,
      maxRetryDelayMs: 60_000,
      visibilityTimeoutSeconds: 30,
      // Full jitter could pick a short wait: fail until stopped.
      handle: async () => {
        throw new Error('channel reconnecting');
      },
    });
    let handledByNext = 0;
    const next = new ShardCommandConsumer({
      client: sqs,
      queueUrl,
      waitTimeSeconds: 1,
      handle: async () => {
        handledByNext++;
      },
    });
    consumers.push(next);
    failing.start();
    await until(async () => (await visibleAndInFlight(queueUrl)) === 2, 'the group in hand');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await failing.stop();
    // Not after the 30 s visibility timeout: the next consumer gets both at once.
    next.start();
    await until(() => handledByNext === 2, 'both commands on the next consumer', 10_000);
  });

  it('answers a message that is no command at once, and the channel’s next command goes on', async () => {
    const { queueUrl, dlqUrl } = await shardQueue();
    const badGroup = channelNamed('bad');
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          {
            Id: 'bad',
            MessageBody: '{"type":"reboot"}',
            MessageGroupId: badGroup,
            MessageDeduplicationId: 'bad',
          },
          {
            Id: 'next',
            MessageBody: JSON.stringify(textCommand('bad', 1)),
            MessageGroupId: badGroup,
            MessageDeduplicationId: 'next',
          },
        ],
      }),
    );
    const handled: string[] = [];
    const refused: { body: string; groupId: string }[] = [];
    const consumer = new ShardCommandConsumer({
      client: sqs,
      queueUrl,
      waitTimeSeconds: 1,
      handle: async (command) => void handled.push(labelOf(command)),
      refuseMalformed: async ({ body, groupId }) => void refused.push({ body, groupId }),
    });
    consumers.push(consumer);
    consumer.start();

    await until(() => handled.includes('bad-1'), 'the channel’s next command');
    await until(async () => (await visibleAndInFlight(queueUrl)) === 0, 'the queue to empty');
    expect(refused).toEqual([{ body: '{"type":"reboot"}', groupId: badGroup }]);
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }));
    expect(dead.Messages ?? []).toEqual([]);
  });

  it('refuses a command put in another channel’s group, so it cannot hold that channel’s queue', async () => {
    const { queueUrl } = await shardQueue();
    const victim = channelNamed('victim');
    const intruder = textCommand('intruder', 0);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(intruder),
        MessageGroupId: victim,
        MessageDeduplicationId: intruder.commandId,
      }),
    );
    await new SqsCommandBus(sqs, [queueUrl]).send(textCommand('victim', 0), 0);
    const handled: string[] = [];
    const refused: string[] = [];
    const consumer = new ShardCommandConsumer({
      client: sqs,
      queueUrl,
      waitTimeSeconds: 1,
      handle: async (command) => {
        handled.push(labelOf(command));
        throw new Error('never succeeds');
      },
      refuseMalformed: async ({ groupId, problem }) =>
        void refused.push(`${groupId}:${(problem as Error).name}`),
    });
    consumers.push(consumer);
    consumer.start();
    await until(() => handled.includes('victim-0'), 'the victim’s own command');
    expect(refused).toEqual([`${victim}:CommandGroupMismatch`]);
    expect(handled).not.toContain('intruder-0');
  });

  it('gives a command up a day after SQS took it, whatever deadline it claims', async () => {
    const { queueUrl } = await shardQueue();
    await new SqsCommandBus(sqs, [queueUrl]).send(
      textCommand('claims', 0, {
        issuedAt: '9999-01-01T00:00:00.000Z',
        expiresAt: '9999-12-31T00:00:00.000Z',
      }),
      0,
    );
    const expired: string[] = [];
    const handled: string[] = [];
    const consumer = new ShardCommandConsumer({
      client: sqs,
      queueUrl,
      waitTimeSeconds: 1,
      // A day and a minute after now, by this consumer's clock.
      now: () => Date.now() + 24 * 3600_000 + 60_000,
      handle: async (command) => void handled.push(labelOf(command)),
      expire: async (command) => void expired.push(labelOf(command)),
    });
    consumers.push(consumer);
    consumer.start();
    await until(() => expired.length === 1, 'the command expired');
    expect(expired).toEqual(['claims-0']);
    expect(handled).toEqual([]);
  });

  it('gives back at once what a long poll brings after the shard was abandoned', async () => {
    const { queueUrl } = await shardQueue();
    const abandoned = new ShardCommandConsumer({
      client: sqs,
      queueUrl,
      waitTimeSeconds: 3,
      visibilityTimeoutSeconds: 30,
      handle: async () => undefined,
    });
    abandoned.start();
    await new Promise((resolve) => setTimeout(resolve, 300)); // its long poll is out
    await abandoned.abandon();
    await new SqsCommandBus(sqs, [queueUrl]).send(textCommand('late', 0), 0);
    await abandoned.stop(); // the poll returns with the command and gives it back

    const handled: string[] = [];
    const next = new ShardCommandConsumer({
      client: sqs,
      queueUrl,
      waitTimeSeconds: 1,
      handle: async (command) => void handled.push(labelOf(command)),
    });
    consumers.push(next);
    next.start();
    // Well before the 30 s visibility timeout it would otherwise be hidden for.
    await until(() => handled.length === 1, 'the next owner to get the command', 10_000);
    expect(handled).toEqual(['late-0']);
  });
});
