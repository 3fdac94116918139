// infra/local/moto_patches.py replaces moto's TransactWriteItems and its FIFO long-poll wait, locks
// its single-item writes, and remembers request routes and compiled JSONPath expressions. These hold the replacements to AWS's
// semantics, on a server of this file's own.
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MotoServer, startMotoServer } from '#infra/local/moto-server.ts';

let moto: MotoServer;
let dynamo: DynamoDBClient;
let sqs: SQSClient;
let events: EventBridgeClient;
let s3: S3Client;
const TABLE = 'patched';

beforeAll(async () => {
  moto = await startMotoServer();
  const options = {
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  dynamo = new DynamoDBClient(options);
  sqs = new SQSClient(options);
  events = new EventBridgeClient(options);
  s3 = new S3Client({ ...options, forcePathStyle: true });
  await dynamo.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
});
afterAll(() => moto.stop());

const key = (sk: string) => ({ pk: { S: 'p' }, sk: { S: sk } });
/** Holds only while the fence item's token is 1; the tests set it to 2. */
const staleFenceCheck = {
  ConditionCheck: {
    TableName: TABLE,
    Key: key('fence'),
    ConditionExpression: '#t = :t',
    ExpressionAttributeNames: { '#t': 'token' },
    ExpressionAttributeValues: { ':t': { N: '1' } },
  },
};
const read = async (sk: string) =>
  (await dynamo.send(new GetItemCommand({ TableName: TABLE, Key: key(sk), ConsistentRead: true }))).Item;

describe('TransactWriteItems (patched)', () => {
  it('writes nothing when one condition fails, and names each reason in order', async () => {
    await dynamo.send(new PutItemCommand({ TableName: TABLE, Item: { ...key('fence'), token: { N: '2' } } }));
    await dynamo.send(new PutItemCommand({ TableName: TABLE, Item: { ...key('kept'), v: { S: 'old' } } }));
    const failed = await dynamo
      .send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: TABLE, Item: { ...key('new'), v: { S: 'x' } } } },
            { Put: { TableName: TABLE, Item: { ...key('kept'), v: { S: 'new' } } } },
            { Delete: { TableName: TABLE, Key: key('fence') } },
            staleFenceCheck,
          ],
        }),
      )
      .catch((error: unknown) => error);
    // A ConditionCheck and a Delete of one item in one transaction is refused outright.
    expect(failed).toBeInstanceOf(Error);

    const cancelled = await dynamo
      .send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: TABLE, Item: { ...key('new'), v: { S: 'x' } } } },
            {
              Update: {
                TableName: TABLE,
                Key: key('kept'),
                UpdateExpression: 'SET v = :v',
                ExpressionAttributeValues: { ':v': { S: 'new' } },
              },
            },
            staleFenceCheck,
          ],
        }),
      )
      .catch((error: unknown) => error);
    expect(cancelled).toBeInstanceOf(TransactionCanceledException);
    expect((cancelled as TransactionCanceledException).CancellationReasons?.map((r) => r.Code)).toEqual([
      'None',
      'None',
      'ConditionalCheckFailed',
    ]);
    expect(await read('new')).toBeUndefined();
    expect((await read('kept'))?.v).toEqual({ S: 'old' });
  });

  it('applies every write when all conditions hold', async () => {
    await dynamo.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: TABLE, Item: { ...key('a'), v: { S: '1' } } } },
          { Delete: { TableName: TABLE, Key: key('kept') } },
          {
            Update: {
              TableName: TABLE,
              Key: key('fence'),
              UpdateExpression: 'SET #t = #t + :one',
              ConditionExpression: '#t = :t',
              ExpressionAttributeNames: { '#t': 'token' },
              ExpressionAttributeValues: { ':t': { N: '2' }, ':one': { N: '1' } },
            },
          },
        ],
      }),
    );
    expect((await read('a'))?.v).toEqual({ S: '1' });
    expect(await read('kept')).toBeUndefined();
    expect((await read('fence'))?.token).toEqual({ N: '3' });
  });

  it('isolates concurrent transactions: each version is taken exactly once, none fails with a 500', async () => {
    await dynamo.send(new PutItemCommand({ TableName: TABLE, Item: { ...key('counter'), n: { N: '0' } } }));
    const attempts = Array.from({ length: 40 }, (_, i) =>
      dynamo
        .send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: { TableName: TABLE, Item: { ...key(`claim-${i}`), by: { S: String(i) } } } },
              {
                Update: {
                  TableName: TABLE,
                  Key: key('counter'),
                  UpdateExpression: 'SET n = n + :one',
                  ConditionExpression: 'n < :limit',
                  ExpressionAttributeValues: { ':one': { N: '1' }, ':limit': { N: '25' } },
                },
              },
            ],
          }),
        )
        .then(
          () => 'committed',
          (error: unknown) => (error instanceof TransactionCanceledException ? 'cancelled' : String(error)),
        ),
    );
    const outcomes = await Promise.all(attempts);
    expect(outcomes.filter((outcome) => outcome === 'committed')).toHaveLength(25);
    expect(outcomes.filter((outcome) => outcome === 'cancelled')).toHaveLength(15);
    expect((await read('counter'))?.n).toEqual({ N: '25' });
    const claims = await Promise.all(Array.from({ length: 40 }, (_, i) => read(`claim-${i}`)));
    expect(claims.filter(Boolean)).toHaveLength(25);
  });
});

describe('single-item writes (patched)', () => {
  it('lets exactly one of concurrent conditional puts of one key through, as AWS does', async () => {
    for (let round = 0; round < 10; round++) {
      const attempts = Array.from({ length: 6 }, (_, i) =>
        dynamo
          .send(
            new PutItemCommand({
              TableName: TABLE,
              Item: { ...key(`once-${round}`), by: { S: String(i) } },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          )
          .then(
            () => 'written',
            (error: unknown) =>
              error instanceof ConditionalCheckFailedException ? 'refused' : String(error),
          ),
      );
      const outcomes = await Promise.all(attempts);
      expect(
        outcomes.filter((outcome) => outcome === 'written'),
        `round ${round}`,
      ).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === 'refused')).toHaveLength(5);
    }
  });
});

describe('FIFO long poll (patched)', () => {
  it('hands out a blocked group as soon as its message in flight is deleted', async () => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: 'patched.fifo', Attributes: { FifoQueue: 'true' } }),
    );
    for (const body of ['first', 'second']) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: body,
          MessageGroupId: 'g',
          MessageDeduplicationId: body,
        }),
      );
    }
    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1 }));
    expect(first.Messages?.[0]?.Body).toBe('first');

    const blocked = sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: first.Messages?.[0]?.ReceiptHandle }));
    expect((await blocked).Messages?.map((message) => message.Body)).toEqual(['second']);
  });

  it('hands a message given back, or whose visibility ran out, to a poll waiting on its group', async () => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: 'patched-returned.fifo', Attributes: { FifoQueue: 'true' } }),
    );
    await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: 'only',
        MessageGroupId: 'g',
        MessageDeduplicationId: 'o',
      }),
    );
    const taken = await sqs.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 60 }));
    const waiting = sqs.send(
      new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5, VisibilityTimeout: 1 }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl,
        ReceiptHandle: taken.Messages?.[0]?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    expect((await waiting).Messages?.map((message) => message.Body)).toEqual(['only']);
    // Taken for 1 s and never deleted: it comes back to the next poll while that poll waits.
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
    expect(again.Messages?.map((message) => message.Body)).toEqual(['only']);
  });

  it('hands a group’s messages given back together out again in order', async () => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: 'patched-order.fifo', Attributes: { FifoQueue: 'true' } }),
    );
    for (let n = 0; n < 4; n++) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: `m${n}`,
          MessageGroupId: 'g',
          MessageDeduplicationId: `${n}`,
        }),
      );
    }
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }),
    );
    expect(Messages.map((message) => message.Body)).toEqual(['m0', 'm1', 'm2', 'm3']);
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: Messages[0]?.ReceiptHandle }));
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl,
        Entries: Messages.slice(1).map((message, i) => ({
          Id: String(i),
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 1,
        })),
      }),
    );
    const again = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 5 }),
    );
    expect(again.Messages?.map((message) => message.Body)).toEqual(['m1', 'm2', 'm3']);
  });

  it('still wakes a poll on an empty queue when a message arrives', async () => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: 'patched-empty.fifo', Attributes: { FifoQueue: 'true' } }),
    );
    const waiting = sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: 'hello',
        MessageGroupId: 'g',
        MessageDeduplicationId: 'h',
      }),
    );
    expect((await waiting).Messages?.map((message) => message.Body)).toEqual(['hello']);
  });
});

describe('SQS under concurrent requests (patched)', () => {
  it('hands each message to one receiver only, and leaves nothing in flight once all are deleted', async () => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: 'patched-race', Attributes: { VisibilityTimeout: '180' } }),
    );
    const total = 400;
    const received = new Map<string, number>();
    const sending = Promise.all(
      Array.from({ length: 4 }, async (_, sender) => {
        for (let start = sender * 10; start < total; start += 40) {
          await sqs.send(
            new SendMessageBatchCommand({
              QueueUrl,
              Entries: Array.from({ length: 10 }, (_, i) => ({
                Id: String(i),
                MessageBody: `m${start + i}`,
              })),
            }),
          );
        }
      }),
    );
    let sent = false;
    void sending.then(() => {
      sent = true;
    });
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let idle = 0; idle < 2; ) {
          const { Messages = [] } = await sqs.send(
            new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
          );
          if (Messages.length === 0) {
            if (sent) idle++;
            continue;
          }
          for (const message of Messages)
            received.set(message.Body ?? '', (received.get(message.Body ?? '') ?? 0) + 1);
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl,
              Entries: Messages.map((message, i) => ({
                Id: String(i),
                ReceiptHandle: message.ReceiptHandle,
              })),
            }),
          );
        }
      }),
    );
    expect(received.size).toBe(total);
    expect([...received.values()].filter((count) => count > 1)).toEqual([]);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect([
      Attributes?.ApproximateNumberOfMessages,
      Attributes?.ApproximateNumberOfMessagesNotVisible,
    ]).toEqual(['0', '0']);
  });
});

describe('routes and event templates (remembered)', () => {
  it('delivers every event to a rule’s queue in AWS’s shape, each with its own detail', async () => {
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: `events-${Date.now()}` }));
    const arn = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    await events.send(
      new PutRuleCommand({ Name: 'to-queue', EventPattern: JSON.stringify({ source: ['clinic-wa.test'] }) }),
    );
    await events.send(
      new PutTargetsCommand({ Rule: 'to-queue', Targets: [{ Id: 'q', Arn: arn.Attributes?.QueueArn }] }),
    );
    const details = [1, 2, 3].map((n) => ({ n, text: `consulta ${n}` }));
    for (const detail of details) {
      await events.send(
        new PutEventsCommand({
          Entries: [{ Source: 'clinic-wa.test', DetailType: 'test.event', Detail: JSON.stringify(detail) }],
        }),
      );
    }
    const received = [];
    while (received.length < details.length) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      received.push(...Messages.map((message) => JSON.parse(message.Body ?? '{}')));
    }
    expect(received.map((event) => event.detail)).toEqual(details);
    for (const event of received) {
      expect(event).toMatchObject({ source: 'clinic-wa.test', 'detail-type': 'test.event', version: '0' });
      expect(event.id).toEqual(expect.any(String));
    }
    expect(new Set(received.map((event) => event.id)).size).toBe(3);
  });
});

describe('S3 user metadata (limited)', () => {
  it('refuses more than 2 KB of user metadata with MetadataTooLarge, as AWS does, and takes 2 KB', async () => {
    const Bucket = `metadata-${Date.now()}`;
    await s3.send(new CreateBucketCommand({ Bucket }));
    // 8 bytes of name and 2,040 of value: exactly 2 KB.
    const fits = { filename: 'a'.repeat(2_040) };
    const over = { filename: 'a'.repeat(2_041) };
    await s3.send(new PutObjectCommand({ Bucket, Key: 'fits', Body: 'x', Metadata: fits }));
    // One at a time: a refusal that came in before the loop awaited it would be unhandled.
    for (const refused of [
      () => s3.send(new PutObjectCommand({ Bucket, Key: 'over', Body: 'x', Metadata: over })),
      () => s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'over', Metadata: over })),
    ]) {
      const error = await refused().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(S3ServiceException);
      expect((error as S3ServiceException).name).toBe('MetadataTooLarge');
      expect((error as S3ServiceException).$metadata.httpStatusCode).toBe(400);
    }
  });
});
