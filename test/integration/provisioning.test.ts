// The stateful stack, as provisioned into the emulator by the global setup, does what the platform
// needs from it: tables keyed as the code expects, per-shard FIFO queues with redrive, events routed
// to both consumers, an envelope key bound to its encryption context, a private media bucket.
import { randomUUID } from 'node:crypto';
import { DescribeContinuousBackupsCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import {
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  type Target,
} from '@aws-sdk/client-eventbridge';
import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyRotationStatusCommand,
} from '@aws-sdk/client-kms';
import { GetObjectCommand, GetPublicAccessBlockCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { COMMAND_MAX_RECEIVE_COUNT } from '#infra/constructs/command-queues.construct.ts';
import { MAX_RECEIVE_COUNT } from '#infra/constructs/secure-queue.construct.ts';
import { emulatorClients } from '#infra/local/aws-clients.ts';
import { webhookSecretContext } from '#shared/aws/kms-webhook-secret-cipher.ts';

const { endpoint, region, env } = inject('localAws');
const aws = emulatorClients({ endpoint, region });
const documents = DynamoDBDocumentClient.from(aws.dynamodb);
const commandQueues = env.COMMAND_QUEUE_URLS.split(',');

afterAll(() => aws.destroy());

function queueUrlOfShard(shard: number): string {
  const url = commandQueues[shard];
  if (!url) throw new Error(`no queue for shard ${shard}`);
  return url;
}

/** Receives until `wanted` messages satisfy `match`, or fails at the deadline. */
async function receiveMatching(
  queueUrl: string,
  match: (message: Message) => boolean,
  wanted = 1,
  options: { visibilityTimeout?: number; deadlineMs?: number } = {},
): Promise<Message[]> {
  const found: Message[] = [];
  const deadline = Date.now() + (options.deadlineMs ?? 15_000);
  while (found.length < wanted) {
    if (Date.now() > deadline)
      throw new Error(`only ${found.length} of ${wanted} messages arrived in ${queueUrl}`);
    const { Messages = [] } = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        ...(options.visibilityTimeout === undefined ? {} : { VisibilityTimeout: options.visibilityTimeout }),
      }),
    );
    found.push(...Messages.filter(match));
  }
  return found;
}

describe('tables', () => {
  it('stores and reads platform items by pk/sk and by the gsi1 index', async () => {
    const tenant = `TENANT#${randomUUID()}`;
    await documents.send(
      new PutCommand({
        TableName: env.PLATFORM_TABLE_NAME,
        Item: {
          pk: tenant,
          sk: 'CHANNEL#1',
          gsi1pk: `SHARD#${tenant}`,
          gsi1sk: 'CHANNEL#1',
          name: 'Recepção',
        },
      }),
    );
    const item = await documents.send(
      new GetCommand({ TableName: env.PLATFORM_TABLE_NAME, Key: { pk: tenant, sk: 'CHANNEL#1' } }),
    );
    expect(item.Item?.name).toBe('Recepção');
    const byIndex = await documents.send(
      new QueryCommand({
        TableName: env.PLATFORM_TABLE_NAME,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': `SHARD#${tenant}` },
      }),
    );
    expect(byIndex.Items?.map((found) => found.sk)).toEqual(['CHANNEL#1']);
  });

  it('stores and reads sessions by pk/sk and idempotency records by id', async () => {
    const id = randomUUID();
    await documents.send(
      new PutCommand({ TableName: env.SESSIONS_TABLE_NAME, Item: { pk: `SESSION#${id}`, sk: 'META', v: 1 } }),
    );
    await documents.send(
      new PutCommand({
        TableName: env.IDEMPOTENCY_TABLE_NAME,
        Item: { id, status: 'COMPLETED', expiration: 1 },
      }),
    );
    const session = await documents.send(
      new GetCommand({ TableName: env.SESSIONS_TABLE_NAME, Key: { pk: `SESSION#${id}`, sk: 'META' } }),
    );
    const record = await documents.send(
      new GetCommand({ TableName: env.IDEMPOTENCY_TABLE_NAME, Key: { id } }),
    );
    expect(session.Item).toEqual({ pk: `SESSION#${id}`, sk: 'META', v: 1 });
    expect(record.Item).toEqual({ id, status: 'COMPLETED', expiration: 1 });
  });

  it('has TTL on the template’s attribute and point-in-time recovery on every table', async () => {
    const tables = [
      [env.PLATFORM_TABLE_NAME, 'expiresAt'],
      [env.SESSIONS_TABLE_NAME, 'expiresAt'],
      [env.IDEMPOTENCY_TABLE_NAME, 'expiration'],
    ] as const;
    for (const [TableName, attribute] of tables) {
      const ttl = await aws.dynamodb.send(new DescribeTimeToLiveCommand({ TableName }));
      expect(ttl.TimeToLiveDescription).toMatchObject({
        AttributeName: attribute,
        TimeToLiveStatus: 'ENABLED',
      });
      const backups = await aws.dynamodb.send(new DescribeContinuousBackupsCommand({ TableName }));
      expect(
        backups.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus,
      ).toBe('ENABLED');
    }
  });
});

describe('webhook deliveries', () => {
  it('is a standard queue the dispatcher has three minutes per receive on, redriving to its DLQ after 5', async () => {
    const { Attributes } = await aws.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: env.WEBHOOK_DELIVERY_QUEUE_URL, AttributeNames: ['All'] }),
    );
    expect(Attributes?.FifoQueue).toBeUndefined();
    expect(Attributes?.VisibilityTimeout).toBe('180');
    const redrive = JSON.parse(Attributes?.RedrivePolicy ?? '{}');
    expect(Number(redrive.maxReceiveCount)).toBe(MAX_RECEIVE_COUNT);
    const dlqName = String(redrive.deadLetterTargetArn).split(':').pop();
    const { QueueUrl: dlqUrl } = await aws.sqs.send(new GetQueueUrlCommand({ QueueName: dlqName }));
    expect(dlqUrl).toBeTruthy();
  });
});

describe('command queues', () => {
  it('has one FIFO queue per shard', async () => {
    expect(commandQueues).toHaveLength(Number(env.SHARD_COUNT));
    const { Attributes } = await aws.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrlOfShard(0), AttributeNames: ['All'] }),
    );
    expect(Attributes).toMatchObject({ FifoQueue: 'true', VisibilityTimeout: '30' });
  });

  it('delivers a channel’s commands in the order they were sent', async () => {
    const queueUrl = queueUrlOfShard(1);
    const channel = `chn_${randomUUID()}`;
    await aws.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [1, 2, 3].map((n) => ({
          Id: `m${n}`,
          MessageBody: JSON.stringify({ channel, n }),
          MessageGroupId: channel,
          MessageDeduplicationId: `${channel}-${n}`,
        })),
      }),
    );
    const received = await receiveMatching(
      queueUrl,
      (m) => JSON.parse(m.Body ?? '{}').channel === channel,
      3,
    );
    expect(received.map((m) => JSON.parse(m.Body ?? '{}').n)).toEqual([1, 2, 3]);
  });

  it('moves a command that keeps failing to the shard’s dead-letter queue after its maximum receives', async () => {
    const queueUrl = queueUrlOfShard(2);
    const { Attributes } = await aws.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }),
    );
    const redrive = JSON.parse(Attributes?.RedrivePolicy ?? '{}');
    expect(Number(redrive.maxReceiveCount)).toBe(COMMAND_MAX_RECEIVE_COUNT);
    const dlqName = String(redrive.deadLetterTargetArn).split(':').pop();
    const { QueueUrl: dlqUrl = '' } = await aws.sqs.send(new GetQueueUrlCommand({ QueueName: dlqName }));

    const channel = `chn_${randomUUID()}`;
    const isOurs = (m: Message) => m.Body === channel;
    await aws.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: channel,
        MessageGroupId: channel,
        MessageDeduplicationId: channel,
      }),
    );
    // Every failed attempt: received and, instead of waiting 60 s each, made visible again at once.
    for (let attempt = 1; attempt <= COMMAND_MAX_RECEIVE_COUNT; attempt++) {
      await receiveMatching(queueUrl, isOurs, 1, { visibilityTimeout: 0 });
    }
    await expect(receiveMatching(queueUrl, isOurs, 1, { deadlineMs: 2_000 })).rejects.toThrow(/only 0 of 1/);
    expect(await receiveMatching(dlqUrl, isOurs)).toHaveLength(1);
  });
});

describe('event bus', () => {
  /** Puts events of these sources and types on the bus; a matcher for the messages they become. */
  async function publish(events: [source: string, detailType: string][]): Promise<(m: Message) => boolean> {
    const eventId = randomUUID();
    const put = await aws.eventBridge.send(
      new PutEventsCommand({
        Entries: events.map(([Source, DetailType], n) => ({
          Source,
          DetailType,
          Detail: JSON.stringify({ eventId, n }),
          EventBusName: env.EVENT_BUS_NAME,
        })),
      }),
    );
    expect(put.FailedEntryCount).toBe(0);
    return (m) => JSON.parse(m.Body ?? '{}').detail?.eventId === eventId;
  }

  it('routes every platform event to both the recorder and the webhook queue', async () => {
    const ours = await publish([
      ['clinic-wa.runner', 'message.received'],
      ['clinic-wa.api', 'channel.status'],
    ]);
    for (const queueUrl of [env.RECORDER_QUEUE_URL, env.WEBHOOK_QUEUE_URL]) {
      const events = (await receiveMatching(queueUrl, ours, 2)).map((m) => JSON.parse(m.Body ?? '{}'));
      expect(events.map((event) => [event.source, event['detail-type']]).sort()).toEqual([
        ['clinic-wa.api', 'channel.status'],
        ['clinic-wa.runner', 'message.received'],
      ]);
    }
  });

  it('routes QR and pairing codes only to their own queues, and every other event only to the others', async () => {
    const ours = await publish([
      ['clinic-wa.runner', 'channel.qr'],
      ['clinic-wa.runner', 'channel.pairing_code'],
      ['clinic-wa.runner', 'channel.status'],
    ]);
    /** The types of our events in the queue: exactly `wanted` of them, nothing after. */
    const typesIn = async (queueUrl: string, wanted: number) => {
      const found = await receiveMatching(queueUrl, ours, wanted);
      await expect(receiveMatching(queueUrl, ours, 1, { deadlineMs: 1_500 })).rejects.toThrow(/only 0 of 1/);
      return found.map((m) => JSON.parse(m.Body ?? '{}')['detail-type']).sort();
    };
    const pairingSecrets = ['channel.pairing_code', 'channel.qr'];
    expect(
      await Promise.all([
        typesIn(env.RECORDER_PAIRING_QUEUE_URL, 2),
        typesIn(env.WEBHOOK_PAIRING_QUEUE_URL, 2),
        typesIn(env.RECORDER_QUEUE_URL, 1),
        typesIn(env.WEBHOOK_QUEUE_URL, 1),
      ]),
    ).toEqual([pairingSecrets, pairingSecrets, ['channel.status'], ['channel.status']]);
  });

  it('keeps pairing secrets a minute at most: no redrive, no dead-letter queue, no day of retries', async () => {
    for (const queueUrl of [env.RECORDER_PAIRING_QUEUE_URL, env.WEBHOOK_PAIRING_QUEUE_URL]) {
      const { Attributes } = await aws.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }),
      );
      expect(Attributes?.MessageRetentionPeriod).toBe('60');
      expect(Attributes?.RedrivePolicy).toBeUndefined();
    }
    const pairingTargets = (await ruleTargets()).filter((target) => target.Arn?.includes('PairingSecrets'));
    expect(pairingTargets).toHaveLength(2);
    for (const target of pairingTargets) {
      expect(target.DeadLetterConfig).toBeUndefined();
      expect(target.RetryPolicy?.MaximumEventAgeInSeconds).toBe(60);
    }
  });

  it('gives each target of the other events its own dead-letter queue for undeliverable events', async () => {
    const targets = (await ruleTargets()).filter((target) => !target.Arn?.includes('PairingSecrets'));
    const queueNames = targets.map((target) => target.Arn?.split(':').pop());
    const deadLetterArns = targets.map((target) => target.DeadLetterConfig?.Arn);
    expect(queueNames.sort()).toEqual(
      [env.RECORDER_QUEUE_URL, env.WEBHOOK_QUEUE_URL].map((url) => url.split('/').pop()).sort(),
    );
    expect(new Set(deadLetterArns).size).toBe(2);
    for (const arn of deadLetterArns) expect(arn).toMatch(/^arn:aws:sqs:/);
  });
});

async function ruleTargets(): Promise<Target[]> {
  const { Rules = [] } = await aws.eventBridge.send(
    new ListRulesCommand({ EventBusName: env.EVENT_BUS_NAME }),
  );
  const targets = await Promise.all(
    Rules.map(async (rule) => {
      const listed = await aws.eventBridge.send(
        new ListTargetsByRuleCommand({ EventBusName: env.EVENT_BUS_NAME, Rule: rule.Name }),
      );
      return listed.Targets ?? [];
    }),
  );
  return targets.flat();
}

describe('session key', () => {
  const context = { tenantId: 'ten_1', channelId: 'chn_1' };

  it('issues data keys bound to their encryption context', async () => {
    const dataKey = await aws.kms.send(
      new GenerateDataKeyCommand({
        KeyId: env.SESSION_KEY_ARN,
        KeySpec: 'AES_256',
        EncryptionContext: context,
      }),
    );
    const decrypted = await aws.kms.send(
      new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: context }),
    );
    expect(Buffer.from(decrypted.Plaintext ?? []).equals(Buffer.from(dataKey.Plaintext ?? [1]))).toBe(true);
    await expect(
      aws.kms.send(
        new DecryptCommand({
          CiphertextBlob: dataKey.CiphertextBlob,
          EncryptionContext: { ...context, channelId: 'chn_other' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it('rotates and is reachable by its alias', async () => {
    const rotation = await aws.kms.send(new GetKeyRotationStatusCommand({ KeyId: env.SESSION_KEY_ARN }));
    expect(rotation.KeyRotationEnabled).toBe(true);
    const byAlias = await aws.kms.send(new DescribeKeyCommand({ KeyId: 'alias/ClinicWa-Stateful/sessions' }));
    expect(byAlias.KeyMetadata?.Arn).toBe(env.SESSION_KEY_ARN);
  });
});

describe('webhook-secrets key', () => {
  const owner = { tenantId: 'ten_1', webhookId: 'whk_1' };

  it('seals a secret bound to its tenant and webhook, and rotates, reachable by its alias', async () => {
    const sealed = await aws.kms.send(
      new EncryptCommand({
        KeyId: env.WEBHOOK_SECRET_KEY_ARN,
        Plaintext: Buffer.from('whsec_test'),
        EncryptionContext: webhookSecretContext(owner),
      }),
    );
    const opened = await aws.kms.send(
      new DecryptCommand({
        CiphertextBlob: sealed.CiphertextBlob,
        KeyId: env.WEBHOOK_SECRET_KEY_ARN,
        EncryptionContext: webhookSecretContext(owner),
      }),
    );
    expect(Buffer.from(opened.Plaintext ?? []).toString()).toBe('whsec_test');
    await expect(
      aws.kms.send(
        new DecryptCommand({
          CiphertextBlob: sealed.CiphertextBlob,
          EncryptionContext: webhookSecretContext({ ...owner, webhookId: 'whk_2' }),
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    const rotation = await aws.kms.send(
      new GetKeyRotationStatusCommand({ KeyId: env.WEBHOOK_SECRET_KEY_ARN }),
    );
    expect(rotation.KeyRotationEnabled).toBe(true);
    const byAlias = await aws.kms.send(
      new DescribeKeyCommand({ KeyId: 'alias/ClinicWa-Stateful/webhook-secrets' }),
    );
    expect(byAlias.KeyMetadata?.Arn).toBe(env.WEBHOOK_SECRET_KEY_ARN);
    expect(env.WEBHOOK_SECRET_KEY_ARN).not.toBe(env.SESSION_KEY_ARN);
  });
});

describe('media bucket', () => {
  it('stores and returns media, with public access blocked', async () => {
    const key = `media/${randomUUID()}.ogg`;
    await aws.s3.send(
      new PutObjectCommand({
        Bucket: env.MEDIA_BUCKET_NAME,
        Key: key,
        Body: 'voice note',
        ContentType: 'audio/ogg',
      }),
    );
    const object = await aws.s3.send(new GetObjectCommand({ Bucket: env.MEDIA_BUCKET_NAME, Key: key }));
    expect(await object.Body?.transformToString()).toBe('voice note');
    const block = await aws.s3.send(new GetPublicAccessBlockCommand({ Bucket: env.MEDIA_BUCKET_NAME }));
    expect(block.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
  });
});
