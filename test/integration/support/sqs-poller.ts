// What Lambda's SQS event source does, in small: receive a batch, hand it to a handler as an SQS
// event, delete what the handler did not report failed, leave the rest to come back after their
// visibility timeout. For tests that drive consumers against queues of their own on the emulator.
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export async function createQueue(
  sqs: SQSClient,
  name: string,
  options: { fifo?: boolean; visibilityTimeoutSeconds?: number } = {},
): Promise<string> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: options.fifo ? `${name}.fifo` : name,
      Attributes: {
        ...(options.fifo ? { FifoQueue: 'true' } : {}),
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 5),
      },
    }),
  );
  return QueueUrl as string;
}

/** The queue's ARN as Lambda puts it in each record, from its URL (`…/<account>/<name>`). */
function queueArnOf(queueUrl: string): string {
  const [account = '000000000000', name = ''] = new URL(queueUrl).pathname.split('/').filter(Boolean);
  return `arn:aws:sqs:us-east-1:${account}:${name}`;
}

function recordOf(message: Message, queueUrl: string): SQSRecord {
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: message.Attributes as unknown as SQSRecord['attributes'],
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArnOf(queueUrl),
    awsRegion: 'us-east-1',
  };
}

/** One poll: a batch received, handled, and what succeeded deleted. The number of messages handled. */
export async function pollOnce(
  sqs: SQSClient,
  queueUrl: string,
  handler: (event: SQSEvent) => Promise<SQSBatchResponse>,
  options: { maxMessages?: number; waitSeconds?: number } = {},
): Promise<number> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: options.maxMessages ?? 10,
      WaitTimeSeconds: options.waitSeconds ?? 1,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  if (Messages.length === 0) return 0;
  const response = await handler({ Records: Messages.map((message) => recordOf(message, queueUrl)) });
  const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
  const done = Messages.filter((message) => !failed.has(message.MessageId ?? ''));
  if (done.length > 0) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: done.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle ?? '',
        })),
      }),
    );
  }
  return Messages.length;
}

/**
 * Polls every queue (each with `concurrency` pollers) until `done()` holds or `timeoutMs` passes.
 */
export async function pollUntil(
  sqs: SQSClient,
  queues: readonly { url: string; handler: (event: SQSEvent) => Promise<SQSBatchResponse> }[],
  done: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; concurrency?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let stop = false;
  const poller = async (url: string, handler: (event: SQSEvent) => Promise<SQSBatchResponse>) => {
    while (!stop && Date.now() < deadline) await pollOnce(sqs, url, handler, { waitSeconds: 1 });
  };
  const pollers = queues.flatMap(({ url, handler }) =>
    Array.from({ length: options.concurrency ?? 2 }, () => poller(url, handler)),
  );
  try {
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error('pollUntil: not done in time');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    stop = true;
    await Promise.all(pollers);
  }
}
