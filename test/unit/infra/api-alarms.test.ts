// The API's alarms as synthesized: on what, summed how, firing at what, and — for the router's own
// metric — on the metric exactly as the router publishes it (EMF lines of a real request).
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApiRouter } from '#functions/http/api-router.ts';
import { apiLambda } from '#functions/http/lambda.ts';
import { FUNCTION_FAMILIES } from '#functions/http/routes.ts';
import { API_STACK_NAME } from '#infra/platform-app.ts';
import { cfnId, platform, SynthesizedPlatform } from './support.ts';

const FUNCTIONS = [...FUNCTION_FAMILIES, 'authorizer'] as const;

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
interface AlarmProperties {
  Namespace?: string;
  MetricName?: string;
  Dimensions?: { Name: string; Value: unknown }[];
  Statistic?: string;
  Period?: number;
  Metrics?: { Id: string; Expression?: string; Period?: number; ReturnData?: boolean }[];
  Threshold: number;
  ComparisonOperator: string;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  TreatMissingData: string;
  AlarmActions?: unknown;
  OKActions?: unknown;
  InsufficientDataActions?: unknown;
  AlarmDescription: string;
}

describe('API alarms', () => {
  let resources: Resources;
  /** Logical id → readable name, for what the alarms' dimensions refer to. */
  let names: Map<string, string>;

  beforeAll(() => {
    const built = platform({ shardCount: 2 });
    const synthesized = new SynthesizedPlatform(built.app);
    resources = synthesized.template(API_STACK_NAME).Resources as Resources;
    const functionOf = (name: (typeof FUNCTIONS)[number]) =>
      name === 'authorizer' ? built.api.functions.authorizer : built.api.functions.families[name];
    names = new Map([
      ...FUNCTIONS.map((name): [string, string] => [
        cfnId(functionOf(name).function).split('/')[1] ?? '',
        name,
      ]),
      [cfnId(built.api.api.api.deploymentStage).split('/')[1] ?? '', 'prod'],
    ]);
  });

  const alarms = () =>
    Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::CloudWatch::Alarm')
      .map((resource) => resource.Properties as unknown as AlarmProperties);
  /** `<namespace> <metric> <dimensions> <statistic>/<period> >= <threshold>`, or the query's. */
  const describeAlarm = (alarm: AlarmProperties) => {
    const condition = `${alarm.ComparisonOperator === 'GreaterThanOrEqualToThreshold' ? '>=' : alarm.ComparisonOperator} ${alarm.Threshold}`;
    if (alarm.Metrics) {
      const [query] = alarm.Metrics;
      return `query ${query?.Expression} /${query?.Period} ${condition}`;
    }
    const dimensions = (alarm.Dimensions ?? []).map(({ Name, Value }) => {
      const ref = (Value as { Ref?: string }).Ref;
      return `${Name}=${ref ? (names.get(ref) ?? ref) : String(Value)}`;
    });
    return `${alarm.Namespace} ${alarm.MetricName} ${dimensions.join(',')} ${alarm.Statistic}/${alarm.Period} ${condition}`;
  };

  it('watch the stage’s 5XXError, every function’s Errors and Throttles, the router’s Faults over all routes and the web ACL’s blocks', () => {
    expect(alarms().map(describeAlarm).sort()).toEqual(
      [
        'AWS/ApiGateway 5XXError ApiName=clinic-wa,Stage=prod Sum/300 >= 1',
        ...FUNCTIONS.flatMap((name) => [
          // Every refused key is an authorizer error (it throws Unauthorized): only a surge counts.
          `AWS/Lambda Errors FunctionName=${name} Sum/300 >= ${name === 'authorizer' ? 100 : 1}`,
          `AWS/Lambda Throttles FunctionName=${name} Sum/300 >= 1`,
        ]),
        `query SELECT SUM(Faults) FROM SCHEMA("ClinicWA", route, service) WHERE service = 'clinic-wa' /300 >= 1`,
        // Refusals are daily (scanners, oversized uploads): a surge of them; rate-limited requests that last.
        `AWS/WAFV2 BlockedRequests Region=AWS::Region,Rule=ALL,WebACL=${API_STACK_NAME} Sum/300 >= 100`,
        `AWS/WAFV2 BlockedRequests Region=AWS::Region,Rule=RateLimitPerIp,WebACL=${API_STACK_NAME} Sum/300 >= 100`,
      ].sort(),
    );
  });

  it('fire on one period over the threshold (the rate limit: three in a row), treat no traffic as fine, and have no action yet (like the dead-letter alarms)', () => {
    for (const alarm of alarms()) {
      const rateLimited = JSON.stringify(alarm.Dimensions ?? []).includes('RateLimitPerIp');
      // A scanner past the limit for a minute is refused and gone; 15 minutes of refusals is news.
      const periods = rateLimited ? 3 : 1;
      expect(alarm, alarm.AlarmDescription).toMatchObject({
        EvaluationPeriods: periods,
        TreatMissingData: 'notBreaching',
      });
      expect(alarm.DatapointsToAlarm ?? 1).toBe(periods);
      expect([alarm.AlarmActions, alarm.OKActions, alarm.InsufficientDataActions]).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
      expect(alarm.AlarmDescription).toMatch(/docs\/infra\.md, Alarms\)$/);
    }
    // One description each: an operator can tell them apart in the console.
    const descriptions = alarms().map((alarm) => alarm.AlarmDescription);
    expect(new Set(descriptions).size).toBe(descriptions.length);
  });

  it('show on the operator dashboard, if there is one', () => {
    // There is none yet (docs/infra.md); the one to come must show every alarm of the API.
    const alarmIds = Object.entries(resources)
      .filter(([, resource]) => resource.Type === 'AWS::CloudWatch::Alarm')
      .map(([id]) => id);
    for (const [, dashboard] of Object.entries(resources).filter(
      ([, resource]) => resource.Type === 'AWS::CloudWatch::Dashboard',
    )) {
      const body = JSON.stringify(dashboard.Properties.DashboardBody);
      for (const id of alarmIds) expect(body).toContain(id);
    }
  });

  describe('on the router’s Faults', () => {
    afterEach(() => vi.restoreAllMocks());

    /** The EMF documents a family's handler prints for one request whose route throws. */
    async function emfOfAFault(): Promise<Record<string, unknown>[]> {
      const failing = async () => {
        throw new Error('a bug');
      };
      const handler = apiLambda(
        createApiRouter('public', { getHealth: failing, getOpenApi: failing, getDocs: failing }),
      );
      const lines: string[] = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
        lines.push(String(chunk));
        return true;
      });
      // The logger's line about the failure, kept out of the test's output.
      vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      const result = await handler(
        {
          httpMethod: 'GET',
          path: '/health',
          resource: '/health',
          headers: {},
          multiValueHeaders: {},
          queryStringParameters: null,
          multiValueQueryStringParameters: null,
          pathParameters: null,
          stageVariables: null,
          body: null,
          isBase64Encoded: false,
          requestContext: { requestId: 'req-1', path: '/prod/health', stage: 'prod' },
        } as unknown as APIGatewayProxyEvent,
        {
          functionName: 'public',
          functionVersion: '$LATEST',
          invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:public',
          memoryLimitInMB: '1024',
          awsRequestId: 'aws-req-1',
          logGroupName: 'logs',
          logStreamName: 'stream',
          callbackWaitsForEmptyEventLoop: true,
          getRemainingTimeInMillis: () => 10_000,
        } as unknown as Context,
      );
      vi.restoreAllMocks();
      expect(result.statusCode).toBe(500);
      return lines
        .flatMap((line) => line.split('\n'))
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((document) => '_aws' in document);
    }

    it('query it as the router publishes it: one dimension set of service and route, never service alone', async () => {
      const documents = await emfOfAFault();
      const faults = documents.filter((document) => 'Faults' in document);
      expect(faults).toHaveLength(1);
      const [document] = faults as [Record<string, unknown> & { _aws: { CloudWatchMetrics: unknown[] } }];
      const [directive] = document._aws.CloudWatchMetrics as [
        { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] },
      ];
      expect(document._aws.CloudWatchMetrics).toHaveLength(1);
      // Powertools' default dimension (service) plus the route addDimension adds: one set, so CloudWatch
      // has Faults per (service, route) only, and the alarm must sum over routes.
      expect(directive.Dimensions).toHaveLength(1);
      const [dimensions] = directive.Dimensions as [string[]];
      expect([...dimensions].sort()).toEqual(['route', 'service']);
      expect(directive.Metrics.map((metric) => metric.Name)).toContain('Faults');
      expect(document.Faults).toBe(1);
      expect(typeof document.route).toBe('string');

      const query = `SELECT SUM(Faults) FROM SCHEMA("${directive.Namespace}", ${[...dimensions].sort().join(', ')}) WHERE service = '${document.service as string}'`;
      const queries = alarms().flatMap((alarm) => alarm.Metrics ?? []);
      expect(queries).toEqual([
        {
          Id: expect.any(String),
          Expression: query,
          Period: 300,
          ReturnData: true,
          Label: expect.any(String),
        },
      ]);
    });
  });
});
