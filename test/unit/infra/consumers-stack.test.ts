// The consumers stack as synthesized: the event recorder's function, its two event sources, its
// exact grants (attribute-limited on the platform table, held to what the code sends), its alarms;
// and its bundle, loaded as Lambda loads it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEventRecorder, EVENT_RECORDER_SOURCE } from '#functions/consumers/event-recorder.ts';
import { EVENT_RECORDER_ATTRIBUTES } from '#infra/constructs/event-recorder.construct.ts';
import { DEFAULT_CONSUMER_CONCURRENCY } from '#infra/consumers-stack.ts';
import { LAMBDA_NODE_RUNTIME } from '#infra/node-version.ts';
import { CONSUMERS_STACK_NAME, createApp, definePlatform, STATEFUL_STACK_NAME } from '#infra/platform-app.ts';
import { DynamoEventLog } from '#shared/aws/dynamo/event-log.ts';
import { DynamoTenantRetention } from '#shared/aws/dynamo/tenant-retention.ts';
import { loadEventLogConfig, loadResourceConfig } from '#shared/config.ts';
import { platformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import { type IamGrant, iamGrants } from './iam-grants.ts';
import { cfnId, fakeResourceValues, platform, SynthesizedPlatform } from './support.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

describe('consumers stack', () => {
  let built: ReturnType<typeof platform>;
  let synthesized: SynthesizedPlatform;
  let resources: Resources;
  let names: Map<string, string>;
  const named = (stack: string, id: string, attribute?: string) =>
    names.get(`${stack}/${id}`) ?? `${stack}/${id}${attribute ? `.${attribute}` : ''}`;

  beforeAll(() => {
    built = platform({ shardCount: 2 });
    const { stateful, consumers } = built;
    const { recorder, webhooks } = stateful.events;
    names = new Map([
      [cfnId(stateful.platformTable.table), 'platform-table'],
      [cfnId(stateful.sessionsTable.table), 'sessions-table'],
      [cfnId(stateful.idempotencyTable.table), 'idempotency-table'],
      [cfnId(stateful.sessionKey.key), 'session-key'],
      [cfnId(recorder.queue.queue), 'recorder-queue'],
      [cfnId(recorder.queue.deadLetterQueue), 'recorder-dlq'],
      [cfnId(recorder.pairingSecretsQueue), 'recorder-pairing-queue'],
      [cfnId(webhooks.queue.queue), 'webhook-queue'],
      [cfnId(webhooks.pairingSecretsQueue), 'webhook-pairing-queue'],
      [cfnId(consumers.recorder.function.logs), 'recorder-logs'],
      [cfnId(consumers.recorder.function.function), 'recorder'],
    ]);
    synthesized = new SynthesizedPlatform(built.app);
    // The webhook dispatcher's resources share the stack: webhook-dispatcher-stack.test.ts has them.
    resources = Object.fromEntries(
      Object.entries(synthesized.template(CONSUMERS_STACK_NAME).Resources as Resources).filter(
        ([id]) => !id.startsWith('WebhookDispatcher'),
      ),
    );
  });

  const ofType = (type: string) => Object.values(resources).filter((resource) => resource.Type === type);
  const stateful = () => synthesized.template(STATEFUL_STACK_NAME).Resources as Resources;

  describe('the event recorder', () => {
    it('is the only code in the stack beside the webhook dispatcher: nodejs24.x on arm64, traced, logging to a group kept 90 days', () => {
      const functions = ofType('AWS::Lambda::Function');
      expect(functions).toHaveLength(1);
      const [fn] = functions as [Resources[string]];
      expect(fn.Properties).toMatchObject({
        Runtime: LAMBDA_NODE_RUNTIME.name,
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Timeout: EVENT_RECORDER_SOURCE.timeoutSeconds,
        Handler: 'index.handler',
      });
      const [logs] = ofType('AWS::Logs::LogGroup');
      expect(logs?.Properties.RetentionInDays).toBe(90);
    });

    it('reads both recorder queues (not their DLQ, not the webhooks’) in batches of 10, reporting failed items, within their visibility', () => {
      const mappings = ofType('AWS::Lambda::EventSourceMapping').map(({ Properties }) => ({
        queue: synthesized.resolve(Properties.EventSourceArn, CONSUMERS_STACK_NAME, named),
        batchSize: Properties.BatchSize,
        responses: Properties.FunctionResponseTypes,
        maxConcurrency: (Properties.ScalingConfig as { MaximumConcurrency?: number } | undefined)
          ?.MaximumConcurrency,
      }));
      // Each source runs at most 5 at a time: the recorder takes 10 of the account's pool at most.
      const source = { batchSize: 10, responses: ['ReportBatchItemFailures'], maxConcurrency: 5 };
      expect(mappings.sort((a, b) => a.queue.localeCompare(b.queue))).toEqual([
        { queue: 'recorder-pairing-queue', ...source },
        { queue: 'recorder-queue', ...source },
      ]);
      expect(DEFAULT_CONSUMER_CONCURRENCY.recorderMaxConcurrency).toBe(5);
      // Lambda refuses a source whose queue hides a message for less than the function may run.
      const { recorder } = built.stateful.events;
      for (const queue of [recorder.queue.queue, recorder.pairingSecretsQueue]) {
        const id = cfnId(queue).split('/')[1] ?? '';
        const visibility = Number(stateful()[id]?.Properties.VisibilityTimeout);
        expect(visibility, id).toBeGreaterThanOrEqual(EVENT_RECORDER_SOURCE.timeoutSeconds);
      }
      expect(EVENT_RECORDER_SOURCE.batchSize).toBe(10);
    });

    it('gets the whole contract as its environment, as the stateful stack publishes it', () => {
      const [fn] = ofType('AWS::Lambda::Function') as [Resources[string]];
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      const fake = fakeResourceValues(synthesized);
      const environment = Object.fromEntries(
        Object.entries(variables).map(([key, value]) => [
          key,
          synthesized.resolve(value, CONSUMERS_STACK_NAME, fake),
        ]),
      );
      expect(loadResourceConfig(environment).recorderQueueUrl).toMatch(/^https:\/\/sqs\./);
      // The settle window is the code's default, the same the API's readers use.
      expect(loadEventLogConfig(environment).settleMs).toBe(loadEventLogConfig({}).settleMs);
    });
  });

  describe('IAM', () => {
    let grants: IamGrant[];
    beforeAll(() => {
      const role = cfnId(built.consumers.recorder.function.role);
      grants = iamGrants(synthesized, named).filter((grant) => grant.principal === role);
    });

    it('gives the recorder its logs, traces, its two queues, and of the platform table only puts and gets of the event log’s attributes', () => {
      const describeGrant = (grant: IamGrant) =>
        `${grant.resources.join(' ')}: ${[...grant.actions].sort().join(' ')}${grant.condition ? ` if ${JSON.stringify(grant.condition)}` : ''}`;
      const partitions = { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['TENANT#*'] } };
      expect(grants.map(describeGrant).sort()).toEqual(
        [
          'recorder-logs: logs:CreateLogStream logs:PutLogEvents',
          '*: xray:PutTelemetryRecords xray:PutTraceSegments',
          'recorder-queue recorder-pairing-queue: sqs:ChangeMessageVisibility sqs:DeleteMessage sqs:GetQueueAttributes sqs:GetQueueUrl sqs:ReceiveMessage',
          `platform-table: dynamodb:PutItem if ${JSON.stringify({
            ...partitions,
            'ForAllValues:StringEquals': {
              'dynamodb:Attributes': [...new Set(EVENT_RECORDER_ATTRIBUTES.put)].sort(),
            },
            StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
          })}`,
          `platform-table: dynamodb:GetItem if ${JSON.stringify({
            ...partitions,
            'ForAllValues:StringEquals': {
              'dynamodb:Attributes': [...new Set(EVENT_RECORDER_ATTRIBUTES.get)].sort(),
            },
            StringEquals: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
          })}`,
        ].sort(),
      );
      // Nothing of the sessions table, the session key, the DLQ or any index; no KMS at all.
      const reached = grants.flatMap((grant) => grant.resources).join(' ');
      expect(reached).not.toMatch(/sessions-table|session-key|recorder-dlq|webhook|idempotency|index\//);
      expect(grants.flatMap((grant) => grant.actions).some((action) => action.startsWith('kms:'))).toBe(
        false,
      );
    });

    it('holds the grant to what the recorder’s code sends: conditional puts of those attributes, gets projecting those', async () => {
      const sent: { name: string; input: Record<string, unknown> }[] = [];
      const client = {
        send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
          sent.push({ name: command.constructor.name, input: command.input });
          if (command.constructor.name === 'TransactWriteCommand' && sent.length === 2) {
            // The second append finds the event stored by the same delivery: it is written again.
            const { TransactionCanceledException } = await import('@aws-sdk/client-dynamodb');
            throw new TransactionCanceledException({
              message: 'cancelled',
              $metadata: {},
              CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
            });
          }
          if (command.constructor.name === 'GetCommand') {
            return {
              Item: {
                position: `${String(Date.now() - 1000).padStart(13, '0')}#${event.id}`,
                writer: 'message-1',
                retentionDays: 30,
                status: 'active',
              },
            };
          }
          return {};
        },
      } as unknown as DynamoDBDocumentClient;
      const event = platformEvent(
        'channel.status',
        { tenantId: newId('tenant'), channelId: null },
        { status: 'open', previousStatus: 'connecting' },
      );
      const log = new DynamoEventLog(client, 'platform-table');
      await log.append([{ event, retentionDays: 30, writer: 'message-1' }]);
      await log.append([{ event, retentionDays: 30, writer: 'message-1' }]);
      await new DynamoTenantRetention(client, 'platform-table').retentionOf(event.tenantId);

      const puts = sent.flatMap(({ name, input }) =>
        name === 'TransactWriteCommand'
          ? (input.TransactItems as { Put?: Record<string, unknown> }[]).map((item) => item.Put)
          : name === 'PutCommand'
            ? [input]
            : [],
      );
      const gets = sent.filter(({ name }) => name === 'GetCommand').map(({ input }) => input);
      expect(sent.map(({ name }) => name)).toEqual([
        'TransactWriteCommand',
        'TransactWriteCommand',
        'GetCommand',
        'PutCommand',
        'GetCommand',
      ]);
      expect(puts).toHaveLength(5);
      for (const put of puts) {
        const item = put?.Item as Record<string, unknown>;
        expect(
          Object.keys(item).filter(
            (name) => !(EVENT_RECORDER_ATTRIBUTES.put as readonly string[]).includes(name),
          ),
        ).toEqual([]);
        expect(String(item.pk)).toMatch(/^TENANT#/);
        expect(put?.ConditionExpression).toBe('attribute_not_exists(pk)');
        expect(put?.ReturnValues).toBeUndefined();
      }
      for (const get of gets) {
        const projected = Object.values(get.ExpressionAttributeNames as Record<string, string>);
        expect(String(get.ProjectionExpression).split(', ')).toHaveLength(projected.length);
        expect(
          projected.filter((name) => !(EVENT_RECORDER_ATTRIBUTES.get as readonly string[]).includes(name)),
        ).toEqual([]);
        expect(String((get.Key as { pk: string }).pk)).toMatch(/^TENANT#/);
      }
    });
  });

  describe('alarms', () => {
    afterEach(() => vi.restoreAllMocks());

    it('on the recorder’s Errors and Throttles, on events not recorded (the EMF metric it prints), and on a backlog of 5 minutes; its DLQ has its own', async () => {
      const alarms = ofType('AWS::CloudWatch::Alarm').map(({ Properties }) => {
        const dimensions = (Properties.Dimensions as { Name: string; Value: unknown }[]).map(
          ({ Name, Value }) => `${Name}=${synthesized.resolve(Value, CONSUMERS_STACK_NAME, named)}`,
        );
        return `${Properties.Namespace} ${Properties.MetricName} ${dimensions.join(',')} ${Properties.Statistic}/${Properties.Period} >= ${Properties.Threshold} (${Properties.TreatMissingData})`;
      });
      expect(alarms.sort()).toEqual(
        [
          'AWS/Lambda Errors FunctionName=recorder Sum/300 >= 1 (notBreaching)',
          'AWS/Lambda Throttles FunctionName=recorder Sum/300 >= 1 (notBreaching)',
          'ClinicWA EventsNotRecorded service=clinic-wa Sum/300 >= 1 (notBreaching)',
          'AWS/SQS ApproximateAgeOfOldestMessage QueueName=recorder-queue Maximum/300 >= 300 (notBreaching)',
        ].sort(),
      );
      // The recorder queue's dead letters alarm from the first one (stateful stack, SecureQueue).
      const dlqAlarm = Object.values(stateful()).find(
        (resource) =>
          resource.Type === 'AWS::CloudWatch::Alarm' &&
          JSON.stringify(resource.Properties.Dimensions).includes(
            cfnId(built.stateful.events.recorder.queue.deadLetterQueue).split('/')[1] ?? '-',
          ),
      );
      expect(dlqAlarm?.Properties).toMatchObject({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 1,
      });

      // What the recorder prints for a record that is not an event: the metric the alarm watches.
      const lines: string[] = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
        lines.push(String(chunk));
        return true;
      });
      vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      const recorder = createEventRecorder({
        eventLog: { append: async () => [], list: async () => ({ items: [], nextCursor: null }) },
        tenantRetention: { retentionOf: async () => 30 },
      });
      const record = {
        messageId: 'm-1',
        body: '{"not":"an event"}',
        attributes: { ApproximateReceiveCount: '1' },
      };
      const ok = { ...record, messageId: 'm-2', body: 'x' };
      const answer = await recorder(
        { Records: [record, ok] } as unknown as SQSEvent,
        { awsRequestId: 'r', functionName: 'recorder' } as Context,
      ).catch((error: Error) => error);
      vi.restoreAllMocks();
      expect(answer).toMatchObject({ name: 'FullBatchFailureError' });
      const emf = lines
        .flatMap((line) => line.split('\n'))
        .filter((line) => line.includes('"_aws"'))
        .map(
          (line) =>
            JSON.parse(line) as {
              _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
              [k: string]: unknown;
            },
        );
      const notRecorded = emf.find((document) => 'EventsNotRecorded' in document);
      // One data point per record that failed (EMF keeps repeated values of a metric as an array).
      expect([notRecorded?.EventsNotRecorded].flat()).toEqual([1, 1]);
      expect(notRecorded?._aws.CloudWatchMetrics[0]).toMatchObject({
        Namespace: 'ClinicWA',
        Dimensions: [['service']],
      });
      expect(notRecorded?.service).toBe('clinic-wa');
    });
  });
});

describe('the event recorder’s bundle', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'clinic-wa-consumers-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('loads on the project’s Node with only its environment, and fails a batch of records that are not events', () => {
    const app = createApp({
      outdir,
      context: { shardCount: 2, 'aws:cdk:bundling-stacks': [CONSUMERS_STACK_NAME] },
      builtinCloudFormationValidation: false,
      treeMetadata: false,
    });
    definePlatform(app, { checks: false });
    const synthesized = new SynthesizedPlatform(app);
    const [fn] = Object.values(synthesized.template(CONSUMERS_STACK_NAME).Resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::Function',
    ) as unknown as [
      { Properties: { Code: { S3Key: string }; Environment: { Variables: Record<string, unknown> } } },
    ];
    const directory = join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
    expect(readdirSync(directory).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const fake = fakeResourceValues(synthesized);
    const environment = Object.fromEntries(
      Object.entries(fn.Properties.Environment.Variables).map(([key, value]) => [
        key,
        synthesized.resolve(value, CONSUMERS_STACK_NAME, fake),
      ]),
    );
    const event = {
      Records: [{ messageId: 'm-1', body: 'not json', attributes: { ApproximateReceiveCount: '1' } }],
    };
    const program = `const { handler } = await import(${JSON.stringify(join(directory, 'index.mjs'))});
const answer = await handler(${JSON.stringify(event)}, { functionName: 'recorder', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 10000 }).catch((error) => ({ thrown: error.name }));
console.log(JSON.stringify(answer));`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', program], {
      env: {
        ...environment,
        AWS_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_NAME: 'recorder',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status, result.stderr.slice(-2000)).toBe(0);
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}')).toEqual({
      thrown: 'FullBatchFailureError',
    });
  }, 120_000);
});
