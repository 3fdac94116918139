import { readFileSync } from 'node:fs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DELIVERY_METRICS,
  WEBHOOK_DISPATCHER_SOURCES as SOURCES,
} from '#functions/consumers/webhook-dispatcher.ts';
import { WEBHOOK_EVENT_MAX_RECEIVE_COUNT } from '#infra/constructs/event-routing.construct.ts';
import { MAX_RECEIVE_COUNT } from '#infra/constructs/secure-queue.construct.ts';
import {
  DELIVERY_FUNCTION_TIMEOUT,
  DISPATCHER_TABLE_ACTIONS,
  FAILED_SHARE_ALARM,
  FAN_OUT_TIMEOUT,
  failedShareExpression,
  ORDERED_BATCH_SIZE,
} from '#infra/constructs/webhook-dispatcher.construct.ts';
import { DEFAULT_CONSUMER_CONCURRENCY } from '#infra/consumers-stack.ts';
import { LAMBDA_NODE_RUNTIME } from '#infra/node-version.ts';
import { CONSUMERS_STACK_NAME, type Platform } from '#infra/platform-app.ts';
import { RUNTIME_ENVIRONMENT_KEYS } from '#infra/runtime-environment.ts';
import { DynamoDeliveryRepository } from '#shared/aws/dynamo/delivery-repository.ts';
import { DynamoEventSequenceCursors } from '#shared/aws/dynamo/event-sequence-cursors.ts';
import { DynamoTenantRetention } from '#shared/aws/dynamo/tenant-retention.ts';
import { DynamoWebhookRepository } from '#shared/aws/dynamo/webhook-repository.ts';
import { loadResourceConfig, loadWebhookDispatchConfig, loadWebhookUrlPolicy } from '#shared/config.ts';
import { EVENT_GAP_WAIT_MS } from '#shared/domain/event-sequence.ts';
import { platformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import { type IamGrant, iamGrants, principalsAllowed } from './iam-grants.ts';
import { cfnId, fakeResourceValues, platform, SynthesizedPlatform } from './support.ts';

describe('consumers stack: the webhook dispatcher', () => {
  let built: Platform & { app: import('aws-cdk-lib').App };
  let synthesized: SynthesizedPlatform;
  let template: Template;
  let names: Map<string, string>;
  const named = (stack: string, id: string, attribute?: string) =>
    names.get(`${stack}/${id}`) ?? `${stack}/${id}${attribute ? `.${attribute}` : ''}`;

  beforeAll(() => {
    built = platform({ shardCount: 2 });
    const { stateful } = built;
    const webhooks = stateful.events.webhooks;
    const deliveries = stateful.webhookDeliveries;
    names = new Map([
      [cfnId(stateful.platformTable.table), 'platform-table'],
      [cfnId(stateful.sessionsTable.table), 'sessions-table'],
      [cfnId(stateful.sessionKey.key), 'session-key'],
      [cfnId(stateful.webhookSecretKey.key), 'webhook-secret-key'],
      [cfnId(stateful.media.bucket), 'media-bucket'],
      [cfnId(stateful.events.bus), 'event-bus'],
      [cfnId(webhooks.queue.queue), 'webhook-events'],
      [cfnId(webhooks.queue.deadLetterQueue), 'webhook-events-dlq'],
      [cfnId(webhooks.pairingSecretsQueue), 'webhook-pairing'],
      [cfnId(deliveries.queue.queue), 'jobs'],
      [cfnId(deliveries.queue.deadLetterQueue), 'jobs-dlq'],
      [cfnId(deliveries.ordered.queue), 'ordered'],
      [cfnId(deliveries.ordered.deadLetterQueue), 'ordered-dlq'],
    ]);
    synthesized = new SynthesizedPlatform(built.app);
    template = Template.fromJSON(synthesized.template(CONSUMERS_STACK_NAME));
  });

  /** The dispatcher's resources of the stack (the event recorder's are consumers-stack.test.ts's). */
  const ours = <T>(found: Record<string, T>): Record<string, T> =>
    Object.fromEntries(Object.entries(found).filter(([id]) => id.startsWith('WebhookDispatcher')));
  const functionsOf = () =>
    Object.entries(ours(template.findResources('AWS::Lambda::Function'))) as [
      string,
      { Properties: Record<string, unknown> & { Environment: { Variables: Record<string, unknown> } } },
    ][];
  const functionId = (handler: string) =>
    functionsOf().find(([, fn]) => fn.Properties.Handler === `index.${handler}`)?.[0] ?? '';

  it('has a fan-out and a delivery function on the project’s runtime, within their queues’ visibility', () => {
    const byHandler = Object.fromEntries(
      functionsOf().map(([, fn]) => [fn.Properties.Handler, fn.Properties]),
    );
    expect(Object.keys(byHandler).sort()).toEqual(['index.deliveryHandler', 'index.fanOutHandler']);
    expect(byHandler['index.fanOutHandler']).toMatchObject({
      Runtime: LAMBDA_NODE_RUNTIME.name,
      Architectures: ['arm64'],
      Timeout: FAN_OUT_TIMEOUT.toSeconds(),
      TracingConfig: { Mode: 'Active' },
    });
    // The pairing secrets' queue gives a message out again after 20 s: the fan-out must be done.
    expect(FAN_OUT_TIMEOUT.toSeconds()).toBeLessThanOrEqual(20);
    expect(byHandler['index.deliveryHandler']).toMatchObject({
      Timeout: DELIVERY_FUNCTION_TIMEOUT.toSeconds(),
    });
    // Five first tries of one group in turn at 15 s each fit.
    expect(ORDERED_BATCH_SIZE * 15).toBeLessThan(DELIVERY_FUNCTION_TIMEOUT.toSeconds());
  });

  it('reads each queue with partial batch failures: events and pairing secrets to the fan-out, jobs to the worker', () => {
    const mappings = Object.values(ours(template.findResources('AWS::Lambda::EventSourceMapping'))).map(
      (mapping) => mapping.Properties as Record<string, unknown>,
    );
    const described = mappings
      .map((mapping) => ({
        queue: synthesized.resolve(mapping.EventSourceArn as never, CONSUMERS_STACK_NAME, named),
        fn: (mapping.FunctionName as { Ref: string }).Ref,
        batchSize: mapping.BatchSize,
        window: mapping.MaximumBatchingWindowInSeconds,
        failures: mapping.FunctionResponseTypes,
        max: (mapping.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency,
      }))
      .sort((a, b) => a.queue.localeCompare(b.queue));
    const fanOut = functionId('fanOutHandler');
    const delivery = functionId('deliveryHandler');
    const partial = ['ReportBatchItemFailures'];
    // Every source has a ceiling: a receiver that never answers holds an execution 15 s a try.
    expect(described).toEqual([
      { queue: 'jobs', fn: delivery, batchSize: 10, window: undefined, failures: partial, max: 10 },
      {
        queue: 'ordered',
        fn: delivery,
        batchSize: ORDERED_BATCH_SIZE,
        window: undefined,
        failures: partial,
        max: 10,
      },
      { queue: 'webhook-events', fn: fanOut, batchSize: 10, window: 1, failures: partial, max: 5 },
      { queue: 'webhook-pairing', fn: fanOut, batchSize: 10, window: undefined, failures: partial, max: 5 },
    ]);
  });

  it('reserves for each function exactly what its two sources may run: 30 of the default 1,000, none for the recorder', () => {
    const reserved = Object.fromEntries(
      functionsOf().map(([, fn]) => [fn.Properties.Handler, fn.Properties.ReservedConcurrentExecutions]),
    );
    expect(reserved).toEqual({ 'index.fanOutHandler': 10, 'index.deliveryHandler': 20 });
    const all = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (fn) => fn.Properties.ReservedConcurrentExecutions ?? 0,
    );
    expect(all.reduce((a: number, b: number) => a + b, 0)).toBe(30);
    const d = DEFAULT_CONSUMER_CONCURRENCY;
    expect(d.fanOutReservedConcurrency).toBe(2 * d.fanOutMaxConcurrency);
    expect(d.deliveryReservedConcurrency).toBe(2 * d.deliveryMaxConcurrency);
    // At most 40 executions for every consumer together, well under the 900 the default quota leaves
    // once Lambda's 100 unreserved are set aside.
    expect(2 * (d.recorderMaxConcurrency + d.fanOutMaxConcurrency + d.deliveryMaxConcurrency)).toBe(40);
  });

  it('takes the ceilings and reservations from context, `off` for none, and refuses a reservation its sources would outrun', () => {
    const custom = platform({
      shardCount: 2,
      recorderMaxConcurrency: '3',
      webhookFanOutMaxConcurrency: 2,
      webhookFanOutReservedConcurrency: 'off',
      webhookDeliveryMaxConcurrency: '25',
      webhookDeliveryReservedConcurrency: 60,
    });
    const resources = Template.fromJSON(
      new SynthesizedPlatform(custom.app).template(CONSUMERS_STACK_NAME),
    ).toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(
      Object.fromEntries(
        functions.map((fn) => [fn.Properties.Handler, fn.Properties.ReservedConcurrentExecutions]),
      ),
    ).toEqual({
      'index.handler': undefined,
      'index.fanOutHandler': undefined,
      'index.deliveryHandler': 60,
    });
    const ceilings = Object.values(resources)
      .filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping')
      .map((r) => (r.Properties.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency)
      .sort((a, b) => a - b);
    expect(ceilings).toEqual([2, 2, 3, 3, 25, 25]);

    const refused = (context: Record<string, unknown>) => () => platform({ shardCount: 2, ...context });
    expect(refused({ webhookDeliveryReservedConcurrency: 19 })).toThrow(
      /webhookDeliveryReservedConcurrency \(19\) is below what the function's two event sources may run \(20\)/,
    );
    expect(refused({ webhookFanOutMaxConcurrency: 1 })).toThrow(/from 2 to 1000/);
    expect(refused({ recorderMaxConcurrency: 1001 })).toThrow(/from 2 to 1000/);
    expect(refused({ webhookFanOutReservedConcurrency: 0 })).toThrow(/positive integer/);
  });

  it('hands first tries out at once, and gives the webhook event queue room for held events before its DLQ', () => {
    const resources = Template.fromJSON(synthesized.template(built.stateful.stackName)).toJSON().Resources;
    const resource = (construct: import('constructs').IConstruct) =>
      resources[cfnId(construct).split('/')[1] ?? ''];
    const ordered = resource(built.stateful.webhookDeliveries.ordered.queue);
    expect(ordered?.Properties).toMatchObject({ FifoQueue: true, VisibilityTimeout: 180 });
    expect(ordered?.Properties).not.toHaveProperty('DelaySeconds');
    // Every hold of an event for its turn is a receive: a second each, 10 s a gap at most.
    const maxReceivesOf = (queue: import('constructs').IConstruct) =>
      resource(queue)?.Properties.RedrivePolicy.maxReceiveCount;
    expect(WEBHOOK_EVENT_MAX_RECEIVE_COUNT).toBe(
      MAX_RECEIVE_COUNT + 3 * (EVENT_GAP_WAIT_MS / 1000 / SOURCES.fanOut.events.holdSeconds),
    );
    expect(maxReceivesOf(built.stateful.events.webhooks.queue.queue)).toBe(WEBHOOK_EVENT_MAX_RECEIVE_COUNT);
    expect(maxReceivesOf(built.stateful.events.recorder.queue.queue)).toBe(MAX_RECEIVE_COUNT);
  });

  it('gives each function its environment: the contract the config loaders read, nothing local-only', () => {
    for (const [, fn] of functionsOf()) {
      const variables = Object.fromEntries(
        Object.entries(fn.Properties.Environment.Variables).map(([key, value]) => [
          key,
          synthesized.resolve(value as never, CONSUMERS_STACK_NAME, fakeResourceValues(synthesized)),
        ]),
      );
      for (const key of RUNTIME_ENVIRONMENT_KEYS) expect(variables).toHaveProperty(key);
      expect(() => loadResourceConfig(variables)).not.toThrow();
      const inLambda = { ...variables, AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' };
      expect(loadWebhookDispatchConfig(inLambda)).toEqual({ retryScale: 1 });
      expect(loadWebhookUrlPolicy(inLambda)).toEqual({ allowLoopback: false });
      expect(variables.POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS).toBe('false');
    }
  });

  describe('IAM', () => {
    let grants: IamGrant[];
    beforeAll(() => {
      grants = iamGrants(synthesized, named);
    });
    const grantsOf = (handler: string) => {
      const fn = template.findResources('AWS::Lambda::Function')[functionId(handler)];
      const role = (fn?.Properties.Role as { 'Fn::GetAtt': [string] } | undefined)?.['Fn::GetAtt'][0];
      return grants.filter((grant) => grant.principal === `${CONSUMERS_STACK_NAME}/${role}`);
    };
    const resourcesFor = (handler: string, action: string) =>
      [
        ...new Set(
          grantsOf(handler)
            .filter((grant) => grant.actions.includes(action))
            .flatMap((grant) => grant.resources),
        ),
      ].sort();

    it('lets the fan-out read its event queues and queue first tries, the worker read the job queues and queue retries', () => {
      expect(resourcesFor('fanOutHandler', 'sqs:ReceiveMessage')).toEqual([
        'webhook-events',
        'webhook-events-dlq',
        'webhook-pairing',
      ]);
      expect(resourcesFor('fanOutHandler', 'sqs:SendMessage')).toEqual(['ordered']);
      // A held event is handed back to its queue for a second (ChangeMessageVisibility, batched too).
      expect(resourcesFor('fanOutHandler', 'sqs:ChangeMessageVisibility')).toContain('webhook-events');
      expect(resourcesFor('deliveryHandler', 'sqs:ReceiveMessage')).toEqual([
        'jobs',
        'jobs-dlq',
        'ordered',
        'ordered-dlq',
      ]);
      expect(resourcesFor('deliveryHandler', 'sqs:SendMessage')).toEqual(['jobs']);
      for (const handler of ['fanOutHandler', 'deliveryHandler']) {
        expect(resourcesFor(handler, 'events:PutEvents')).toEqual(['event-bus']);
      }
    });

    it('gives each function of the platform table only gets, puts, queries and updates, on the table (no index), in tenant partitions', () => {
      for (const handler of ['fanOutHandler', 'deliveryHandler']) {
        const onTable = grantsOf(handler).filter((grant) =>
          grant.resources.some((resource) => resource.startsWith('platform-table')),
        );
        expect(
          onTable.map(({ actions, resources, condition }) => ({ actions, resources, condition })),
        ).toEqual([
          {
            actions: [...DISPATCHER_TABLE_ACTIONS],
            resources: ['platform-table'],
            condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['TENANT#*'] } },
          },
        ]);
        for (const action of ['DeleteItem', 'BatchGetItem', 'BatchWriteItem', 'Scan', 'ConditionCheckItem']) {
          expect(resourcesFor(handler, `dynamodb:${action}`)).toEqual([]);
        }
      }
    });

    it('holds that grant to what the dispatcher’s code sends to the table', async () => {
      // The repository methods the dispatcher calls: a new call in its code must be added here.
      const source = readFileSync(
        new URL('../../../shared/use-cases/webhook-dispatch.ts', import.meta.url),
        'utf8',
      );
      const called = [...new Set(source.match(/deps\.(webhooks|deliveries|cursors)\.\w+/g))].sort();
      expect(called).toEqual([
        'deps.cursors.advance',
        'deps.cursors.get',
        'deps.deliveries.claimTry',
        'deps.deliveries.create',
        'deps.deliveries.get',
        'deps.deliveries.recordAttempt',
        'deps.webhooks.get',
        'deps.webhooks.listAll',
        'deps.webhooks.update',
      ]);
      // And the dispatcher's platform gives it no other DynamoDB user.
      const entry = readFileSync(
        new URL('../../../functions/consumers/webhook-dispatcher.ts', import.meta.url),
        'utf8',
      );
      expect([...new Set(entry.match(/\bplatform\.(?!ts\b)\w+/g))].sort()).toEqual([
        'platform.deliveries',
        'platform.deliveryQueue',
        'platform.eventSequenceCursors',
        'platform.events',
        'platform.media',
        'platform.orderedDeliveryQueue',
        'platform.tenantRetention',
        'platform.webhookSecrets',
        'platform.webhookUrlPolicy',
        'platform.webhooks',
      ]);

      const sent: { name: string; input: Record<string, unknown> }[] = [];
      const tenantId = newId('tenant');
      const webhookItem = { id: 'wh_1', tenantId, secrets: [], version: 3, attempts: [], revision: 1 };
      const client = {
        send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
          sent.push({ name: command.constructor.name, input: command.input });
          switch (command.constructor.name) {
            case 'QueryCommand':
              return { Items: [webhookItem] };
            case 'GetCommand':
              return { Item: webhookItem };
            case 'UpdateCommand':
              return { Attributes: webhookItem };
            default:
              return {};
          }
        },
      } as unknown as DynamoDBDocumentClient;
      const webhooks = new DynamoWebhookRepository(client, 'platform-table');
      const deliveries = new DynamoDeliveryRepository(client, 'platform-table');
      await webhooks.listAll(tenantId);
      await webhooks.get(tenantId, 'wh_1');
      await webhooks.update(tenantId, 'wh_1', 3, { status: 'disabled', disabledReason: 'gone' } as never);
      await deliveries.create({
        id: 'dlv_1',
        tenantId,
        webhookId: 'wh_1',
        event: platformEvent(
          'channel.status',
          { tenantId, channelId: null },
          { status: 'open', previousStatus: 'connecting' },
        ),
        attempts: [],
        createdAt: new Date().toISOString(),
      } as never);
      await deliveries.get(tenantId, 'wh_1', 'dlv_1');
      await deliveries.claimTry(
        tenantId,
        'wh_1',
        'dlv_1',
        { attemptCount: 0, generation: 0 },
        new Date().toISOString(),
        new Date(Date.now() + 60_000).toISOString(),
      );
      await new DynamoTenantRetention(client, 'platform-table').retentionOf(tenantId);
      await deliveries.recordAttempt(tenantId, 'wh_1', 'dlv_1', {} as never, {
        status: 'succeeded' as never,
        nextAttemptAt: null,
      });
      const cursors = new DynamoEventSequenceCursors(client, 'platform-table');
      const channelId = newId('channel');
      await cursors.get(tenantId, channelId);
      await cursors.advance(tenantId, channelId, null, { epoch: 1, seq: 1 });
      await cursors.advance(tenantId, channelId, { epoch: 1, seq: 1 }, { epoch: 1, seq: 2 });

      const actionOf: Record<string, string> = {
        GetCommand: 'dynamodb:GetItem',
        QueryCommand: 'dynamodb:Query',
        PutCommand: 'dynamodb:PutItem',
        UpdateCommand: 'dynamodb:UpdateItem',
      };
      expect(sent.length).toBeGreaterThanOrEqual(7);
      for (const { name, input } of sent) {
        expect(DISPATCHER_TABLE_ACTIONS as readonly string[], name).toContain(actionOf[name]);
        expect(input.IndexName, name).toBeUndefined();
        const pk =
          (input.Key as { pk?: string } | undefined)?.pk ??
          (input.Item as { pk?: string } | undefined)?.pk ??
          (input.ExpressionAttributeValues as { ':pk'?: string } | undefined)?.[':pk'];
        expect(String(pk), name).toMatch(/^TENANT#/);
      }
      expect([...new Set(sent.map(({ name }) => actionOf[name]))].sort()).toEqual([
        ...DISPATCHER_TABLE_ACTIONS,
      ]);
    });

    it('lets the worker only get the media bucket’s tenant objects (to presign download URLs), the fan-out nothing of it', () => {
      const onMedia = (handler: string) =>
        grantsOf(handler)
          .filter((grant) => grant.resources.some((resource) => resource.startsWith('media-bucket')))
          .map(({ actions, resources, condition }) => ({ actions, resources, condition }));
      expect(onMedia('deliveryHandler')).toEqual([
        { actions: ['s3:GetObject'], resources: ['media-bucket/media/*'], condition: undefined },
      ]);
      expect(onMedia('fanOutHandler')).toEqual([]);
      // What the grant is for: the dispatcher hands its media store to `withMediaLinks` alone, which
      // only presigns (no S3 call: no listing needed, a missing file is the downloader's 403/404).
      const source = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
      expect(source('shared/use-cases/webhook-dispatch.ts').match(/deps\.media\b[.\w]*/g)).toEqual([
        'deps.media',
        'deps.media',
      ]);
      expect([
        ...new Set(source('shared/use-cases/event-media-links.ts').match(/\bmedia\.(?!ts\b)\w+/g)),
      ]).toEqual(['media.presignDownload']);
      for (const handler of ['fanOutHandler', 'deliveryHandler'])
        expect(
          grantsOf(handler).flatMap((grant) => grant.actions.filter((a) => a.startsWith('s3:'))),
        ).toEqual(handler === 'deliveryHandler' ? ['s3:GetObject'] : []);
    });

    it('gives neither function the sessions table or the session key, with any action', () => {
      const roles = ['fanOutHandler', 'deliveryHandler'].map(
        (handler) => grantsOf(handler)[0]?.principal ?? `missing ${handler}`,
      );
      const everything = [...names.values()];
      for (const target of ['sessions-table', 'session-key']) {
        const reaching = principalsAllowed(grants, ['*'], target, everything).concat(
          principalsAllowed(
            grants,
            ['kms:Decrypt', 'dynamodb:GetItem', 'dynamodb:PutItem'],
            target,
            everything,
          ),
        );
        for (const role of roles) expect(reaching).not.toContain(role);
      }
      for (const handler of ['fanOutHandler', 'deliveryHandler']) {
        for (const grant of grantsOf(handler)) {
          expect(grant.resources.join(' ')).not.toMatch(/sessions-table|session-key/);
          // Its one KMS grant: decrypting with the webhook-secrets key (webhook-secret-key.test.ts).
          if (grant.actions.some((action) => action.startsWith('kms:'))) {
            expect({ actions: grant.actions, resources: grant.resources }).toEqual({
              actions: ['kms:Decrypt'],
              resources: ['webhook-secret-key'],
            });
          }
        }
      }
    });
  });

  it('alarms on each function’s errors and throttles, on the failed share of tries, and on secrets it could not open', () => {
    const alarms = Object.values(ours(template.findResources('AWS::CloudWatch::Alarm'))).map(
      (alarm) => alarm.Properties as Record<string, unknown>,
    );
    const backlogs = alarms
      .filter((alarm) => alarm.MetricName === 'ApproximateAgeOfOldestMessage')
      .map((alarm) => [
        synthesized.resolve(
          (alarm.Dimensions as { Value: never }[])[0]?.Value as never,
          CONSUMERS_STACK_NAME,
          named,
        ),
        alarm.Statistic,
        alarm.Threshold,
      ]);
    expect(backlogs.sort()).toEqual([
      ['ordered', 'Maximum', 300],
      ['webhook-events', 'Maximum', 300],
    ]);
    for (const metricName of ['Errors', 'Throttles']) {
      const perFunction = alarms.filter((alarm) => alarm.MetricName === metricName);
      expect(
        perFunction.map((alarm) => (alarm.Dimensions as { Value: { Ref: string } }[])[0]?.Value.Ref).sort(),
      ).toEqual([functionId('deliveryHandler'), functionId('fanOutHandler')].sort());
      for (const alarm of perFunction) {
        expect(alarm).toMatchObject({ Threshold: 1, Statistic: 'Sum', Period: 300, EvaluationPeriods: 1 });
      }
    }
    const share = alarms.find((alarm) => alarm.Metrics !== undefined) as {
      Metrics: {
        Id: string;
        Expression?: string;
        MetricStat?: { Metric: Record<string, unknown>; Stat: string };
      }[];
      Threshold: number;
      EvaluationPeriods: number;
      DatapointsToAlarm: number;
      TreatMissingData: string;
    };
    expect(share.Threshold).toBe(FAILED_SHARE_ALARM.thresholdPercent);
    expect(share.EvaluationPeriods).toBe(3);
    expect(share.DatapointsToAlarm).toBe(3);
    expect(share.TreatMissingData).toBe('notBreaching');
    const expression = share.Metrics.find((metric) => metric.Expression)?.Expression ?? '';
    expect(expression).toBe(failedShareExpression(FAILED_SHARE_ALARM.minimumTries));
    // Evaluated as CloudWatch does, one period at a time, both branches of IF computed: a count
    // without a datapoint is undefined; FILL turns it into 0.
    expect(expression.replace(/IF|FILL|[sf]\b|[\d\s(),+*/<>=]/g, '')).toBe('');
    const evaluate = new Function('IF', 'FILL', 's', 'f', `return ${expression};`) as (
      ...args: unknown[]
    ) => number;
    const IF = (condition: boolean, yes: number, no: number) => (condition ? yes : no);
    const FILL = (value: number | undefined, fill: number) => value ?? fill;
    const shareOf = (s: number | undefined, f: number | undefined) => evaluate(IF, FILL, s, f);
    // A total outage: no success emitted at all, every try failed: 100%, which alarms.
    expect(shareOf(undefined, 30)).toBe(100);
    expect(shareOf(0, 30)).toBe(100);
    expect(shareOf(10, 10)).toBe(50);
    expect(shareOf(15, 5)).toBe(25);
    // Too few tries, or none at all: 0, and never a division by zero (NaN, a dropped datapoint).
    expect(shareOf(undefined, 19)).toBe(0);
    expect(shareOf(19, undefined)).toBe(0);
    expect(shareOf(undefined, undefined)).toBe(0);
    expect(shareOf(0, 0)).toBe(0);
    expect(
      share.Metrics.filter((metric) => metric.MetricStat).map((metric) => [
        metric.Id,
        metric.MetricStat?.Metric,
        metric.MetricStat?.Stat,
      ]),
    ).toEqual([
      [
        's',
        {
          Namespace: 'ClinicWA',
          MetricName: 'DeliveriesSucceeded',
          Dimensions: [{ Name: 'service', Value: 'clinic-wa' }],
        },
        'Sum',
      ],
      [
        'f',
        {
          Namespace: 'ClinicWA',
          MetricName: 'DeliveriesFailed',
          Dimensions: [{ Name: 'service', Value: 'clinic-wa' }],
        },
        'Sum',
      ],
    ]);
    // Secrets that cannot be opened are ours to look at from the first: nothing is sent meanwhile.
    const unreadable = alarms.filter((alarm) => alarm.MetricName === DELIVERY_METRICS.secretsUnreadable);
    expect(unreadable).toMatchObject([
      {
        Namespace: 'ClinicWA',
        Dimensions: [{ Name: 'service', Value: 'clinic-wa' }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      },
    ]);
    // The delivery queues' dead letters alarm in the stateful stack, like every DLQ's.
    const deadLetterAlarms = Template.fromJSON(synthesized.template(built.stateful.stackName)).findResources(
      'AWS::CloudWatch::Alarm',
      { Properties: { MetricName: 'ApproximateNumberOfMessagesVisible' } },
    );
    const watched = Object.values(deadLetterAlarms).map((alarm) =>
      JSON.stringify(alarm.Properties.Dimensions),
    );
    for (const dlq of [built.stateful.webhookDeliveries.queue, built.stateful.webhookDeliveries.ordered]) {
      const id = cfnId(dlq.deadLetterQueue).split('/')[1] ?? '';
      expect(watched.some((dimensions) => dimensions.includes(id))).toBe(true);
    }
  });

  it('refuses to synthesize a function that sets a local-only webhook setting', () => {
    for (const key of ['WEBHOOK_ALLOW_LOOPBACK', 'WEBHOOK_RETRY_SCALE']) {
      const tampered = platform({ shardCount: 2 });
      tampered.consumers.webhookDispatcher.delivery.function.addEnvironment(
        key,
        key.endsWith('SCALE') ? '0.001' : 'true',
      );
      expect(() => tampered.app.synth()).toThrow(new RegExp(`sets ${key}, which is for local development`));
    }
  });
});

describe('the dispatcher’s local-only settings', () => {
  it('are refused at a Lambda cold start, and taken locally', () => {
    const inLambda = { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' };
    expect(() => loadWebhookUrlPolicy({ ...inLambda, WEBHOOK_ALLOW_LOOPBACK: 'true' })).toThrow(
      /WEBHOOK_ALLOW_LOOPBACK: is for local development and tests only/,
    );
    expect(() => loadWebhookDispatchConfig({ ...inLambda, WEBHOOK_RETRY_SCALE: '0.001' })).toThrow(
      /WEBHOOK_RETRY_SCALE/,
    );
    expect(loadWebhookDispatchConfig({ WEBHOOK_RETRY_SCALE: '0.001' })).toEqual({ retryScale: 0.001 });
    expect(loadWebhookUrlPolicy({ WEBHOOK_ALLOW_LOOPBACK: 'true' })).toEqual({ allowLoopback: true });
    expect(() => loadWebhookDispatchConfig({ WEBHOOK_RETRY_SCALE: '2' })).toThrow(/WEBHOOK_RETRY_SCALE/);
  });
});
