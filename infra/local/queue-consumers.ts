// Lambda's SQS event source mapping on this machine: polls a queue and invokes a handler with
// SQS-shaped batches, as AWS does for the consumers' functions (the recorder now, the webhook
// dispatcher next). No consumer logic lives here: the handlers are the Lambda handlers themselves.
//
// What it keeps of the event source mapping (with `ReportBatchItemFailures`, as the stack sets it):
//  - up to `batchSize` (1 to 10) messages per invocation, received with every system and message
//    attribute, each turned into an `SQSRecord` as Lambda builds it (receive count, sent time, ARN);
//  - an invocation that throws, times out or answers an invalid `batchItemFailures` (an id that is
//    empty or not of the batch) fails the whole batch; otherwise the messages it names stay and
//    every other one is deleted;
//  - what is not deleted is left alone: it comes back when its visibility timeout ends (the queue's,
//    or the one its handler set with ChangeMessageVisibility: the webhook fan-out's hold of an event
//    for its turn), its receive count one higher, until the queue's redrive moves it to its
//    dead-letter queue.
// Several pollers may run at once (`concurrency`), as Lambda runs several invocations.
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/** An SQS-triggered Lambda handler (the recorder's, the dispatcher's): its answer is read as Lambda reads it. */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<unknown>;

export interface QueueConsumerOptions {
  /** The function's name, for its context and messages. */
  readonly name: string;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly handler: SqsHandler;
  /** Messages per invocation, 1 to 10 (the event source's `batchSize`; Lambda's default is 10). */
  readonly batchSize?: number;
  /** How long received messages stay hidden; by default the queue's own visibility timeout. */
  readonly visibilityTimeoutSeconds?: number;
  /** Invocations at once (pollers). */
  readonly concurrency?: number;
  /** Long poll of each receive (s, 0 to 20); a shorter one lets `stop` return sooner. */
  readonly waitTimeSeconds?: number;
  /** The function's timeout: an invocation still running then has failed (its messages stay). */
  readonly timeoutMs?: number;
  /** For the records' `awsRegion` and ARN (default us-east-1, the emulator's). */
  readonly region?: string;
  /** Told of a receive or delete that failed (the poller goes on after a second). */
  readonly onError?: (error: unknown) => void;
}

export interface QueueConsumerStats {
  invocations: number;
  /** Messages deleted after their invocation. */
  deleted: number;
  /** Messages left for redelivery (named in `batchItemFailures`, or of a failed invocation). */
  failed: number;
}

export interface QueueConsumer {
  readonly name: string;
  readonly queueUrl: string;
  readonly stats: Readonly<QueueConsumerStats>;
  /** Stops receiving, lets the invocations under way finish (and delete what they succeeded with). */
  stop(): Promise<void>;
}

const MAX_BATCH_SIZE = 10;
const ERROR_PAUSE_MS = 1_000;

export function startQueueConsumer(options: QueueConsumerOptions): QueueConsumer {
  const batchSize = options.batchSize ?? MAX_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new RangeError(`batchSize must be 1 to ${MAX_BATCH_SIZE}, got ${batchSize}`);
  }
  const stats: QueueConsumerStats = { invocations: 0, deleted: 0, failed: 0 };
  const aborts = new AbortController();
  const source = queueSource(options.queueUrl, options.region ?? 'us-east-1');
  let stopped = false;
  const onError =
    options.onError ??
    ((error: unknown) =>
      console.error(`${options.name}: ${(error as Error)?.name}: ${(error as Error)?.message}`));

  const invoke = async (messages: Message[]): Promise<Set<string>> => {
    const records = messages.map((message) => toRecord(message, source));
    const all = new Set(records.map((record) => record.messageId));
    stats.invocations++;
    try {
      const response = await withTimeout(
        options.handler({ Records: records }, lambdaContext(options.name, options.timeoutMs)),
        options.timeoutMs,
      );
      return failuresOf(response, all);
    } catch {
      // The function failed (threw, timed out): Lambda deletes nothing of the batch.
      return all;
    }
  };

  const poller = async (): Promise<void> => {
    while (!stopped) {
      let messages: Message[];
      try {
        const received = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: options.waitTimeSeconds ?? 20,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
            ...(options.visibilityTimeoutSeconds !== undefined
              ? { VisibilityTimeout: options.visibilityTimeoutSeconds }
              : {}),
          }),
          { abortSignal: aborts.signal },
        );
        messages = received.Messages ?? [];
      } catch (error) {
        if (stopped) return;
        onError(error);
        await sleep(ERROR_PAUSE_MS);
        continue;
      }
      if (messages.length === 0) continue;
      const failed = await invoke(messages);
      stats.failed += failed.size;
      const done = messages.filter((message) => !failed.has(message.MessageId ?? ''));
      try {
        await deleteMessages(options.sqs, options.queueUrl, done);
        stats.deleted += done.length;
      } catch (error) {
        // Not deleted: they come back after their visibility timeout, as after a failed delete on AWS.
        onError(error);
      }
    }
  };

  const pollers = Array.from({ length: options.concurrency ?? 1 }, () => poller());
  return {
    name: options.name,
    queueUrl: options.queueUrl,
    stats,
    async stop() {
      stopped = true;
      aborts.abort();
      await Promise.all(pollers);
    },
  };
}

/**
 * The message ids to leave on the queue. Lambda's rules: no response, or no `batchItemFailures`, is
 * success; an entry whose id is empty or not in the batch makes the whole batch a failure.
 */
function failuresOf(response: unknown, batch: ReadonlySet<string>): Set<string> {
  const failures = (response as Partial<SQSBatchResponse> | null | undefined)?.batchItemFailures;
  if (!failures) return new Set();
  if (!Array.isArray(failures)) return new Set(batch);
  const ids = failures.map((failure) => failure?.itemIdentifier);
  if (ids.some((id) => typeof id !== 'string' || !batch.has(id))) return new Set(batch);
  return new Set(ids as string[]);
}

async function deleteMessages(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += MAX_BATCH_SIZE) {
    const chunk = messages.slice(i, i + MAX_BATCH_SIZE);
    const result = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((message, n) => ({ Id: String(n), ReceiptHandle: message.ReceiptHandle })),
      }),
    );
    if (result.Failed?.length) {
      throw new Error(`${result.Failed.length} message(s) not deleted: ${result.Failed[0]?.Code}`);
    }
  }
}

interface QueueSource {
  readonly arn: string;
  readonly region: string;
}

/** The queue's ARN as Lambda puts it in each record, from its URL (`…/<account>/<name>`). */
function queueSource(queueUrl: string, region: string): QueueSource {
  const [account = '000000000000', name = ''] = new URL(queueUrl).pathname.split('/').filter(Boolean);
  return { arn: `arn:aws:sqs:${region}:${account}:${name}`, region };
}

/** An SQS message as a Lambda record (`aws:sqs`), attributes named and shaped as Lambda does. */
function toRecord(message: Message, source: QueueSource): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.AWSTraceHeader ? { AWSTraceHeader: attributes.AWSTraceHeader } : {}),
      ...(attributes.SequenceNumber ? { SequenceNumber: attributes.SequenceNumber } : {}),
      ...(attributes.MessageGroupId ? { MessageGroupId: attributes.MessageGroupId } : {}),
      ...(attributes.MessageDeduplicationId
        ? { MessageDeduplicationId: attributes.MessageDeduplicationId }
        : {}),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? 'String',
          ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
          ...(value.BinaryValue !== undefined
            ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
            : {}),
          stringListValues: value.StringListValues ?? [],
          binaryListValues: (value.BinaryListValues ?? []).map((bytes) =>
            Buffer.from(bytes).toString('base64'),
          ),
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: source.arn,
    awsRegion: source.region,
  };
}

function lambdaContext(name: string, timeoutMs = 900_000): Context {
  const deadline = Date.now() + timeoutMs;
  const requestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `clinic-wa-local-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:clinic-wa-local-${name}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/clinic-wa-local-${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

class InvocationTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new InvocationTimeout(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
