// What an operator does with a dead-letter queue once its alarm fires: see what waits there (never
// its content: commands and events carry patients' messages), then put it back on the queue it came
// from once the cause is fixed. Works on any of the stack's queues with a redrive policy (command
// shards, event subscriptions) and keeps FIFO groups, so a channel's commands stay in order.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { readCommandEnvelope } from '#shared/domain/commands.ts';

/** What a dead letter is, without what it says. */
export interface DeadLetterSummary {
  readonly messageId: string;
  readonly groupId: string | null;
  readonly receiveCount: number;
  readonly sentAt: string | null;
  readonly bytes: number;
  /** For a command: its id, type, tenant and channel (ids only). */
  readonly command: { commandId: string; type?: string; tenantId: string; channelId: string } | null;
}

/** The URL of the dead-letter queue `sourceQueueUrl` redrives to. */
export async function deadLetterQueueOf(sqs: SQSClient, sourceQueueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: sourceQueueUrl, AttributeNames: ['RedrivePolicy'] }),
  );
  const target = Attributes?.RedrivePolicy
    ? (JSON.parse(Attributes.RedrivePolicy) as { deadLetterTargetArn?: string }).deadLetterTargetArn
    : undefined;
  if (!target) throw new Error(`${sourceQueueUrl} has no redrive policy: it has no dead-letter queue`);
  const [, , , , account, name] = target.split(':');
  const { QueueUrl } = await sqs.send(
    new GetQueueUrlCommand({ QueueName: name, ...(account ? { QueueOwnerAWSAccountId: account } : {}) }),
  );
  if (!QueueUrl) throw new Error(`No URL for the dead-letter queue ${target}`);
  return QueueUrl;
}

/**
 * Looks at up to `max` dead letters without taking them: each is received with a short visibility and
 * handed back at once.
 */
export async function listDeadLetters(sqs: SQSClient, sourceQueueUrl: string, max = 100) {
  const deadLetterQueueUrl = await deadLetterQueueOf(sqs, sourceQueueUrl);
  const seen: Message[] = [];
  while (seen.length < max) {
    const batch = await receive(sqs, deadLetterQueueUrl, Math.min(10, max - seen.length), 30);
    if (batch.length === 0) break;
    seen.push(...batch);
  }
  // Visible again at once, for the next look or a replay.
  for (let i = 0; i < seen.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: deadLetterQueueUrl,
        Entries: seen.slice(i, i + 10).map((message, j) => ({
          Id: String(j),
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
  // A FIFO queue hands out one batch per group at a time: SQS's own count says how many wait in all.
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: deadLetterQueueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const waiting =
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  return { deadLetterQueueUrl, waiting, deadLetters: seen.map(summarize) };
}

/**
 * Moves up to `max` dead letters back to the queue they came from, oldest first, each deleted from
 * the dead-letter queue only once it is on the source queue again (a crash in between replays it
 * twice, which the consumers deduplicate: commands by id, events by id).
 */
export async function replayDeadLetters(
  sqs: SQSClient,
  sourceQueueUrl: string,
  max = Number.POSITIVE_INFINITY,
): Promise<{ replayed: number; failed: number }> {
  const deadLetterQueueUrl = await deadLetterQueueOf(sqs, sourceQueueUrl);
  const fifo = sourceQueueUrl.endsWith('.fifo');
  let replayed = 0;
  let failed = 0;
  while (replayed + failed < max) {
    const batch = await receive(sqs, deadLetterQueueUrl, Math.min(10, max - replayed - failed), 120);
    if (batch.length === 0) break;
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: sourceQueueUrl,
        Entries: batch.map((message, i) => ({
          Id: String(i),
          MessageBody: message.Body ?? '',
          ...(fifo
            ? {
                MessageGroupId: message.Attributes?.MessageGroupId ?? message.MessageId ?? 'replay',
                MessageDeduplicationId: `replay-${message.MessageId}`,
              }
            : {}),
        })),
      }),
    );
    const ok = new Set((sent.Successful ?? []).map((entry) => Number(entry.Id)));
    failed += batch.length - ok.size;
    const done = batch.filter((_, i) => ok.has(i));
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: deadLetterQueueUrl,
          Entries: done.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
    }
    replayed += done.length;
    if (ok.size === 0) break;
  }
  return { replayed, failed };
}

async function receive(
  sqs: SQSClient,
  queueUrl: string,
  max: number,
  visibilityTimeout: number,
): Promise<Message[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: 1,
      VisibilityTimeout: visibilityTimeout,
      MessageSystemAttributeNames: ['MessageGroupId', 'ApproximateReceiveCount', 'SentTimestamp'],
    }),
  );
  return Messages ?? [];
}

function summarize(message: Message): DeadLetterSummary {
  const body = message.Body ?? '';
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = null;
  }
  const envelope = readCommandEnvelope(parsed);
  const sent = Number(message.Attributes?.SentTimestamp);
  return {
    messageId: message.MessageId ?? '',
    groupId: message.Attributes?.MessageGroupId ?? null,
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
    sentAt: Number.isFinite(sent) ? new Date(sent).toISOString() : null,
    bytes: Buffer.byteLength(body),
    command: envelope
      ? {
          commandId: envelope.commandId,
          ...(envelope.type ? { type: envelope.type } : {}),
          tenantId: envelope.tenantId,
          channelId: envelope.channelId,
        }
      : null,
  };
}
