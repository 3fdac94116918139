import {
  CreateQueueCommand,
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
import { emulatorEnvironment } from '../support/platform.ts';

const sqs = createSqsClient(loadAwsConfig(emulatorEnvironment()));
const consumers: ShardCommandConsumer[] = [];
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
});

/** A shard queue of this test's own, shaped like the stack's: FIFO with a FIFO DLQ after 3 receives. */
async function shardQueue(): Promise<{ queueUrl: string; dlqUrl: string }> {
  const name = `test-${crypto.randomUUID().slice(0, 8)}`;
  const dlq = await sqs.send(
    new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: 'true' } }),
  );
  const dlqArn = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${name}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        VisibilityTimeout: '30',
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn.Attributes?.QueueArn,
          maxReceiveCount: 3,
        }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl as string, dlqUrl: dlq.QueueUrl as string };
}

function textCommand(channelId: string, n: number): ChannelCommand {
  return {
    commandId: `cmd-${channelId}-${n}`,
    tenantId: 'ten_test',
    channelId,
    issuedAt: new Date().toISOString(),
    type: 'send',
    messageId: `msg-${channelId}-${n}`,
    message: { to: '+5511987654321', type: 'text', text: { body: `message ${n}` } },
  };
}

async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
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
    for (let n = 0; n < 6; n++) {
      await bus.send(textCommand('chn_a', n), 0);
      await bus.send(textCommand('chn_b', n), 0);
    }
    await bus.send(textCommand('chn_a', 0), 0); // a client retry: deduplicated by command id

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
        handled.push(command.commandId);
      },
    });
    consumers.push(consumer);
    consumer.start();
    await until(() => handled.length >= 12, 'all twelve commands');
    await until(async () => (await visibleAndInFlight(queueUrl)) === 0, 'the queue to empty');

    expect(concurrentPerChannel).toBe(0);
    for (const channel of ['chn_a', 'chn_b']) {
      expect(handled.filter((id) => id.includes(channel))).toEqual(
        [0, 1, 2, 3, 4, 5].map((n) => `cmd-${channel}-${n}`),
      );
    }
    expect(handled).toHaveLength(12);
  });

  it('deletes the handled commands of a received batch together, not one call each', async () => {
    const { queueUrl } = await shardQueue();
    const bus = new SqsCommandBus(sqs, [queueUrl]);
    for (let n = 0; n < 10; n++) await bus.send(textCommand('chn_busy', n), 0);
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
        handled.push(command.commandId);
      },
    });
    consumers.push(consumer);
    consumer.start();
    await until(async () => (await visibleAndInFlight(queueUrl)) === 0, 'the queue to empty');

    expect(handled).toEqual(Array.from({ length: 10 }, (_, n) => `cmd-chn_busy-${n}`));
    // One receive brings all ten (one group); handled one after another, they leave in one or two calls.
    expect(calls.get('DeleteMessageBatchCommand')).toBeLessThanOrEqual(2);
  });

  it('starts a channel’s next command once the one before lets it, in order, and retries from a failure', async () => {
    const { queueUrl } = await shardQueue();
    const bus = new SqsCommandBus(sqs, [queueUrl]);
    for (let n = 0; n < 6; n++) await bus.send(textCommand('chn_pipe', n), 0);

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
      retryDelaySeconds: 1,
      // Like a send: the next may start once "written", this one "acked" later. The third fails
      // once, after letting the fourth start; the fifth is "written" only after that failure.
      handle: async (command, mayContinue) => {
        started.push(command.commandId);
        inFlightAtOnce = Math.max(inFlightAtOnce, started.length - finished.length);
        if (command.commandId === 'cmd-chn_pipe-4') {
          await twoFailed;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        mayContinue();
        if (command.commandId === 'cmd-chn_pipe-2' && started.length <= 5) {
          failTwo();
          throw new Error('ack timed out');
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        finished.push(command.commandId);
      },
    });
    consumers.push(consumer);
    consumer.start();
    await until(() => finished.length >= 6, 'every command done', 30_000);
    await until(async () => (await visibleAndInFlight(queueUrl)) === 0, 'the queue to empty');

    expect(inFlightAtOnce).toBeGreaterThan(1);
    // The failure stopped the group before the sixth; the third and the sixth came back, in order.
    expect(started).toEqual([0, 1, 2, 3, 4, 2, 5].map((n) => `cmd-chn_pipe-${n}`));
    expect([...finished].sort()).toEqual([0, 1, 2, 3, 4, 5].map((n) => `cmd-chn_pipe-${n}`));
  });

  it('keeps a long command and its channel’s next ones from another consumer while in hand', async () => {
    const { queueUrl } = await shardQueue();
    const bus = new SqsCommandBus(sqs, [queueUrl]);
    await bus.send(textCommand('chn_slow', 0), 0);
    await bus.send(textCommand('chn_slow', 1), 0);

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
      handledBySlow.push(command.commandId);
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    const handledByOther: string[] = [];
    const other = withShortVisibility(async (command) => {
      handledByOther.push(command.commandId);
    });
    consumers.push(slow, other);
    slow.start();
    await until(() => handledBySlow.length === 1, 'the slow consumer to take the first command');
    other.start();
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(handledByOther).toEqual([]);

    release();
    await until(() => handledBySlow.length === 2, 'the second command, in order, on the same consumer');
    expect(handledBySlow).toEqual(['cmd-chn_slow-0', 'cmd-chn_slow-1']);
    expect(handledByOther).toEqual([]);
    release();
    await until(async () => (await visibleAndInFlight(queueUrl)) === 0, 'the queue to empty');
  }, 30_000);

  it('retries a failed command before the channel’s next one, and never loses either', async () => {
    const { queueUrl } = await shardQueue();
    const bus = new SqsCommandBus(sqs, [queueUrl]);
    await bus.send(textCommand('chn_a', 0), 0);
    await bus.send(textCommand('chn_a', 1), 0);

    const attempts: string[] = [];
    let failuresLeft = 2;
    const consumer = new ShardCommandConsumer({
      client: sqs,
      queueUrl,
      waitTimeSeconds: 1,
      retryDelaySeconds: 0,
      handle: async (command) => {
        attempts.push(command.commandId);
        if (command.commandId.endsWith('-0') && failuresLeft-- > 0) throw new Error('WhatsApp did not ack');
      },
    });
    consumers.push(consumer);
    consumer.start();
    await until(() => attempts.includes('cmd-chn_a-1'), 'the second command');
    expect(attempts).toEqual(['cmd-chn_a-0', 'cmd-chn_a-0', 'cmd-chn_a-0', 'cmd-chn_a-1']);
    await until(async () => (await visibleAndInFlight(queueUrl)) === 0, 'the queue to empty');
  });

  it('sends a malformed command to the dead-letter queue without blocking other channels for good', async () => {
    const { queueUrl, dlqUrl } = await shardQueue();
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          {
            Id: 'bad',
            MessageBody: '{"type":"reboot"}',
            MessageGroupId: 'chn_bad',
            MessageDeduplicationId: 'bad',
          },
          {
            Id: 'good',
            MessageBody: JSON.stringify(textCommand('chn_ok', 0)),
            MessageGroupId: 'chn_ok',
            MessageDeduplicationId: 'good',
          },
        ],
      }),
    );
    const handled: string[] = [];
    const errors: number[] = [];
    const consumer = new ShardCommandConsumer({
      client: sqs,
      queueUrl,
      waitTimeSeconds: 1,
      retryDelaySeconds: 0,
      handle: async (command) => void handled.push(command.commandId),
      onError: (_error, { receiveCount }) => void errors.push(receiveCount),
    });
    consumers.push(consumer);
    consumer.start();

    await until(() => handled.includes('cmd-chn_ok-0'), 'the good command');
    await until(async () => {
      const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }));
      return dead.Messages?.[0]?.Body === '{"type":"reboot"}';
    }, 'the malformed command in the DLQ');
    expect(errors).toEqual([1, 2, 3]);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(textCommand('chn_bad', 1)),
        MessageGroupId: 'chn_bad',
        MessageDeduplicationId: 'after',
      }),
    );
    await until(
      () => handled.includes('cmd-chn_bad-1'),
      'the channel’s next command after the poison one left',
    );
  });
});
