// The local event source mapping (infra/local/queue-consumers.ts) against queues of the test's own
// on the emulator: batches as Lambda builds them, partial batch failures, failed invocations, the
// redrive to the dead-letter queue.
import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { type QueueConsumer, type SqsHandler, startQueueConsumer } from '#infra/local/queue-consumers.ts';
import { SqsMessageVisibility } from '#shared/aws/sqs-message-visibility.ts';
import { until } from './runner/support/runner-harness.ts';
import { platformRepositories } from './support/platform.ts';

const { clients } = platformRepositories();
const sqs = clients.sqs;

/** A standard queue redriving to a DLQ after `maxReceiveCount` receives, with a short visibility. */
async function queueWithDeadLetters(maxReceiveCount: number, visibilityTimeoutSeconds = 1) {
  const name = `consumer-test-${randomUUID().slice(0, 8)}`;
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl as string, deadLetterQueueUrl: dlq.QueueUrl as string };
}

async function send(queueUrl: string, bodies: string[]) {
  for (let i = 0; i < bodies.length; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(i, i + 10).map((body, n) => ({ Id: String(n), MessageBody: body })),
      }),
    );
  }
}

async function visibleIn(queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return bodies;
    bodies.push(...Messages.map((message) => message.Body ?? ''));
  }
}

let consumer: QueueConsumer | undefined;
afterEach(async () => {
  await consumer?.stop();
  consumer = undefined;
});

function consume(queueUrl: string, handler: SqsHandler, batchSize = 10) {
  consumer = startQueueConsumer({ name: 'test', sqs, queueUrl, handler, batchSize, waitTimeSeconds: 1 });
  return consumer;
}

describe('the local SQS event source', () => {
  it('invokes the handler with SQS records as Lambda makes them, at most `batchSize` at a time, and deletes what succeeded', async () => {
    const { queueUrl } = await queueWithDeadLetters(5);
    const batches: SQSRecord[][] = [];
    const running = consume(
      queueUrl,
      async (event: SQSEvent) => {
        batches.push(event.Records);
        return { batchItemFailures: [] };
      },
      3,
    );
    await send(
      queueUrl,
      Array.from({ length: 7 }, (_, i) => `body-${i}`),
    );
    await until(() => running.stats.deleted === 7 || undefined, 'seven messages handled');
    expect(batches.every((batch) => batch.length >= 1 && batch.length <= 3)).toBe(true);
    expect(
      batches
        .flat()
        .map((record) => record.body)
        .sort(),
    ).toEqual(Array.from({ length: 7 }, (_, i) => `body-${i}`));
    const [record] = batches.flat();
    expect(record).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:us-east-1:${new URL(queueUrl).pathname.split('/')[1]}:${queueUrl.split('/').pop()}`,
      awsRegion: 'us-east-1',
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: expect.stringMatching(/^\d+$/) },
    });
    expect(await visibleIn(queueUrl)).toEqual([]);
  });

  it('leaves the messages named in batchItemFailures for redelivery, one receive later, and deletes the rest', async () => {
    const { queueUrl } = await queueWithDeadLetters(5);
    const receives = new Map<string, string[]>();
    const running = consume(queueUrl, async (event: SQSEvent) => {
      for (const record of event.Records) {
        receives.set(record.body, [
          ...(receives.get(record.body) ?? []),
          record.attributes.ApproximateReceiveCount,
        ]);
      }
      // `flaky` fails on its first receive only.
      const failing = event.Records.filter(
        (record) => record.body === 'flaky' && record.attributes.ApproximateReceiveCount === '1',
      );
      return { batchItemFailures: failing.map((record) => ({ itemIdentifier: record.messageId })) };
    });
    await send(queueUrl, ['fine', 'flaky', 'also fine']);
    await until(() => running.stats.deleted === 3 || undefined, 'every message handled', 20_000);
    expect(receives.get('fine')).toEqual(['1']);
    expect(receives.get('also fine')).toEqual(['1']);
    expect(receives.get('flaky')).toEqual(['1', '2']);
    expect(running.stats.failed).toBe(1);
  });

  it('leaves a failed message the visibility its handler set (the fan-out’s hold), its first receive kept', async () => {
    // The queue's own visibility is a minute: the message is back within seconds only if the
    // consumer leaves the handler's second alone.
    const { queueUrl } = await queueWithDeadLetters(5, 60);
    const visibility = new SqsMessageVisibility(sqs, [queueUrl]);
    const receives: { count: string; first: string }[] = [];
    const running = consume(queueUrl, async (event: SQSEvent) => {
      const [record] = event.Records as [SQSRecord];
      receives.push({
        count: record.attributes.ApproximateReceiveCount,
        first: record.attributes.ApproximateFirstReceiveTimestamp,
      });
      if (record.attributes.ApproximateReceiveCount !== '1') return { batchItemFailures: [] };
      await visibility.showAgainIn(
        [{ queueArn: record.eventSourceARN, receiptHandle: record.receiptHandle }],
        1,
      );
      return { batchItemFailures: [{ itemIdentifier: record.messageId }] };
    });
    await send(queueUrl, ['held']);
    await until(() => running.stats.deleted === 1 || undefined, 'the held message back and handled', 20_000);
    expect(receives.map((receive) => receive.count)).toEqual(['1', '2']);
    expect(receives[1]?.first).toBe(receives[0]?.first);
    expect(Number(receives[0]?.first)).toBeGreaterThan(0);
  });

  it('fails the whole batch when the handler throws or names a message not in it', async () => {
    for (const answer of ['throw', 'foreign id'] as const) {
      const { queueUrl } = await queueWithDeadLetters(5);
      // Every message's first receive is in a batch that fails as a whole.
      const running = consume(queueUrl, async (event: SQSEvent) => {
        if (event.Records.every((record) => record.attributes.ApproximateReceiveCount !== '1')) {
          return { batchItemFailures: [] };
        }
        if (answer === 'throw') throw new Error('the function failed');
        return { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
      });
      await send(queueUrl, ['a', 'b']);
      await until(
        () => running.stats.deleted === 2 || undefined,
        `both handled again after "${answer}"`,
        20_000,
      );
      expect(running.stats.failed, answer).toBeGreaterThanOrEqual(2);
      await running.stop();
    }
  });

  it('lets a message that always fails reach the dead-letter queue after the redrive count, and the others pass', async () => {
    const { queueUrl, deadLetterQueueUrl } = await queueWithDeadLetters(2);
    const running = consume(queueUrl, async (event: SQSEvent) => ({
      batchItemFailures: event.Records.filter((record) => record.body === 'poison').map((record) => ({
        itemIdentifier: record.messageId,
      })),
    }));
    await send(queueUrl, ['poison', 'good']);
    await until(() => running.stats.deleted === 1 || undefined, 'the good message handled');
    let deadLetters: string[] = [];
    await until(
      async () => {
        deadLetters = [...deadLetters, ...(await visibleIn(deadLetterQueueUrl))];
        return deadLetters.length > 0 || undefined;
      },
      'the poison message in the dead-letter queue',
      30_000,
    );
    expect(deadLetters).toEqual(['poison']);
  });
});
