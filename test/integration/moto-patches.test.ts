// infra/local/moto_patches.py replaces moto's TransactWriteItems and its FIFO long-poll wait. These
// hold the replacements to AWS's semantics, on a server of this file's own.
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MotoServer, startMotoServer } from '#infra/local/moto-server.ts';

let moto: MotoServer;
let dynamo: DynamoDBClient;
let sqs: SQSClient;
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
