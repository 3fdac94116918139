// moto's state across restarts (infra/local/moto_state.py), on servers of this file's own: what one
// server saved, a new server started from the file serves — items, queue messages, the KMS key that
// decrypts what it encrypted, objects, event routes — and provisioning the stack again on it keeps
// every resource and gives the same environment.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
} from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EMULATOR_REGION, type EmulatorClients, emulatorClients } from '#infra/local/aws-clients.ts';
import { startLocalAws } from '#infra/local/local-aws.ts';
import { readSavedAwsState } from '#infra/local/local-state.ts';
import { freePort, type MotoServer, startMotoServer } from '#infra/local/moto-server.ts';
import { dynamoDbTable } from '#infra/local/provisioning/dynamodb-table.ts';
import type { ProvisioningContext, ResourceHandler } from '#infra/local/provisioning/resource-handler.ts';
import { sqsQueue } from '#infra/local/provisioning/sqs-queue.ts';

const directory = mkdtempSync(join(tmpdir(), 'clinic-wa-moto-state-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const running: { server: MotoServer; clients: EmulatorClients }[] = [];
afterEach(async () => {
  for (const { server, clients } of running.splice(0)) {
    clients.destroy();
    await server.stop();
  }
});

async function motoFrom(stateFile: string, snapshotIntervalSeconds?: number) {
  const server = await startMotoServer({ stateFile, snapshotIntervalSeconds });
  const clients = emulatorClients({ endpoint: server.endpoint, region: EMULATOR_REGION });
  running.push({ server, clients });
  return { server, clients };
}

async function stop(server: MotoServer) {
  const index = running.findIndex((entry) => entry.server === server);
  const [entry] = running.splice(index, 1);
  entry?.clients.destroy();
  await server.stop();
}

const context = { tenant: 'ten_1', channel: 'chn_1' };

describe('a saved state in a new server', () => {
  it('serves the items, messages, keys, objects and event routes of the server that saved it', async () => {
    const stateFile = join(directory, 'whole.pickle');
    const first = await motoFrom(stateFile);
    const { dynamodb, sqs, kms, s3, eventBridge } = first.clients;

    await dynamodb.send(
      new CreateTableCommand({
        TableName: 'items',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'g', AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byG',
            KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: 'items',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    );
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'sessions' }));
    const keyId = KeyMetadata?.KeyId ?? '';
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/sessions', TargetKeyId: keyId }));
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({
        KeyId: 'alias/sessions',
        Plaintext: Buffer.from('creds'),
        EncryptionContext: context,
      }),
    );
    const dataKey = await kms.send(
      new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }),
    );
    await dynamodb.send(
      new PutItemCommand({
        TableName: 'items',
        Item: {
          pk: { S: 'channel#1' },
          g: { S: 'tenant#1' },
          sealed: { B: CiphertextBlob ?? new Uint8Array() },
          wrappedKey: { B: dataKey.CiphertextBlob ?? new Uint8Array() },
        },
      }),
    );

    const { QueueUrl: fifo = '' } = await sqs.send(
      new CreateQueueCommand({
        QueueName: 'commands.fifo',
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true', VisibilityTimeout: '600' },
      }),
    );
    for (const body of ['first', 'second', 'third']) {
      await sqs.send(
        new SendMessageCommand({ QueueUrl: fifo, MessageBody: body, MessageGroupId: 'channel-1' }),
      );
    }
    // In flight for ten minutes when the server stops: whoever received it is gone with it.
    const inFlight = await sqs.send(new ReceiveMessageCommand({ QueueUrl: fifo, MaxNumberOfMessages: 1 }));
    expect(inFlight.Messages?.map((message) => message.Body)).toEqual(['first']);

    const { QueueUrl: events = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'events' }));
    await eventBridge.send(new CreateEventBusCommand({ Name: 'platform' }));
    await eventBridge.send(
      new PutRuleCommand({ Name: 'all', EventBusName: 'platform', EventPattern: '{"source":["clinic-wa"]}' }),
    );
    await eventBridge.send(
      new PutTargetsCommand({
        Rule: 'all',
        EventBusName: 'platform',
        Targets: [{ Id: 'queue', Arn: `arn:aws:sqs:${EMULATOR_REGION}:123456789012:events` }],
      }),
    );

    const media = Buffer.alloc(300_000, 7);
    await s3.send(new CreateBucketCommand({ Bucket: 'media-bucket' }));
    await s3.send(new PutObjectCommand({ Bucket: 'media-bucket', Key: 'tenant/1/file.bin', Body: media }));

    await stop(first.server);
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    expect(readSavedAwsState(stateFile)?.backends).toEqual(
      expect.arrayContaining([
        'dynamodb/123456789012/us-east-1',
        'sqs/123456789012/us-east-1',
        'kms/123456789012/us-east-1',
        's3/123456789012/aws',
        'events/123456789012/us-east-1',
      ]),
    );

    const second = await motoFrom(stateFile);
    expect(second.server.endpoint).not.toBe(first.server.endpoint);
    const restored = second.clients;

    const { Item } = await restored.dynamodb.send(
      new GetItemCommand({ TableName: 'items', Key: { pk: { S: 'channel#1' } } }),
    );
    const byIndex = await restored.dynamodb.send(
      new QueryCommand({
        TableName: 'items',
        IndexName: 'byG',
        KeyConditionExpression: 'g = :g',
        ExpressionAttributeValues: { ':g': { S: 'tenant#1' } },
      }),
    );
    expect(byIndex.Items?.map((item) => item.pk?.S)).toEqual(['channel#1']);
    const ttl = await restored.dynamodb.send(new DescribeTimeToLiveCommand({ TableName: 'items' }));
    expect(ttl.TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });

    // The same key material: what the first server encrypted, the second decrypts, under the same
    // encryption context only.
    const decrypted = await restored.kms.send(
      new DecryptCommand({ CiphertextBlob: Item?.sealed?.B, EncryptionContext: context }),
    );
    expect(Buffer.from(decrypted.Plaintext ?? []).toString()).toBe('creds');
    expect(decrypted.KeyId).toBe(KeyMetadata?.Arn);
    const unwrapped = await restored.kms.send(
      new DecryptCommand({ CiphertextBlob: Item?.wrappedKey?.B, EncryptionContext: context }),
    );
    expect(Buffer.from(unwrapped.Plaintext ?? [])).toEqual(Buffer.from(dataKey.Plaintext ?? []));
    await expect(
      restored.kms.send(
        new DecryptCommand({
          CiphertextBlob: Item?.sealed?.B,
          EncryptionContext: { ...context, channel: 'chn_2' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    const viaAlias = await restored.kms.send(
      new EncryptCommand({
        KeyId: 'alias/sessions',
        Plaintext: Buffer.from('again'),
        EncryptionContext: context,
      }),
    );
    expect(viaAlias.KeyId).toBe(KeyMetadata?.Arn);

    // The message in flight is visible again, first of its group; the queue keeps its attributes.
    const { QueueUrl: restoredFifo = '' } = await restored.sqs.send(
      new GetQueueUrlCommand({ QueueName: 'commands.fifo' }),
    );
    const received = await restored.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: restoredFifo,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    expect(received.Messages?.map((message) => message.Body)).toEqual(['first', 'second', 'third']);
    expect(received.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
    const { Attributes } = await restored.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: restoredFifo,
        AttributeNames: ['VisibilityTimeout', 'FifoQueue'],
      }),
    );
    expect(Attributes).toEqual({ VisibilityTimeout: '600', FifoQueue: 'true' });

    const object = await restored.s3.send(
      new GetObjectCommand({ Bucket: 'media-bucket', Key: 'tenant/1/file.bin' }),
    );
    expect(Buffer.from(await (object.Body?.transformToByteArray() ?? new Uint8Array()))).toEqual(media);

    // The bus still routes to its queue.
    await restored.eventBridge.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: 'platform', Source: 'clinic-wa', DetailType: 'test', Detail: '{"n":1}' }],
      }),
    );
    const routed = await restored.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: events, WaitTimeSeconds: 5 }),
    );
    expect(JSON.parse(routed.Messages?.[0]?.Body ?? '{}')).toMatchObject({
      source: 'clinic-wa',
      detail: { n: 1 },
    });
  });

  it('is saved periodically while the server runs, a long poll waiting or not', async () => {
    const stateFile = join(directory, 'periodic.pickle');
    const { clients } = await motoFrom(stateFile, 1);
    const { QueueUrl = '' } = await clients.sqs.send(new CreateQueueCommand({ QueueName: 'periodic' }));
    // A receive waiting 20 s for a message: snapshots do not wait for it (it is not working on
    // moto's state), and it still gets the message sent after them.
    const polling = clients.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20 }));
    polling.catch(() => {}); // awaited below; a failure before that is the test's, not unhandled
    await clients.dynamodb.send(
      new CreateTableCommand({
        TableName: 'periodic',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const wroteAt = Date.now();
    // A snapshot taken after the write (the file's header says when, to the second), well before
    // the poll ends.
    let saved = readSavedAwsState(stateFile);
    for (let tries = 0; !saved || Date.parse(saved.savedAt) < wroteAt + 1_000; tries++) {
      if (tries > 120) throw new Error('no snapshot after the write within 12 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
      saved = readSavedAwsState(stateFile);
    }
    await clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'after the snapshot' }));
    expect((await polling).Messages?.map((message) => message.Body)).toEqual(['after the snapshot']);

    // A copy taken while the server runs stands for the file a SIGKILL of the server leaves behind.
    const copy = join(directory, 'periodic-copy.pickle');
    writeFileSync(copy, readFileSync(stateFile), { mode: 0o600 });
    const { clients: restored } = await motoFrom(copy);
    const table = await restored.dynamodb.send(new DescribeTableCommand({ TableName: 'periodic' }));
    expect(table.Table?.TableStatus).toBe('ACTIVE');
  });

  it('is refused, with the way out, when another moto version saved it', async () => {
    const stateFile = join(directory, 'other-version.pickle');
    writeFileSync(
      stateFile,
      `${JSON.stringify({ magic: 'clinic-wa moto state', format: 1, moto: '4.0.0', savedAt: '2020-01-01T00:00:00Z', backends: [] })}\n`,
    );
    await expect(startMotoServer({ stateFile })).rejects.toThrow(/moto 4\.0\.0[\s\S]*LOCAL_FRESH=true/);
    // Left as it was: a refused file is not overwritten.
    expect(readFileSync(stateFile, 'utf8')).toContain('"moto":"4.0.0"');
  });
});

describe('provisioning on a restored state', () => {
  it('keeps every resource of the stack, and the environment comes out the same, twice', async () => {
    const stateFile = join(directory, 'stack.pickle');
    const port = await freePort();
    const first = await startLocalAws({ port, stateFile });
    const clients = emulatorClients({ endpoint: first.endpoint, region: first.region });
    const dataKey = await clients.kms.send(
      new GenerateDataKeyCommand({
        KeyId: first.env.SESSION_KEY_ARN,
        KeySpec: 'AES_256',
        EncryptionContext: context,
      }),
    );
    await clients.dynamodb.send(
      new PutItemCommand({
        TableName: first.env.SESSIONS_TABLE_NAME,
        Item: {
          pk: { S: 'CHANNEL#chn_1' },
          sk: { S: 'KEY' },
          wrapped: { B: dataKey.CiphertextBlob ?? new Uint8Array() },
        },
      }),
    );
    clients.destroy();
    await first.stop();

    const second = await startLocalAws({ port, stateFile });
    try {
      expect(second.env).toEqual(first.env);
      expect(second.stack.resources).toEqual(first.stack.resources);
      const again = await startLocalAws({ externalEndpoint: second.endpoint });
      expect(again.env).toEqual(first.env);

      const restored = emulatorClients({ endpoint: second.endpoint, region: second.region });
      try {
        const { Item } = await restored.dynamodb.send(
          new GetItemCommand({
            TableName: second.env.SESSIONS_TABLE_NAME,
            Key: { pk: { S: 'CHANNEL#chn_1' }, sk: { S: 'KEY' } },
          }),
        );
        const unwrapped = await restored.kms.send(
          new DecryptCommand({ CiphertextBlob: Item?.wrapped?.B, EncryptionContext: context }),
        );
        expect(Buffer.from(unwrapped.Plaintext ?? [])).toEqual(Buffer.from(dataKey.Plaintext ?? []));
      } finally {
        restored.destroy();
      }
    } finally {
      await second.stop();
    }
  });

  it('applies what the template changed since the state was saved, and refuses a changed table key', async () => {
    const stateFile = join(directory, 'changes.pickle');
    const provisionWith = async (clients: EmulatorClients) => {
      const provisioning: ProvisioningContext = {
        clients,
        region: EMULATOR_REGION,
        accountId: '123456789012',
        stackName: 'Changes',
      };
      return (logicalId: string, handler: ResourceHandler, properties: Record<string, unknown>) =>
        handler.create({ logicalId, properties, context: provisioning });
    };
    const tableV1 = {
      TableName: 'changes',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    };
    const first = await motoFrom(stateFile);
    const create = await provisionWith(first.clients);
    await create('Table', dynamoDbTable, tableV1);
    const queue = await create('Queue', sqsQueue, { QueueName: 'changes', VisibilityTimeout: 30 });
    await first.clients.dynamodb.send(
      new PutItemCommand({ TableName: 'changes', Item: { pk: { S: 'a' }, g: { S: 'x' } } }),
    );
    await first.clients.sqs.send(new SendMessageCommand({ QueueUrl: queue.ref, MessageBody: 'kept' }));
    await stop(first.server);

    const second = await motoFrom(stateFile);
    const createAgain = await provisionWith(second.clients);
    // The template now has an index and a longer visibility timeout.
    await createAgain('Table', dynamoDbTable, {
      ...tableV1,
      AttributeDefinitions: [...tableV1.AttributeDefinitions, { AttributeName: 'g', AttributeType: 'S' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byG',
          KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
    const changed = await createAgain('Queue', sqsQueue, { QueueName: 'changes', VisibilityTimeout: 60 });
    const byIndex = await second.clients.dynamodb.send(
      new QueryCommand({
        TableName: 'changes',
        IndexName: 'byG',
        KeyConditionExpression: 'g = :g',
        ExpressionAttributeValues: { ':g': { S: 'x' } },
      }),
    );
    expect(byIndex.Items?.map((item) => item.pk?.S)).toEqual(['a']);
    const { Attributes } = await second.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: changed.ref, AttributeNames: ['VisibilityTimeout'] }),
    );
    expect(Attributes?.VisibilityTimeout).toBe('60');
    const { Messages } = await second.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: changed.ref }));
    expect(Messages?.map((message) => message.Body)).toEqual(['kept']);

    await expect(
      createAgain('Table', dynamoDbTable, {
        ...tableV1,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    ).rejects.toThrow(/exists with the key pk:HASH, the template wants id:HASH[\s\S]*LOCAL_FRESH=true/);
    const { Item } = await second.clients.dynamodb.send(
      new GetItemCommand({ TableName: 'changes', Key: { pk: { S: 'a' } } }),
    );
    expect(Item?.g?.S).toBe('x');
  });
});
