import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveString } from '#infra/local/provisioning/template-values.ts';
import {
  parseRuntimeEnvironment,
  RUNTIME_ENVIRONMENT_KEYS,
  type RuntimeConsumer,
  type RuntimeEnvironmentKey,
} from '#infra/runtime-environment.ts';
import { PAIRING_SECRET_VALIDITY_MS } from '#shared/domain/events.ts';
import { statefulStack } from './support.ts';

type Resources = Record<
  string,
  { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string }
>;

function logicalIdsOf(template: Template, type: string, properties: Record<string, unknown> = {}): string[] {
  return Object.keys(template.findResources(type, { Properties: properties }));
}

/** The RuntimeEnvironment output with every Ref/GetAtt replaced by a readable placeholder. */
function runtimeEnvironmentOf(template: Template) {
  const json = template.toJSON() as { Resources: Resources; Outputs: Record<string, { Value: unknown }> };
  const resources = new Map(
    Object.keys(json.Resources).map((id) => [id, { ref: `ref:${id}`, attributes: { Arn: `arn:${id}` } }]),
  );
  const value = json.Outputs.RuntimeEnvironment?.Value;
  return parseRuntimeEnvironment(
    resolveString(value, { pseudoParameters: {}, parameters: {}, resources }, 'RuntimeEnvironment'),
  );
}

describe('stateful stack with 4 shards', () => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromStack(statefulStack({ shardCount: 4 }).stack);
  });

  it('keeps the platform table: pk/sk, gsi1, the keys-only outbox index, TTL expiresAt, PITR, AWS-managed encryption, protected', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        GlobalSecondaryIndexes: [
          {
            IndexName: 'gsi1',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
          {
            // A received message's content is not copied into the index and out again.
            IndexName: 'outbox',
            KeySchema: [
              { AttributeName: 'outboxpk', KeyType: 'HASH' },
              { AttributeName: 'outboxsk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true, KMSMasterKeyId: Match.absent() },
        DeletionProtectionEnabled: true,
      },
    });
  });

  it('encrypts the sessions table with the session key', () => {
    const [keyId] = logicalIdsOf(template, 'AWS::KMS::Key');
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: Match.absent(),
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      },
      DeletionProtectionEnabled: true,
    });
  });

  it('lays out the idempotency table as Powertools expects: id, TTL on expiration', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
    template.resourceCountIs('AWS::DynamoDB::Table', 3);
  });

  it('has one high-throughput FIFO command queue per shard, each with its own FIFO DLQ after 10 receives', () => {
    const highThroughputFifo = {
      FifoQueue: true,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      SqsManagedSseEnabled: true,
    };
    const commandQueues = template.findResources('AWS::SQS::Queue', {
      Properties: { ...highThroughputFifo, VisibilityTimeout: 30, RedrivePolicy: Match.anyValue() },
    });
    // The webhook deliveries' ordered queue is FIFO too, with its own DLQ (see below).
    const deadLetterQueues = logicalIdsOf(template, 'AWS::SQS::Queue', {
      ...highThroughputFifo,
      MessageRetentionPeriod: 14 * 24 * 3600,
      RedrivePolicy: Match.absent(),
    }).filter((id) => !id.startsWith('WebhookDeliveries'));
    expect(Object.keys(commandQueues)).toHaveLength(4);
    expect(deadLetterQueues).toHaveLength(4);
    const targets = Object.values(commandQueues).map((queue) => {
      const redrive = queue.Properties.RedrivePolicy as {
        deadLetterTargetArn: unknown;
        maxReceiveCount: number;
      };
      expect(redrive.maxReceiveCount).toBe(10);
      return (redrive.deadLetterTargetArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    });
    expect(targets.sort()).toEqual([...deadLetterQueues].sort());
  });

  it('raises an alarm as soon as a message waits in any dead-letter queue', () => {
    const redrivenTo = Object.values(
      template.findResources('AWS::SQS::Queue', { Properties: { RedrivePolicy: Match.anyValue() } }),
    ).map(
      (queue) =>
        (queue.Properties.RedrivePolicy.deadLetterTargetArn as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0],
    );
    const ruleTargetDeadLetters = Object.values(template.findResources('AWS::Events::Rule')).flatMap((rule) =>
      (rule.Properties.Targets as { DeadLetterConfig?: { Arn: { 'Fn::GetAtt': [string] } } }[]).flatMap(
        (target) => (target.DeadLetterConfig ? [target.DeadLetterConfig.Arn['Fn::GetAtt'][0]] : []),
      ),
    );
    const alarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: {
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Namespace: 'AWS/SQS',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        },
      }),
    );
    const watched = alarms.map(
      (alarm) =>
        (alarm.Properties.Dimensions as { Value: { 'Fn::GetAtt': [string, string] } }[])[0]?.Value[
          'Fn::GetAtt'
        ][0],
    );
    // Every command shard's DLQ, each event subscription's, the webhook deliveries' two, and each rule target's.
    expect(redrivenTo).toHaveLength(4 + 2 + 2);
    expect(ruleTargetDeadLetters).toHaveLength(2);
    expect([...watched].sort()).toEqual([...redrivenTo, ...ruleTargetDeadLetters].sort());
  });

  it('denies every queue access without TLS and keeps queues on stack deletion', () => {
    const queues = logicalIdsOf(template, 'AWS::SQS::Queue');
    // Per shard a queue and its DLQ; per consumer a queue, its DLQ, its rule target's DLQ, and the
    // pairing secrets' queue; the webhook deliveries' two queues (ordered and not) and their DLQs.
    expect(queues).toHaveLength(4 * 2 + 2 * 4 + 4);
    const resources = template.toJSON().Resources as Resources;
    for (const queueId of queues) {
      expect(resources[queueId]?.DeletionPolicy).toBe('Retain');
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  /** The targets of the rules on the platform bus matching the sources and `detailType`. */
  function targetsOfRules(detailType: unknown[]) {
    const [busId] = logicalIdsOf(template, 'AWS::Events::EventBus');
    const rules = template.findResources('AWS::Events::Rule', {
      Properties: {
        EventBusName: { Ref: busId },
        EventPattern: {
          source: ['clinic-wa.runner', 'clinic-wa.api', 'clinic-wa.webhooks'],
          'detail-type': detailType,
        },
        State: 'ENABLED',
      },
    });
    return Object.values(rules).flatMap(
      (rule) =>
        rule.Properties.Targets as {
          Arn: { 'Fn::GetAtt': [string] };
          DeadLetterConfig?: { Arn: { 'Fn::GetAtt': [string] } };
          RetryPolicy?: { MaximumEventAgeInSeconds?: number };
        }[],
    );
  }

  it('routes every platform event but pairing secrets from a custom bus to the recorder and webhook queues, each target with its own DLQ', () => {
    const targets = targetsOfRules([{ 'anything-but': ['channel.qr', 'channel.pairing_code'] }]);
    expect(targets).toHaveLength(2);
    const environment = runtimeEnvironmentOf(template);
    expect(targets.map((target) => `ref:${target.Arn['Fn::GetAtt'][0]}`).sort()).toEqual(
      [environment.RECORDER_QUEUE_URL, environment.WEBHOOK_QUEUE_URL].sort(),
    );
    const deadLetterIds = targets.map((target) => target.DeadLetterConfig?.Arn['Fn::GetAtt'][0] ?? '');
    expect(new Set(deadLetterIds).size).toBe(2);
    for (const id of [...deadLetterIds, ...targets.map((target) => target.Arn['Fn::GetAtt'][0])]) {
      // Standard queues: EventBridge DLQs must be, and consumers deduplicate by event id.
      expect(template.toJSON().Resources[id].Properties.FifoQueue).toBeUndefined();
    }
  });

  it('routes QR and pairing codes apart, to queues and retries that keep them no longer than they are valid, with no dead-letter queue', () => {
    const targets = targetsOfRules(['channel.qr', 'channel.pairing_code']);
    expect(targets).toHaveLength(2);
    const environment = runtimeEnvironmentOf(template);
    expect(targets.map((target) => `ref:${target.Arn['Fn::GetAtt'][0]}`).sort()).toEqual(
      [environment.RECORDER_PAIRING_QUEUE_URL, environment.WEBHOOK_PAIRING_QUEUE_URL].sort(),
    );
    const resources = template.toJSON().Resources as Resources;
    for (const target of targets) {
      expect(target.DeadLetterConfig).toBeUndefined();
      // EventBridge retries for 24 hours unless told otherwise; 60 s is the least it takes.
      expect(target.RetryPolicy?.MaximumEventAgeInSeconds).toBe(60);
      const queue = resources[target.Arn['Fn::GetAtt'][0]]?.Properties ?? {};
      // SQS keeps a message 60 s at least: longer than a later QR's 20 s, never longer than a first QR.
      expect(queue.MessageRetentionPeriod).toBe(60);
      expect(PAIRING_SECRET_VALIDITY_MS.firstQr / 1000).toBeGreaterThanOrEqual(60);
      expect(queue.RedrivePolicy).toBeUndefined();
      expect(queue.VisibilityTimeout as number).toBeLessThan(queue.MessageRetentionPeriod as number);
    }
    // Nothing else refers to them: no queue redrives into them, no other rule delivers to them.
    const others = Object.values(resources).filter(
      (resource) => resource.Type !== 'AWS::Events::Rule' && resource.Type !== 'AWS::SQS::QueuePolicy',
    );
    for (const target of targets)
      expect(JSON.stringify(others)).not.toContain(`"${target.Arn['Fn::GetAtt'][0]}"`);
    const durable = JSON.stringify(
      targetsOfRules([{ 'anything-but': ['channel.qr', 'channel.pairing_code'] }]),
    );
    for (const target of targets) expect(durable).not.toContain(`"${target.Arn['Fn::GetAtt'][0]}"`);
  });

  it('keeps a rotating session key with an alias', () => {
    const keys = template.findResources('AWS::KMS::Key', {
      Properties: { Description: Match.stringLikeRegexp('WhatsApp sessions') },
    });
    const [keyId] = Object.keys(keys);
    expect(Object.values(keys)).toMatchObject([
      { DeletionPolicy: 'Retain', Properties: { EnableKeyRotation: true, PendingWindowInDays: 30 } },
    ]);
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/ClinicWa-Stateful/sessions',
      TargetKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
  });

  it('keeps media private, TLS-only, encrypted, logged and expiring', () => {
    const [mediaId] = logicalIdsOf(template, 'AWS::S3::Bucket', { LoggingConfiguration: Match.anyValue() });
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        LifecycleConfiguration: {
          Rules: [Match.objectLike({ ExpirationInDays: 90, Status: 'Enabled' })],
        },
        LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: mediaId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('has no custom resources or functions (the local provisioner cannot run them)', () => {
    const types = Object.values(template.toJSON().Resources as Resources).map((resource) => resource.Type);
    expect(types.filter((type) => type.startsWith('Custom::') || type.includes('Lambda'))).toEqual([]);
    expect(types.filter((type) => type === 'AWS::CloudFormation::CustomResource')).toEqual([]);
  });

  it('publishes exactly the RuntimeEnvironment contract, command queues in shard order', () => {
    const environment = runtimeEnvironmentOf(template);
    expect(Object.keys(environment)).toEqual([...RUNTIME_ENVIRONMENT_KEYS]);
    const shardQueueIds = environment.COMMAND_QUEUE_URLS.split(',').map((ref) => ref.replace('ref:', ''));
    expect(shardQueueIds.map((id) => id.match(/CommandQueuesShard(\d+)Queue/)?.[1])).toEqual([
      '0',
      '1',
      '2',
      '3',
    ]);
    expect(environment).toMatchObject({
      SHARD_COUNT: '4',
      PLATFORM_TABLE_NAME: expect.stringMatching(/^ref:PlatformTable/),
      SESSIONS_TABLE_NAME: expect.stringMatching(/^ref:SessionsTable/),
      IDEMPOTENCY_TABLE_NAME: expect.stringMatching(/^ref:IdempotencyTable/),
      EVENT_BUS_NAME: expect.stringMatching(/^ref:EventsBus/),
      RECORDER_QUEUE_URL: expect.stringMatching(/^ref:EventsRecorderEventsQueue/),
      WEBHOOK_QUEUE_URL: expect.stringMatching(/^ref:EventsWebhooksEventsQueue/),
      RECORDER_PAIRING_QUEUE_URL: expect.stringMatching(/^ref:EventsRecorderPairingSecrets/),
      WEBHOOK_PAIRING_QUEUE_URL: expect.stringMatching(/^ref:EventsWebhooksPairingSecrets/),
      SESSION_KEY_ARN: expect.stringMatching(/^arn:SessionKey/),
      MEDIA_BUCKET_NAME: expect.stringMatching(/^ref:MediaBucket/),
      WEBHOOK_DELIVERY_QUEUE_URL: expect.stringMatching(/^ref:WebhookDeliveriesJobsQueue/),
      WEBHOOK_ORDERED_QUEUE_URL: expect.stringMatching(/^ref:WebhookDeliveriesOrderedQueue/),
    });
    // The contract only (synthesized alone, as locally; beside the other stacks, CDK adds an export
    // for each of their references).
    expect(Object.keys(template.toJSON().Outputs)).toEqual(['RuntimeEnvironment']);
  });
});

describe('shard count', () => {
  it('defaults to 16 command queues (cdk.json)', () => {
    const template = Template.fromStack(statefulStack().stack);
    const environment = runtimeEnvironmentOf(template);
    expect(environment.SHARD_COUNT).toBe('16');
    expect(environment.COMMAND_QUEUE_URLS.split(',')).toHaveLength(16);
    // And the webhook deliveries' ordered queue and its DLQ.
    expect(logicalIdsOf(template, 'AWS::SQS::Queue', { FifoQueue: true })).toHaveLength(32 + 2);
  });

  it('takes the count as a string from `cdk -c shardCount=2` and refuses nonsense', () => {
    expect(statefulStack({ shardCount: '2' }).stack.commandQueues.shardCount).toBe(2);
    expect(() => statefulStack({ shardCount: '0' })).toThrow(/shardCount/);
    expect(() => statefulStack({ shardCount: 'many' })).toThrow(/shardCount/);
  });
});

describe('bind methods', () => {
  /** A function-like consumer: a role plus the environment it was given. */
  function consumer(stack: Stack, id: string) {
    const role = new Role(stack, id, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    const environment: Partial<Record<RuntimeEnvironmentKey, string>> = {};
    const bound: RuntimeConsumer & { environment: typeof environment } = {
      grantPrincipal: role,
      environment,
      addEnvironment: (key, value) => {
        environment[key] = stack.resolve(value);
      },
    };
    return bound;
  }

  it('give access and set the matching variables together', () => {
    const { stack } = statefulStack({ shardCount: 2 });
    const runner = consumer(stack, 'Runner');
    stack.sessionsTable.bindReadWrite(runner);
    stack.sessionKey.bindEnvelopeEncryption(runner);
    stack.commandQueues.bindConsume(runner);
    stack.events.bindPublish(runner);
    expect(Object.keys(runner.environment).sort()).toEqual(
      [
        'COMMAND_QUEUE_URLS',
        'EVENT_BUS_NAME',
        'SESSIONS_TABLE_NAME',
        'SESSION_KEY_ARN',
        'SHARD_COUNT',
      ].sort(),
    );
    expect(runner.environment.SHARD_COUNT).toBe('2');

    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Condition: {
              'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenantId', 'channelId'] },
              Null: { 'kms:EncryptionContext:tenantId': 'false', 'kms:EncryptionContext:channelId': 'false' },
            },
          }),
          Match.objectLike({ Action: 'events:PutEvents' }),
        ]),
      },
    });
    // The sessions table's key is usable only through DynamoDB or with a channel's context.
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) =>
        policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Condition?: unknown }[],
    );
    const kmsStatements = statements.filter((statement) =>
      [statement.Action].flat().some((a) => a.startsWith('kms:')),
    );
    expect(kmsStatements).toHaveLength(2);
    for (const statement of kmsStatements) expect(statement.Condition).toBeDefined();
    expect(kmsStatements.flatMap((statement) => Object.keys(statement.Condition as object))).toContain(
      'StringEquals',
    );
  });

  it('bindGetItem: GetItem on the table alone (no index), its key only to decrypt through DynamoDB', () => {
    const { stack } = statefulStack({ shardCount: 2 });
    const reader = consumer(stack, 'Reader');
    // The sessions table has a key of its own; the platform table has indexes.
    stack.sessionsTable.bindGetItem(reader);
    stack.platformTable.bindGetItem(reader);
    expect(Object.keys(reader.environment).sort()).toEqual(['PLATFORM_TABLE_NAME', 'SESSIONS_TABLE_NAME']);
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
      (policy) =>
        policy.Properties.PolicyDocument.Statement as {
          Action: string | string[];
          Resource: unknown;
          Condition?: Record<string, Record<string, unknown>>;
        }[],
    );
    const resourceIds = (resource: unknown) =>
      [resource].flat().map((r) => JSON.stringify(r).match(/"(\w+?)[0-9A-F]{8}"/)?.[1]);
    expect(
      statements.map((statement) => ({
        actions: [statement.Action].flat(),
        on: resourceIds(statement.Resource),
        via: statement.Condition?.StringEquals?.['kms:ViaService'] ? 'dynamodb' : undefined,
      })),
    ).toEqual([
      { actions: ['dynamodb:GetItem'], on: ['PlatformTable', 'SessionsTable'], via: undefined },
      { actions: ['kms:Decrypt', 'kms:DescribeKey'], on: ['SessionKey'], via: 'dynamodb' },
    ]);
    expect(JSON.stringify(statements)).not.toContain('/index/');
  });

  it('give an event consumer both its queues, the pairing secrets’ one with no dead-letter queue to read', () => {
    const { stack } = statefulStack({ shardCount: 2 });
    const webhooks = consumer(stack, 'Webhooks');
    stack.events.webhooks.bindConsume(webhooks);
    expect(Object.keys(webhooks.environment).sort()).toEqual([
      'WEBHOOK_PAIRING_QUEUE_URL',
      'WEBHOOK_QUEUE_URL',
    ]);
    expect(webhooks.environment.WEBHOOK_PAIRING_QUEUE_URL).toEqual({
      Ref: expect.stringMatching(/^EventsWebhooksPairingSecrets/),
    });
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as { Action: string[]; Resource: unknown[] }[],
    );
    const readable = statements
      .filter((statement) => statement.Action.includes('sqs:ReceiveMessage'))
      .flatMap((statement) => statement.Resource as { 'Fn::GetAtt': [string] }[])
      .map((resource) => resource['Fn::GetAtt'][0].replace(/[0-9A-F]{8}$/, ''));
    expect(readable.sort()).toEqual([
      'EventsWebhooksEventsDeadLetterQueue',
      'EventsWebhooksEventsQueue',
      'EventsWebhooksPairingSecrets',
    ]);
  });

  it('give the webhook deliveries’ senders its queue to send to, the fan-out the ordered one, and the worker both and their DLQs', () => {
    const { stack } = statefulStack({ shardCount: 2 });
    const api = consumer(stack, 'Api');
    const fanOut = consumer(stack, 'FanOut');
    const dispatcher = consumer(stack, 'Dispatcher');
    stack.webhookDeliveries.bindSend(api);
    stack.webhookDeliveries.bindSendOrdered(fanOut);
    stack.webhookDeliveries.bindConsume(dispatcher);
    const jobs = {
      WEBHOOK_DELIVERY_QUEUE_URL: { Ref: expect.stringMatching(/^WebhookDeliveriesJobsQueue/) },
    };
    const ordered = {
      WEBHOOK_ORDERED_QUEUE_URL: { Ref: expect.stringMatching(/^WebhookDeliveriesOrderedQueue/) },
    };
    expect(api.environment).toEqual(jobs);
    expect(fanOut.environment).toEqual(ordered);
    expect(dispatcher.environment).toEqual({ ...jobs, ...ordered });
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
      (policy) =>
        (policy.Properties.PolicyDocument.Statement as { Action: string[]; Resource: unknown[] }[]).map(
          (statement) => ({ ...statement, role: JSON.stringify(policy.Properties.Roles) }),
        ),
    );
    const queuesOf = (role: string, action: string) =>
      statements
        .filter((statement) => statement.role.includes(role) && [statement.Action].flat().includes(action))
        .flatMap((statement) => [statement.Resource].flat() as { 'Fn::GetAtt': [string] }[])
        .map((resource) => resource['Fn::GetAtt'][0].replace(/[0-9A-F]{8}$/, ''))
        .sort();
    expect(queuesOf('Api', 'sqs:SendMessage')).toEqual(['WebhookDeliveriesJobsQueue']);
    expect(queuesOf('Api', 'sqs:ReceiveMessage')).toEqual([]);
    expect(queuesOf('Dispatcher', 'sqs:SendMessage')).toEqual(['WebhookDeliveriesJobsQueue']);
    expect(queuesOf('Dispatcher', 'sqs:ReceiveMessage')).toEqual([
      'WebhookDeliveriesJobsDeadLetterQueue',
      'WebhookDeliveriesJobsQueue',
      'WebhookDeliveriesOrderedDeadLetterQueue',
      'WebhookDeliveriesOrderedQueue',
    ]);
    expect(queuesOf('FanOut', 'sqs:SendMessage')).toEqual(['WebhookDeliveriesOrderedQueue']);
    expect(queuesOf('FanOut', 'sqs:ReceiveMessage')).toEqual([]);
  });
});
