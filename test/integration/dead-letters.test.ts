import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { listDeadLetters, replayDeadLetters } from '#infra/ops/dead-letters.ts';
import { createSqsClient } from '#shared/aws/clients.ts';
import { loadAwsConfig } from '#shared/config.ts';
import { newId } from '#shared/domain/ids.ts';
import { emulatorEnvironment } from './support/platform.ts';
import { fifoQueueWithDeadLetters } from './support/queues.ts';

const sqs = createSqsClient(loadAwsConfig(emulatorEnvironment()));

const queueWithDeadLetters = () =>
  fifoQueueWithDeadLetters(sqs, `dlq-test-${crypto.randomUUID().slice(0, 8)}`, { maxReceiveCount: 5 });

describe('dead letters (npm run dead-letters)', () => {
  it('lists what waits without its content, then replays it to its queue in its group, in order', async () => {
    const { queueUrl, deadLetterQueueUrl } = await queueWithDeadLetters();
    const channelId = newId('channel');
    const commands = [0, 1].map((n) => ({
      commandId: newId('command'),
      tenantId: newId('tenant'),
      channelId,
      issuedAt: new Date().toISOString(),
      type: 'send',
      messageId: newId('message'),
      message: { to: '+5511987654321', type: 'text', text: { body: `Consulta ${n}` } },
    }));
    for (const command of commands) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: deadLetterQueueUrl,
          MessageBody: JSON.stringify(command),
          MessageGroupId: channelId,
          MessageDeduplicationId: command.commandId,
        }),
      );
    }

    const listed = await listDeadLetters(sqs, queueUrl);
    expect(listed.deadLetterQueueUrl).toBe(deadLetterQueueUrl);
    expect(listed.waiting).toBe(2);
    expect(listed.deadLetters.map((letter) => letter.command)).toEqual(
      commands.map(({ commandId, tenantId, type }) => ({ commandId, type, tenantId, channelId })),
    );
    expect(listed.deadLetters.every((letter) => letter.groupId === channelId)).toBe(true);
    expect(JSON.stringify(listed)).not.toContain('Consulta');

    expect(await replayDeadLetters(sqs, queueUrl)).toEqual({ replayed: 2, failed: 0 });
    const back = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['MessageGroupId'],
      }),
    );
    expect(back.Messages?.map((message) => JSON.parse(message.Body ?? '').commandId)).toEqual(
      commands.map((command) => command.commandId),
    );
    expect(back.Messages?.every((message) => message.Attributes?.MessageGroupId === channelId)).toBe(true);
    expect((await listDeadLetters(sqs, queueUrl)).deadLetters).toEqual([]);
  });

  it('says when a queue has no dead-letter queue', async () => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: `plain-${crypto.randomUUID().slice(0, 8)}` }),
    );
    await expect(replayDeadLetters(sqs, QueueUrl as string)).rejects.toThrow(/no redrive policy/);
  });
});
