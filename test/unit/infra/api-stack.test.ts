// The API stack as synthesized: the REST API derived from ROUTES, what API Gateway answers itself,
// the stage's logs and limits, the functions' runtime and environment, and each role's exact grants.
// The functions' bundles are tested in api-bundles.test.ts (bundling is off here: it takes seconds).
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { adminKeySource } from '#functions/authorizer/admin-key.ts';
import { resolvePrincipal } from '#functions/authorizer/resolve-principal.ts';
import { bodyTooLargeResponse, MAX_REQUEST_BODY_BYTES } from '#functions/http/edge-limits.ts';
import {
  AUTHORIZER_CACHE_SECONDS,
  BINARY_MEDIA_TYPES,
  GATEWAY_RESPONSES,
  INTEGRATION_TIMEOUT_MS,
} from '#functions/http/gateway-responses.ts';
import { FUNCTION_FAMILIES, ROUTES } from '#functions/http/routes.ts';
import type { ApiStack } from '#infra/api-stack.ts';
import { decimalAbove, IP_REQUESTS_PER_MINUTE } from '#infra/constructs/api-firewall.construct.ts';
import { MEDIA_KEY_PREFIX } from '#infra/constructs/media-bucket.construct.ts';
import { STAGE_THROTTLE } from '#infra/constructs/public-api.construct.ts';
import { LAMBDA_NODE_RUNTIME } from '#infra/node-version.ts';
import {
  API_STACK_NAME,
  CONSUMERS_STACK_NAME,
  cdkJsonContext,
  createApp,
  definePlatform,
  MAX_SHARDS_WITH_API,
  STATEFUL_STACK_NAME,
  WITHOUT_BUNDLING,
} from '#infra/platform-app.ts';
import { RUNNER_CLUSTER } from '#infra/runner-stack.ts';
import {
  BOUND_ONLY_KEYS,
  parseRuntimeEnvironment,
  RUNTIME_ENVIRONMENT_KEYS,
} from '#infra/runtime-environment.ts';
import { DynamoApiKeyRepository } from '#shared/aws/dynamo/api-key-repository.ts';
import { CHANNEL_DIRECTORY_ATTRIBUTES } from '#shared/aws/dynamo/channel-directory.ts';
import { SHARD_OWNERSHIP_ATTRIBUTES } from '#shared/aws/dynamo/shard-ownership-reader.ts';
import { DynamoTenantRepository } from '#shared/aws/dynamo/tenant-repository.ts';
import { S3MediaStore } from '#shared/aws/s3-media-store.ts';
import { loadResourceConfig } from '#shared/config.ts';
import { issueApiKeySecret } from '#shared/domain/api-key.ts';
import { newId } from '#shared/domain/ids.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#shared/observability.ts';
import { allows, type IamGrant, iamGrants, principalsAllowed, stringLike } from './iam-grants.ts';
import { cfnId, fakeResourceValues, platform, SynthesizedPlatform } from './support.ts';

const SHARDS = 3;
const FUNCTIONS = [...FUNCTION_FAMILIES, 'authorizer'] as const;
type ApiFunctionName = (typeof FUNCTIONS)[number];

type Resources = Record<
  string,
  { Type: string; Properties: Record<string, unknown>; DependsOn?: string[]; DeletionPolicy?: string }
>;

/** `<stack>/<logical id>` → a readable name, for the resources the API's functions may be given. */
function readableNames(built: ReturnType<typeof platform>): Map<string, string> {
  const { stateful, api } = built;
  return new Map([
    [cfnId(stateful.platformTable.table), 'platform-table'],
    [cfnId(stateful.sessionsTable.table), 'sessions-table'],
    [cfnId(stateful.idempotencyTable.table), 'idempotency-table'],
    [cfnId(stateful.sessionKey.key), 'session-key'],
    [cfnId(stateful.webhookSecretKey.key), 'webhook-secret-key'],
    [cfnId(stateful.events.bus), 'event-bus'],
    [cfnId(stateful.media.bucket), 'media-bucket'],
    [cfnId(stateful.webhookDeliveries.queue.queue), 'webhook-deliveries-queue'],
    [cfnId(stateful.webhookDeliveries.queue.deadLetterQueue), 'webhook-deliveries-dlq'],
    [cfnId(api.adminKey.secret), 'admin-key-secret'],
    [cfnId(built.dashboard.hosting.bucket), 'dashboard-bucket'],
    // CDK's bootstrap bucket, where the dashboard's build waits to be copied (a name, not a resource).
    ['cdk-assets', 'arn:aws:s3:::cdk-hnb659fds-assets-123456789012-us-east-1'],
    // A stage's Ref is its name.
    [cfnId(api.api.api.deploymentStage), 'prod'],
    ...stateful.commandQueues.shards.flatMap((shard, index): [string, string][] => [
      [cfnId(shard.queue), `shard-${index}-queue`],
      [cfnId(shard.deadLetterQueue), `shard-${index}-dlq`],
    ]),
    ...FUNCTIONS.map((name): [string, string] => [cfnId(functionOf(api, name).logs), `${name}-logs`]),
  ]);
}

function functionOf(api: ApiStack, name: ApiFunctionName) {
  return name === 'authorizer' ? api.functions.authorizer : api.functions.families[name];
}

describe('API stack', () => {
  let built: ReturnType<typeof platform>;
  let synthesized: SynthesizedPlatform;
  let template: Template;
  let resources: Resources;
  let names: Map<string, string>;
  const named = (stack: string, id: string, attribute?: string) =>
    names.get(`${stack}/${id}`) ?? `${stack}/${id}${attribute ? `.${attribute}` : ''}`;
  /** Logical id (in the API stack) → which function it is. */
  let functionNames: Map<string, ApiFunctionName>;

  beforeAll(() => {
    built = platform({ shardCount: SHARDS });
    names = readableNames(built);
    functionNames = new Map(
      FUNCTIONS.map((name) => [cfnId(functionOf(built.api, name).function).split('/')[1] ?? '', name]),
    );
    synthesized = new SynthesizedPlatform(built.app);
    template = Template.fromJSON(synthesized.template(API_STACK_NAME));
    resources = template.toJSON().Resources as Resources;
  });

  const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
  const only = (type: string) => {
    const found = ofType(type);
    expect(found).toHaveLength(1);
    return found[0] as [string, Resources[string]];
  };
  const refOf = (value: unknown) => (value as { Ref: string }).Ref;
  const attOf = (value: unknown) => (value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

  /** Each API Gateway resource's full path (`/v1/channels/{channelId}`). */
  function resourcePaths(): Map<string, string> {
    const paths = new Map<string, string>();
    const pathOf = (id: string): string => {
      const known = paths.get(id);
      if (known !== undefined) return known;
      const resource = resources[id];
      if (!resource) throw new Error(`no resource ${id}`);
      const parent = resource.Properties.ParentId as { Ref?: string };
      const path = `${parent.Ref ? pathOf(parent.Ref) : ''}/${resource.Properties.PathPart as string}`;
      paths.set(id, path);
      return path;
    };
    for (const [id] of ofType('AWS::ApiGateway::Resource')) pathOf(id);
    return paths;
  }

  describe('the REST API', () => {
    it('has one method for every route of ROUTES, served by its family’s function, behind the authorizer unless public', () => {
      const paths = resourcePaths();
      const [authorizerId] = only('AWS::ApiGateway::Authorizer');
      const methods = ofType('AWS::ApiGateway::Method').map(([, { Properties: method }]) => {
        const integration = method.Integration as {
          Type: string;
          IntegrationHttpMethod: string;
          Uri: unknown;
        };
        const uri = JSON.stringify(integration.Uri);
        const served = [...functionNames].filter(([id]) => uri.includes(`"${id}"`)).map(([, name]) => name);
        return {
          route: `${method.HttpMethod as string} ${paths.get(refOf(method.ResourceId)) ?? '(root)'}`,
          operation: method.OperationName,
          integration: `${integration.Type} ${integration.IntegrationHttpMethod}`,
          served,
          authorization: method.AuthorizationType,
          authorizer: method.AuthorizerId ? refOf(method.AuthorizerId) : 'none',
        };
      });
      expect(methods.sort((a, b) => a.route.localeCompare(b.route))).toEqual(
        ROUTES.map((route) => ({
          route: `${route.method} ${route.path}`,
          operation: route.operationId,
          integration: 'AWS_PROXY POST',
          served: [route.family],
          authorization: route.access.kind === 'public' ? 'NONE' : 'CUSTOM',
          authorizer: route.access.kind === 'public' ? 'none' : authorizerId,
        })).sort((a, b) => a.route.localeCompare(b.route)),
      );
      // The three public routes are the only ones without a key.
      expect(
        methods
          .filter((method) => method.authorization === 'NONE')
          .map((m) => m.route)
          .sort(),
      ).toEqual(['GET /docs', 'GET /health', 'GET /v1/openapi.json']);
    });

    it('lets each method invoke its function from the deployed stage only, and the authorizer be called by this API', () => {
      const permissions = ofType('AWS::Lambda::Permission').map(([, { Properties: permission }]) => ({
        function: functionNames.get(attOf(permission.FunctionName)),
        principal: permission.Principal,
        source: synthesized.resolve(permission.SourceArn, API_STACK_NAME, named),
      }));
      const api = `arn:aws:execute-api:us-east-1:123456789012:${API_STACK_NAME}/${only('AWS::ApiGateway::RestApi')[0]}`;
      const [authorizerId] = only('AWS::ApiGateway::Authorizer');
      expect(permissions.sort((a, b) => a.source.localeCompare(b.source))).toEqual(
        [
          ...ROUTES.map((route) => ({
            function: route.family,
            principal: 'apigateway.amazonaws.com',
            source: `${api}/prod/${route.method}${route.path.replaceAll(/\{\w+\}/g, '*')}`,
          })),
          {
            function: 'authorizer',
            principal: 'apigateway.amazonaws.com',
            source: `${api}/authorizers/${API_STACK_NAME}/${authorizerId}`,
          },
        ].sort((a, b) => a.source.localeCompare(b.source)),
      );
    });

    it('authorizes by the Authorization header with the REQUEST authorizer, whose answer is cached 60 s', () => {
      const [, { Properties: authorizer }] = only('AWS::ApiGateway::Authorizer');
      expect(authorizer).toMatchObject({
        Type: 'REQUEST',
        IdentitySource: 'method.request.header.Authorization',
        AuthorizerResultTtlInSeconds: 60,
      });
      expect(AUTHORIZER_CACHE_SECONDS).toBe(60);
      const uri = JSON.stringify(authorizer.AuthorizerUri);
      expect([...functionNames].filter(([id]) => uri.includes(`"${id}"`)).map(([, name]) => name)).toEqual([
        'authorizer',
      ]);
    });

    it('answers API Gateway’s own errors with the API’s error body and the request id', () => {
      const responses = ofType('AWS::ApiGateway::GatewayResponse').map(([, { Properties: response }]) => {
        const body = (response.ResponseTemplates as Record<string, string>)['application/json'] ?? '';
        return {
          type: response.ResponseType,
          status: response.StatusCode,
          // API Gateway substitutes the variable; anything else in the template would be VTL too.
          body: JSON.parse(body.replace('$context.requestId', 'req-1')) as unknown,
          variables: body.match(/[$#][\w.{]+/g),
        };
      });
      expect(responses.map((response) => `${response.type} ${response.status}`).sort()).toEqual(
        [
          'UNAUTHORIZED 401',
          'MISSING_AUTHENTICATION_TOKEN 404',
          'ACCESS_DENIED 403',
          'THROTTLED 429',
          'REQUEST_TOO_LARGE 413',
          'AUTHORIZER_FAILURE 503',
          'INTEGRATION_TIMEOUT 504',
          'DEFAULT_4XX 400',
          'DEFAULT_5XX 500',
        ].sort(),
      );
      for (const expected of Object.values(GATEWAY_RESPONSES)) {
        expect(responses).toContainEqual({
          type: expected.type,
          status: String(expected.status),
          body: { error: { code: expected.code, message: expected.message, requestId: 'req-1' } },
          variables: ['$context.requestId'],
        });
      }
    });

    it('tells a throttled client when to retry (Retry-After: 1), and adds no header to the other answers', () => {
      const headers = Object.fromEntries(
        ofType('AWS::ApiGateway::GatewayResponse').map(([, { Properties: response }]) => [
          response.ResponseType,
          response.ResponseParameters,
        ]),
      );
      expect(headers).toEqual(
        Object.fromEntries(
          Object.values(GATEWAY_RESPONSES).map(({ type }) => [
            type,
            // A quoted literal: unquoted, API Gateway would read `1` as a mapping expression.
            type === 'THROTTLED' ? { 'gatewayresponse.header.Retry-After': "'1'" } : undefined,
          ]),
        ),
      );
    });

    it('is regional, takes the binary media types the functions expect, and waits 29 s for a function', () => {
      const [, { Properties: api }] = only('AWS::ApiGateway::RestApi');
      expect(api.EndpointConfiguration).toEqual({ Types: ['REGIONAL'] });
      // Whatever the functions' constant says (a list of types, or `*/*` for every one), as it says it.
      expect(api.BinaryMediaTypes).toEqual(BINARY_MEDIA_TYPES);
      // API Gateway's matching: an exact type, `type/*`, or `*/*`. Files the media routes take, of any
      // type, must reach the functions base64-encoded, or their bytes would be read as UTF-8 text.
      const binary = (contentType: string) =>
        (api.BinaryMediaTypes as string[]).some(
          (pattern) =>
            pattern === '*/*' ||
            pattern === contentType ||
            (pattern.endsWith('/*') && contentType.startsWith(pattern.slice(0, -1))),
        );
      for (const contentType of [
        'image/jpeg',
        'audio/ogg',
        'video/mp4',
        'application/pdf',
        'application/octet-stream',
        'multipart/form-data',
        // A .docx: no list of types names every file a clinic may send.
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      ]) {
        expect(binary(contentType), contentType).toBe(true);
      }
      for (const [, { Properties: method }] of ofType('AWS::ApiGateway::Method')) {
        expect((method.Integration as { TimeoutInMillis: number }).TimeoutInMillis).toBe(
          INTEGRATION_TIMEOUT_MS,
        );
      }
    });
  });

  describe('the stage', () => {
    it('traces, throttles the whole API as a backstop, and logs errors only, never bodies', () => {
      const [, stage] = only('AWS::ApiGateway::Stage');
      expect(stage.Properties).toMatchObject({
        StageName: 'prod',
        TracingEnabled: true,
        MethodSettings: [
          {
            HttpMethod: '*',
            ResourcePath: '/*',
            LoggingLevel: 'ERROR',
            DataTraceEnabled: false,
            MetricsEnabled: false,
            ThrottlingRateLimit: 500,
            ThrottlingBurstLimit: 1000,
          },
        ],
      });
      expect(STAGE_THROTTLE).toEqual({ rateLimit: 500, burstLimit: 1000 });
    });

    it('writes a JSON access log line per request to a log group kept 90 days', () => {
      const [, { Properties: stage }] = only('AWS::ApiGateway::Stage');
      const { DestinationArn, Format } = stage.AccessLogSetting as {
        DestinationArn: unknown;
        Format: string;
      };
      expect(resources[attOf(DestinationArn)]?.Properties.RetentionInDays).toBe(90);
      const line = JSON.parse(Format) as Record<string, string>;
      expect(line).toMatchObject({
        requestId: '$context.requestId',
        status: '$context.status',
        resourcePath: '$context.resourcePath',
        tenantId: '$context.authorizer.tenantId',
        keyId: '$context.authorizer.keyId',
        errorType: '$context.error.responseType',
        // WAF_ALLOW or WAF_BLOCK: a request the web ACL refused has its line too.
        wafResponseCode: '$context.wafResponseCode',
        xrayTraceId: '$context.xrayTraceId',
      });
      // Strings all, so an absent value (`-`) cannot break the JSON.
      for (const value of Object.values(line)) expect(value).toMatch(/^\$context\.[\w.]+$/);
    });

    it('creates API Gateway’s execution log group itself, with a retention, before the stage can write to it', () => {
      const [apiId] = only('AWS::ApiGateway::RestApi');
      const [logsId, logs] =
        ofType('AWS::Logs::LogGroup').find(([, group]) => group.Properties.LogGroupName) ?? [];
      expect(logs?.Properties).toEqual({
        LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: apiId }, '/prod']] },
        RetentionInDays: 90,
      });
      expect(only('AWS::ApiGateway::Stage')[1].DependsOn).toContain(logsId);
    });

    it('sets the account’s CloudWatch role for API Gateway and keeps it when the stack goes', () => {
      const [roleId, role] = ofType('AWS::IAM::Role').find(([, r]) => r.Properties.ManagedPolicyArns) ?? [];
      expect(only('AWS::ApiGateway::Account')[1].Properties.CloudWatchRoleArn).toEqual({
        'Fn::GetAtt': [roleId, 'Arn'],
      });
      expect(role?.DeletionPolicy).toBe('Retain');
      expect(JSON.stringify(role?.Properties.AssumeRolePolicyDocument)).toContain('apigateway.amazonaws.com');
    });
  });

  describe('the web ACL', () => {
    type Rule = {
      Name: string;
      Priority: number;
      Statement: Record<string, unknown>;
      Action?: { Block?: { CustomResponse?: CustomResponse } };
      OverrideAction?: unknown;
      VisibilityConfig: unknown;
    };
    type CustomResponse = {
      ResponseCode: number;
      CustomResponseBodyKey: string;
      ResponseHeaders?: { Name: string; Value: string }[];
    };
    const webAcl = () => only('AWS::WAFv2::WebACL');
    const rules = () => (webAcl()[1].Properties.Rules as Rule[]).toSorted((a, b) => a.Priority - b.Priority);
    const rule = (name: string) => {
      const found = rules().find((candidate) => candidate.Name === name);
      if (!found) throw new Error(`no rule ${name}`);
      return found;
    };
    /** What the web ACL answers for a rule: status, headers and the body it sends. */
    const answerOf = (name: string) => {
      const response = rule(name).Action?.Block?.CustomResponse;
      if (!response) throw new Error(`${name} has no custom response`);
      const bodies = webAcl()[1].Properties.CustomResponseBodies as Record<
        string,
        { ContentType: string; Content: string }
      >;
      const body = bodies[response.CustomResponseBodyKey];
      return {
        status: response.ResponseCode,
        headers: Object.fromEntries((response.ResponseHeaders ?? []).map(({ Name, Value }) => [Name, Value])),
        contentType: body?.ContentType,
        body: JSON.parse(body?.Content ?? 'null') as unknown,
      };
    };

    it('is one regional web ACL on the stage prod, letting through what no rule refuses', () => {
      const [webAclId, { Properties: acl }] = webAcl();
      expect(acl).toMatchObject({ Scope: 'REGIONAL', DefaultAction: { Allow: {} } });
      const [, { Properties: association }] = only('AWS::WAFv2::WebACLAssociation');
      expect(association.WebACLArn).toEqual({ 'Fn::GetAtt': [webAclId, 'Arn'] });
      const [apiId] = only('AWS::ApiGateway::RestApi');
      const [stageId] = only('AWS::ApiGateway::Stage');
      expect(association.ResourceArn).toEqual({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':apigateway:',
            { Ref: 'AWS::Region' },
            '::/restapis/',
            { Ref: apiId },
            '/stages/',
            { Ref: stageId },
          ],
        ],
      });
    });

    it('checks each address’s rate first, then the body’s length, then counts with AWS’s lists and refuses their matches', () => {
      expect(rules().map((candidate) => `${candidate.Priority} ${candidate.Name}`)).toEqual([
        '0 RateLimitPerIp',
        '1 BodyTooLarge',
        '2 AmazonIpReputation',
        '3 KnownBadInputs',
        '4 RefuseManagedMatches',
      ]);
    });

    it('refuses a Content-Length over MAX_REQUEST_BODY_BYTES with a function’s own 413, before API Gateway invokes anything', () => {
      const { Statement } = rule('BodyTooLarge');
      expect(Statement).toEqual({
        RegexMatchStatement: {
          FieldToMatch: { SingleHeader: { Name: 'content-length' } },
          RegexString: decimalAbove(MAX_REQUEST_BODY_BYTES),
          TextTransformations: [{ Priority: 0, Type: 'NONE' }],
        },
      });
      // The synthesized pattern itself, at the boundary.
      const pattern = new RegExp(
        (Statement as { RegexMatchStatement: { RegexString: string } }).RegexMatchStatement.RegexString,
      );
      expect(pattern.test(String(MAX_REQUEST_BODY_BYTES + 1))).toBe(true);
      expect(pattern.test(String(MAX_REQUEST_BODY_BYTES))).toBe(false);
      expect(answerOf('BodyTooLarge')).toEqual({
        status: 413,
        headers: {},
        contentType: 'APPLICATION_JSON',
        // Static: the request id names the rule, for the WAF log (docs/api.md).
        body: bodyTooLargeResponse('waf:BodyTooLarge').body,
      });
    });

    it(`lets one address send ${IP_REQUESTS_PER_MINUTE} requests a minute (window 60 s), then answers 429 rate_limited with Retry-After`, () => {
      expect(rule('RateLimitPerIp').Statement).toEqual({
        RateBasedStatement: { AggregateKeyType: 'IP', EvaluationWindowSec: 60, Limit: 3000 },
      });
      // Well above a tenant's own limit of 200 requests in 10 s, from one address.
      expect(IP_REQUESTS_PER_MINUTE).toBeGreaterThanOrEqual(2 * 1200);
      expect(answerOf('RateLimitPerIp')).toEqual({
        status: 429,
        headers: { 'Retry-After': '60' },
        contentType: 'APPLICATION_JSON',
        body: {
          error: {
            code: 'rate_limited',
            message: 'Too many requests: retry after 60 s',
            requestId: 'waf:RateLimitPerIp',
          },
        },
      });
    });

    it('counts with AWS’s known-bad-inputs and IP reputation groups, and refuses what they would block with 403 in the API’s body', () => {
      for (const [name, group] of [
        ['AmazonIpReputation', 'AWSManagedRulesAmazonIpReputationList'],
        ['KnownBadInputs', 'AWSManagedRulesKnownBadInputsRuleSet'],
      ]) {
        expect(rule(name as string)).toMatchObject({
          Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: group } },
          OverrideAction: { Count: {} },
        });
      }
      expect(rule('RefuseManagedMatches').Statement).toEqual({
        OrStatement: {
          Statements: [
            { LabelMatchStatement: { Scope: 'NAMESPACE', Key: 'awswaf:managed:aws:known-bad-inputs:' } },
            {
              LabelMatchStatement: {
                Scope: 'LABEL',
                Key: 'awswaf:managed:aws:amazon-ip-list:AWSManagedIPReputationList',
              },
            },
            {
              LabelMatchStatement: {
                Scope: 'LABEL',
                Key: 'awswaf:managed:aws:amazon-ip-list:AWSManagedReconnaissanceList',
              },
            },
          ],
        },
      });
      expect(answerOf('RefuseManagedMatches')).toEqual({
        status: 403,
        headers: {},
        contentType: 'APPLICATION_JSON',
        body: {
          error: {
            code: 'forbidden',
            message: 'The request was refused',
            requestId: 'waf:RefuseManagedMatches',
          },
        },
      });
      // Not the common rule set: its SizeRestrictions_BODY blocks any body over 8 KB, every upload.
      expect(JSON.stringify(webAcl()[1].Properties)).not.toContain('AWSManagedRulesCommonRuleSet');
    });

    it('answers every refusal in the API’s error body, and publishes metrics and samples of every rule', () => {
      const acl = webAcl()[1].Properties;
      for (const { Name, Action, OverrideAction, VisibilityConfig } of rules()) {
        if (!OverrideAction) expect(Action?.Block?.CustomResponse, Name).toBeDefined();
        expect(VisibilityConfig, Name).toEqual({
          CloudWatchMetricsEnabled: true,
          SampledRequestsEnabled: true,
          MetricName: Name,
        });
      }
      expect(acl.VisibilityConfig).toEqual({
        CloudWatchMetricsEnabled: true,
        SampledRequestsEnabled: true,
        MetricName: acl.Name,
      });
      const bodies = Object.values(acl.CustomResponseBodies as Record<string, { Content: string }>);
      expect(bodies).toHaveLength(3);
      for (const { Content } of bodies) {
        expect(Object.keys(JSON.parse(Content).error).sort()).toEqual(['code', 'message', 'requestId']);
        expect(Buffer.byteLength(Content)).toBeLessThanOrEqual(4096);
      }
    });

    it('keeps tenants’ keys and the query out of its log and samples, and logs what it refused or counted, 90 days', () => {
      const [webAclId, { Properties: acl }] = webAcl();
      expect(acl.DataProtectionConfig).toEqual({
        DataProtections: [
          { Field: { FieldType: 'SINGLE_HEADER', FieldKeys: ['authorization'] }, Action: 'SUBSTITUTION' },
          { Field: { FieldType: 'QUERY_STRING' }, Action: 'SUBSTITUTION' },
        ],
      });
      const [, { Properties: logging }] = only('AWS::WAFv2::LoggingConfiguration');
      expect(logging.ResourceArn).toEqual({ 'Fn::GetAtt': [webAclId, 'Arn'] });
      const [logsId, logs] =
        ofType('AWS::Logs::LogGroup').find(([, group]) =>
          String(group.Properties.LogGroupName).startsWith('aws-waf-logs-'),
        ) ?? [];
      expect(logs?.Properties).toEqual({
        LogGroupName: `aws-waf-logs-${API_STACK_NAME}`,
        RetentionInDays: 90,
      });
      // AWS WAF takes the group's ARN without CloudWatch's trailing `:*`.
      expect(logging.LogDestinationConfigs).toEqual([
        {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':logs:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':log-group:',
              { Ref: logsId },
            ],
          ],
        },
      ]);
      expect(logging.LoggingFilter).toEqual({
        DefaultBehavior: 'DROP',
        Filters: [
          {
            Behavior: 'KEEP',
            Requirement: 'MEETS_ANY',
            Conditions: [{ ActionCondition: { Action: 'BLOCK' } }, { ActionCondition: { Action: 'COUNT' } }],
          },
        ],
      });
    });
  });

  describe('the functions', () => {
    const functions = () =>
      ofType('AWS::Lambda::Function').map(([id, { Properties }]) => ({
        name: functionNames.get(id),
        properties: Properties,
        environment: (Properties.Environment as { Variables: Record<string, unknown> }).Variables,
      }));
    const environmentOf = (name: ApiFunctionName) => {
      const variables = functions().find((fn) => fn.name === name)?.environment ?? {};
      const fake = fakeResourceValues(synthesized);
      return Object.fromEntries(
        Object.entries(variables).map(([key, value]) => [
          key,
          synthesized.resolve(value, API_STACK_NAME, fake),
        ]),
      );
    };

    it('are the six families and the authorizer, and nothing else runs code in the stack', () => {
      expect(
        functions()
          .map((fn) => fn.name)
          .sort(),
      ).toEqual([...FUNCTIONS].sort());
      const types = Object.values(resources).map((resource) => resource.Type);
      expect(types.filter((type) => type.startsWith('Custom::') || type.endsWith('CustomResource'))).toEqual(
        [],
      );
    });

    it('run on nodejs24.x, arm64, traced, within API Gateway’s timeout, logging to a group kept 90 days', () => {
      expect(LAMBDA_NODE_RUNTIME.name).toBe('nodejs24.x');
      for (const { name, properties } of functions()) {
        expect(properties, name).toMatchObject({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          Handler: 'index.handler',
          MemorySize: 1024,
        });
        expect(properties.Timeout as number).toBeLessThan(INTEGRATION_TIMEOUT_MS / 1000);
        const logGroup = (properties.LoggingConfig as { LogGroup: unknown }).LogGroup;
        expect(names.get(`${API_STACK_NAME}/${refOf(logGroup)}`)).toBe(`${name}-logs`);
        expect(resources[refOf(logGroup)]?.Properties.RetentionInDays).toBe(90);
      }
    });

    it('carry the Powertools settings of shared/observability.ts, and keep responses out of X-Ray', () => {
      for (const { name, environment } of functions()) {
        expect(environment, name).toMatchObject({
          POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
          POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
          LOG_LEVEL: 'INFO',
          NODE_OPTIONS: '--enable-source-maps',
        });
      }
      expect([SERVICE_NAME, METRICS_NAMESPACE]).toEqual(['clinic-wa', 'ClinicWA']);
    });

    it('give every function that builds the platform the whole contract, as the stateful stack publishes it', () => {
      const output = synthesized.template(STATEFUL_STACK_NAME).Outputs?.RuntimeEnvironment?.Value;
      const contract = parseRuntimeEnvironment(
        synthesized.resolve(output, STATEFUL_STACK_NAME, fakeResourceValues(synthesized)),
      );
      for (const name of ['tenants', 'admin', 'channels', 'messages', 'webhooks', 'authorizer'] as const) {
        const environment = environmentOf(name);
        // A variable that only comes with its grant: the webhook-secrets key, the webhooks function's alone.
        const given = RUNTIME_ENVIRONMENT_KEYS.filter(
          (key) => !BOUND_ONLY_KEYS.includes(key) || name === 'webhooks',
        );
        expect(Object.fromEntries(given.map((key) => [key, environment[key]])), name).toEqual(
          Object.fromEntries(given.map((key) => [key, contract[key]])),
        );
        for (const key of BOUND_ONLY_KEYS) {
          if (name !== 'webhooks') expect(environment, name).not.toHaveProperty(key);
        }
        expect(loadResourceConfig(environment).commandQueueUrls).toHaveLength(SHARDS);
      }
      expect(loadResourceConfig(environmentOf('webhooks')).webhookSecretKeyArn).toBe(
        contract.WEBHOOK_SECRET_KEY_ARN,
      );
      // Whose leases the operator's view reads: the runners' cluster, which the runner stack names.
      expect(environmentOf('admin').RUNNER_CLUSTER).toBe(RUNNER_CLUSTER);
      // The public function builds no platform: none of the contract, nothing to read.
      expect(Object.keys(environmentOf('public')).filter((key) => key in contract)).toEqual([]);
    });

    it('fit Lambda’s 4 KB of variables with cdk.json’s 16 shards and names as long as CloudFormation makes them', () => {
      const sizes = largestEnvironments(platform());
      expect(sizes.filter(({ stack }) => stack === API_STACK_NAME)).toHaveLength(FUNCTIONS.length);
      for (const { shardCount } of sizes) if (shardCount !== undefined) expect(shardCount).toBe(16);
      // Lambda refuses a function whose variables pass 4 KB. The command queue URLs are most of it
      // (~125 bytes a shard): the largest is ~3.7 KB, so 18 shards is the ceiling (docs/infra.md).
      const largest = Math.max(...sizes.map(({ bytes }) => bytes));
      expect(largest).toBeLessThan(4096);
      expect(largest).toBeGreaterThan(3000);
    });

    it('let the authorizer, and only it, find the admin key’s secret', async () => {
      const environment = environmentOf('authorizer');
      const [secretId] = only('AWS::SecretsManager::Secret');
      const secretArn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secretId}`;
      expect(environment.ADMIN_KEY_SECRET_ARN).toBe(secretArn);
      const getSecret = vi.fn(async () => 'k'.repeat(64));
      await expect(adminKeySource(environment, getSecret)()).resolves.toBe('k'.repeat(64));
      expect(getSecret).toHaveBeenCalledWith(secretArn, expect.anything());
      for (const name of FUNCTION_FAMILIES) expect(environmentOf(name).ADMIN_KEY_SECRET_ARN).toBeUndefined();
    });

    it('generate the admin key: 64 letters and digits, nothing a Bearer header or a shell would trip on', () => {
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: {
          PasswordLength: 64,
          ExcludePunctuation: true,
          IncludeSpace: false,
          SecretStringTemplate: Match.absent(),
        },
      });
      template.hasOutput('AdminKeySecretArn', { Value: { Ref: only('AWS::SecretsManager::Secret')[0] } });
      template.hasOutput('ApiUrl', { Value: Match.objectLike({ 'Fn::Join': Match.anyValue() }) });
      // And the exports CDK adds for the dashboard stack's references to the REST API.
      expect(
        Object.keys(template.toJSON().Outputs).filter((name) => !name.startsWith('ExportsOutput')),
      ).toEqual(['ApiUrl', 'AdminKeySecretArn']);
    });
  });

  describe('IAM', () => {
    let grants: IamGrant[];
    beforeAll(() => {
      grants = iamGrants(synthesized, named);
    });
    const roleOf = (name: ApiFunctionName) => cfnId(functionOf(built.api, name).role);
    const describeGrants = (name: ApiFunctionName) =>
      grants
        .filter((grant) => grant.principal === roleOf(name))
        .flatMap((grant) =>
          grant.resources.map(
            (resource) =>
              `${resource}: ${[...grant.actions].sort().join(' ')}${grant.condition ? ` if ${Object.keys(grant.condition).join('+')}` : ''}`,
          ),
        )
        .sort();

    const ITEMS = [
      'dynamodb:BatchGetItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ].join(' ');
    const basics = (name: ApiFunctionName) => [
      `${name}-logs: logs:CreateLogStream logs:PutLogEvents`,
      '*: xray:PutTelemetryRecords xray:PutTraceSegments',
    ];
    const platformTable = (actions: string) =>
      ['platform-table', 'platform-table/index/gsi1', 'platform-table/index/outbox'].map(
        (resource) => `${resource}: ${actions}`,
      );
    const sendToShards = Array.from(
      { length: SHARDS },
      (_, shard) => `shard-${shard}-queue: sqs:GetQueueAttributes sqs:GetQueueUrl sqs:SendMessage`,
    );

    it('gives the public function nothing but its logs and traces', () => {
      expect(describeGrants('public')).toEqual(basics('public').sort());
    });

    it('gives tenants the platform and idempotency tables', () => {
      expect(describeGrants('tenants')).toEqual(
        [...basics('tenants'), ...platformTable(ITEMS), `idempotency-table: ${ITEMS}`].sort(),
      );
    });

    it('gives admin queries that name their attributes, and nothing that writes', () => {
      const conditions = grants
        .filter((grant) => grant.principal === roleOf('admin') && grant.actions.includes('dynamodb:Query'))
        .map((grant) => ({ resources: grant.resources, condition: grant.condition }));
      const projected = (attributes: readonly string[]) => ({
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...attributes].sort() },
        StringEquals: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
      });
      expect(conditions).toEqual([
        // Channels' public attributes, in any tenant's partition and the shards' lists, no other index.
        {
          resources: ['platform-table', 'platform-table/index/gsi1'],
          condition: projected(CHANNEL_DIRECTORY_ATTRIBUTES),
        },
        // The runners' lease and membership items of their cluster, their bookkeeping attributes only.
        {
          resources: ['sessions-table'],
          condition: {
            ...projected(SHARD_OWNERSHIP_ATTRIBUTES),
            'ForAllValues:StringLike': {
              'dynamodb:LeadingKeys': [`LEASE#${RUNNER_CLUSTER}#*`, `RUNNERS#${RUNNER_CLUSTER}`],
            },
          },
        },
      ]);
      // What a channel item holds beyond them (its QR or pairing code) and other items' secrets stay out.
      for (const secret of ['pairing', 'secrets', 'secretHash', 'text', 'contact']) {
        expect(CHANNEL_DIRECTORY_ATTRIBUTES as readonly string[]).not.toContain(secret);
      }
      expect(describeGrants('admin')).toEqual(
        [
          ...basics('admin'),
          'platform-table: dynamodb:Query if ForAllValues:StringEquals+StringEquals',
          'platform-table/index/gsi1: dynamodb:Query if ForAllValues:StringEquals+StringEquals',
          'sessions-table: dynamodb:Query if ForAllValues:StringEquals+StringEquals+ForAllValues:StringLike',
          'session-key: kms:Decrypt kms:DescribeKey if StringEquals',
        ].sort(),
      );
    });

    it('gives channels the tables and sending to every shard’s command queue (not the DLQs)', () => {
      expect(describeGrants('channels')).toEqual(
        [
          ...basics('channels'),
          ...platformTable(ITEMS),
          `idempotency-table: ${ITEMS}`,
          ...sendToShards,
        ].sort(),
      );
    });

    it('gives messages the same, and putting and getting media objects (no delete), listing only under media/', () => {
      expect(describeGrants('messages')).toEqual(
        [
          ...basics('messages'),
          ...platformTable(ITEMS),
          `idempotency-table: ${ITEMS}`,
          ...sendToShards,
          'media-bucket/*: s3:AbortMultipartUpload s3:GetObject s3:PutObject',
          'media-bucket: s3:ListBucket if StringLike',
        ].sort(),
      );
    });

    it('gives webhooks the platform and idempotency tables and sending to the deliveries’ queue (not its DLQ), nothing else', () => {
      expect(describeGrants('webhooks')).toEqual(
        [
          ...basics('webhooks'),
          ...platformTable(ITEMS),
          `idempotency-table: ${ITEMS}`,
          'webhook-deliveries-queue: sqs:GetQueueAttributes sqs:GetQueueUrl sqs:SendMessage',
          // Sealing new secrets, opening a replayed creation's: each with a webhook's context only.
          'webhook-secret-key: kms:Decrypt kms:Encrypt if StringEquals+ForAllValues:StringEquals+Null',
        ].sort(),
      );
    });

    it('lets every reader of media list the keys the media store reads, so a missing file is a 404 and not a 403', async () => {
      // Whoever may get a media object, in any stack: the messages function and the runner's tasks,
      // which read through the media store, and the dispatcher's delivery function, which only
      // presigns download URLs (it calls no S3 operation: webhook-dispatcher-stack.test.ts; a
      // clinic downloading a file expired since gets S3's 403, as with any presigned URL).
      const presigner = cfnId(built.consumers.webhookDispatcher.delivery.role);
      const everyReader = principalsAllowed(grants, ['s3:GetObject'], 'media-bucket', [...names.values()]);
      expect(everyReader).toEqual(
        [roleOf('messages'), cfnId(built.runner.runner.taskRole), presigner].sort(),
      );
      const readers = everyReader.filter((reader) => reader !== presigner);
      // S3 checks s3:ListBucket with the requested key as s3:prefix before it answers 404 for it.
      const requested: string[] = [];
      const client = {
        send: async (command: { input: { Key: string } }) => {
          requested.push(command.input.Key);
          return {};
        },
      };
      const store = new S3MediaStore(client as unknown as S3Client, 'media-bucket');
      await store.describe('tenant_1', 'media_1');
      await store.get('tenant_1', 'media_1');
      expect(requested).toHaveLength(2);
      for (const reader of readers) {
        const listings = grants.filter(
          (grant) => grant.principal === reader && allows(grant.actions, 's3:ListBucket'),
        );
        expect(listings.map((grant) => [grant.actions, grant.resources, grant.condition])).toEqual([
          [['s3:ListBucket'], ['media-bucket'], { StringLike: { 's3:prefix': `${MEDIA_KEY_PREFIX}*` } }],
        ]);
        for (const key of requested) expect(stringLike(`${MEDIA_KEY_PREFIX}*`, key), key).toBe(true);
      }
      // …and the condition lists nothing else of the bucket.
      expect(stringLike(`${MEDIA_KEY_PREFIX}*`, 'other/tenant_1/media_1')).toBe(false);
    });

    it('gives the authorizer GetItem on the platform table (no query, no batch, no index) and the admin key, nothing else', () => {
      expect(describeGrants('authorizer')).toEqual(
        [
          ...basics('authorizer'),
          'platform-table: dynamodb:GetItem',
          'admin-key-secret: secretsmanager:DescribeSecret secretsmanager:GetSecretValue',
        ].sort(),
      );
    });

    it('gives the authorizer what authenticating a tenant key takes: the key’s item and its tenant’s, by GetItem', async () => {
      const sent: string[] = [];
      const [tenantId, keyId] = [newId('tenant'), newId('apiKey')];
      const { key, secretHash } = issueApiKeySecret(tenantId, keyId);
      const at = '2030-01-01T00:00:00.000Z';
      // One item that reads as the key and as its active tenant.
      const item = { id: keyId, tenantId, name: 'k', scopes: [], secretHash, createdAt: at };
      const client = {
        send: async (command: { input: { TableName?: string } }) => {
          sent.push(`${command.constructor.name} ${command.input.TableName}`);
          return { Item: { ...item, status: 'active', retentionDays: 30, updatedAt: at } };
        },
      } as unknown as DynamoDBDocumentClient;
      const principal = await resolvePrincipal(
        {
          tenants: new DynamoTenantRepository(client, 'platform-table'),
          apiKeys: new DynamoApiKeyRepository(client, 'platform-table'),
          adminKey: async () => 'a'.repeat(64),
        },
        `Bearer ${key}`,
      );
      expect(principal).toMatchObject({ kind: 'tenant', tenantId, keyId });
      // GetCommand is GetItem: what the grant above allows, on the table it names.
      expect(sent).toEqual(['GetCommand platform-table', 'GetCommand platform-table']);
    });

    /**
     * What a role may do to the session state (any action), and any KMS call or wildcard beyond X-Ray,
     * but on the webhook-secrets key (test/unit/infra/webhook-secret-key.test.ts has who may use it).
     */
    function sessionAccess(allGrants: readonly IamGrant[], roles: readonly string[]): string[] {
      const sessionResource = /^(sessions-table|session-key)(\/|$)/;
      const webhookSecretsOnly = (grant: IamGrant) =>
        grant.resources.every((resource) => resource === 'webhook-secret-key');
      return allGrants
        .filter((grant) => roles.includes(grant.principal))
        .filter(
          (grant) =>
            grant.resources.some((resource) => sessionResource.test(resource)) ||
            (grant.actions.some((action) => action.startsWith('kms:')) && !webhookSecretsOnly(grant)) ||
            grant.actions.some((action) => action === '*') ||
            (grant.resources.includes('*') && grant.actions.some((action) => !action.startsWith('xray:'))),
        )
        .map((grant) => `${grant.principal}: ${grant.actions.join(' ')} on ${grant.resources.join(' ')}`);
    }

    it('lets no function but admin touch the sessions table or the session key, and admin only read through DynamoDB', () => {
      const roles = FUNCTIONS.map(roleOf);
      expect(roles.filter((role) => !grants.some((grant) => grant.principal === role))).toEqual([]);
      expect(
        sessionAccess(
          grants,
          roles.filter((role) => role !== roleOf('admin')),
        ),
      ).toEqual([]);
      expect(sessionAccess(grants, [roleOf('admin')])).toEqual([
        `${roleOf('admin')}: dynamodb:Query on sessions-table`,
        `${roleOf('admin')}: kms:Decrypt kms:DescribeKey on session-key`,
      ]);
      // The key only through DynamoDB: admin cannot unwrap a channel's data key by calling KMS itself.
      const keyGrant = grants.find(
        (grant) => grant.principal === roleOf('admin') && grant.resources.includes('session-key'),
      );
      if (!keyGrant?.condition) throw new Error('admin’s grant of the session key has no condition');
      expect(Object.keys(keyGrant.condition)).toEqual(['StringEquals']);
      const viaService = (keyGrant.condition.StringEquals as Record<string, unknown>)['kms:ViaService'];
      expect(synthesized.resolve(viaService, API_STACK_NAME, named)).toBe('dynamodb.us-east-1.amazonaws.com');
    });

    it('would notice a function given the sessions table', () => {
      const intruded = platform({ shardCount: 2 });
      intruded.stateful.sessionsTable.bindRead(intruded.api.functions.families.tenants.consumer);
      const intrudedNames = readableNames(intruded);
      const otherGrants = iamGrants(
        new SynthesizedPlatform(intruded.app),
        (stack, id, attribute) =>
          intrudedNames.get(`${stack}/${id}`) ?? `${stack}/${id}${attribute ? `.${attribute}` : ''}`,
      );
      expect(sessionAccess(otherGrants, [cfnId(intruded.api.functions.families.tenants.role)])).toHaveLength(
        2,
      );
    });
  });

  describe('cdk-nag', () => {
    it('finds nothing unacknowledged once synthesized, as `cdk synth` checks it', () => {
      // Synthesized in beforeAll: cross-stack references are imports now, as the plugin sees them.
      const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(built.api);
      expect(report.violations.flatMap((violation) => violation.violatingResources)).toEqual([]);
    });

    it('acknowledges each finding on the resource it excuses, with a reason of its own', () => {
      const acknowledgements = built.api.node.findAll().flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) =>
            Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
              at: construct.node.path.replace(`${API_STACK_NAME}/`, ''),
              rule: id.replace(/^Annotation::/i, ''),
              reason,
            })),
          ),
      );
      const xray = 'AwsSolutions-IAM5[Resource::*]';
      expect(acknowledgements.map(({ at, rule }) => `${at} ${rule}`).sort()).toEqual(
        [
          ...['Public', 'Tenants', 'Admin', 'Channels', 'Messages', 'Webhooks', 'Authorizer'].map(
            (fn) => `Functions/${fn}/Role ${xray}`,
          ),
          `Functions/Messages/Role AwsSolutions-IAM5[Resource::${STATEFUL_STACK_NAME}:ExportsOutputFnGetAttMediaBucket4022EBBFArnD921DB08/*]`,
          'AdminKey/Secret AwsSolutions-SMG4',
          'Api/Api AwsSolutions-COG4',
          'Api/Api AwsSolutions-APIG2',
          'Api/Api/CloudWatchRole AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
          ...['/health', '/v1/openapi.json', '/docs'].map(
            (path) => `Api/Api/Default${path}/GET AwsSolutions-APIG4`,
          ),
        ].sort(),
      );
      const reasons = new Map<string, Set<string>>();
      for (const { rule, reason } of acknowledgements) {
        expect(reason.length, rule).toBeGreaterThan(60);
        reasons.set(reason, (reasons.get(reason) ?? new Set()).add(rule.replace(/\[.*$/, '')));
      }
      // One reason is never reused for another rule.
      for (const [reason, rules] of reasons) expect([...rules], reason).toHaveLength(1);
    });
  });
});

describe('the authorizer’s reserved concurrency', () => {
  /** Each function's ReservedConcurrentExecutions, by name, in an app with this context. */
  function reservations(context: Record<string, unknown>) {
    const built = platform({ shardCount: 2, ...context });
    const template = Template.fromStack(built.api);
    return Object.fromEntries(
      FUNCTIONS.map((name) => {
        const [, id] = cfnId(functionOf(built.api, name).function).split('/');
        const fn = template.toJSON().Resources[id ?? ''] as { Properties: Record<string, unknown> };
        return [name, fn.Properties.ReservedConcurrentExecutions];
      }),
    );
  }
  const none = Object.fromEntries(FUNCTIONS.map((name) => [name, undefined]));

  it('is off by default (cdk.json), so a deployment never fails on a new account’s small quota', () => {
    expect(cdkJsonContext().authorizerReservedConcurrency).toBe('off');
    expect(reservations({})).toEqual(none);
  });

  it('reserves `-c authorizerReservedConcurrency=N` executions for the authorizer alone', () => {
    expect(reservations({ authorizerReservedConcurrency: '10' })).toEqual({ ...none, authorizer: 10 });
    expect(reservations({ authorizerReservedConcurrency: 25 })).toEqual({ ...none, authorizer: 25 });
  });

  it('refuses 0 (the authorizer could never run) and nonsense', () => {
    for (const value of ['0', 0, -1, 'lots', 2.5]) {
      expect(() => reservations({ authorizerReservedConcurrency: value }), String(value)).toThrow(
        /authorizerReservedConcurrency must be "off" or a positive integer/,
      );
    }
  });
});

describe('the web ACL’s rate window', () => {
  /** The per-address rule and its 429's Retry-After, in an app with this context. */
  function rateRule(context: Record<string, unknown>) {
    const built = platform({ shardCount: 2, ...context });
    const [acl] = Object.values(Template.fromStack(built.api).findResources('AWS::WAFv2::WebACL')) as {
      Properties: {
        Rules: {
          Name: string;
          Statement: { RateBasedStatement?: unknown };
          Action?: { Block: { CustomResponse: { ResponseHeaders: { Name: string; Value: string }[] } } };
        }[];
      };
    }[];
    const rule = acl?.Properties.Rules.find((candidate) => candidate.Name === 'RateLimitPerIp');
    return {
      statement: rule?.Statement.RateBasedStatement,
      retryAfter: rule?.Action?.Block.CustomResponse.ResponseHeaders.find(
        ({ Name }) => Name === 'Retry-After',
      )?.Value,
    };
  }

  it('is 60 s by default (cdk.json)', () => {
    expect(cdkJsonContext().firewallRateWindowSeconds).toBe(60);
    expect(rateRule({})).toEqual({
      statement: { AggregateKeyType: 'IP', EvaluationWindowSec: 60, Limit: 3000 },
      retryAfter: '60',
    });
  });

  it('takes `-c firewallRateWindowSeconds=N`, scaling the limit to the same rate and Retry-After to the window', () => {
    expect(rateRule({ firewallRateWindowSeconds: '300' })).toEqual({
      statement: { AggregateKeyType: 'IP', EvaluationWindowSec: 300, Limit: 15000 },
      retryAfter: '300',
    });
    expect(rateRule({ firewallRateWindowSeconds: 600 }).statement).toMatchObject({ Limit: 30000 });
  });

  it('refuses a window AWS WAF does not take', () => {
    for (const value of ['90', 30, 0, 'off', 3600]) {
      expect(() => rateRule({ firewallRateWindowSeconds: value }), String(value)).toThrow(
        /firewallRateWindowSeconds must be one of 60, 120, 300, 600/,
      );
    }
  });
});

describe('the shard count the API can carry', () => {
  it('synthesizes at the ceiling, every function of every stack with its variables under 4 KB', () => {
    const sizes = largestEnvironments(platform({ shardCount: MAX_SHARDS_WITH_API }));
    // The API's six functions and the consumers' three, each with every shard's queue URL.
    expect(sizes.map(({ stack }) => stack).sort()).toEqual(
      [...Array(FUNCTIONS.length).fill(API_STACK_NAME), ...Array(3).fill(CONSUMERS_STACK_NAME)].sort(),
    );
    for (const { stack, id, bytes, shardCount } of sizes) {
      // The public function reads no platform and gets none of the contract.
      if (shardCount !== undefined) expect(shardCount, `${stack}/${id}`).toBe(MAX_SHARDS_WITH_API);
      expect(bytes, `${stack}/${id}`).toBeLessThan(4096);
    }
    // The ceiling is tight: one more shard's URL (the longest, ~125 bytes) would not fit the largest.
    const largest = Math.max(...sizes.map(({ bytes }) => bytes));
    expect(
      largest +
        (largest -
          Math.max(
            ...largestEnvironments(platform({ shardCount: MAX_SHARDS_WITH_API - 1 })).map(
              ({ bytes }) => bytes,
            ),
          )),
    ).toBeGreaterThan(4096);
  }, 60_000);

  it('refuses at synthesis the next shard count, from cdk.json or -c, before building any stack', () => {
    for (const shardCount of [MAX_SHARDS_WITH_API + 1, String(MAX_SHARDS_WITH_API + 1), 64]) {
      const app = createApp({ context: { ...WITHOUT_BUNDLING, shardCount } });
      expect(() => definePlatform(app, { checks: false })).toThrow(
        new RegExp(
          `context shardCount ${Number(shardCount)} is more than the API's functions can carry \\(${MAX_SHARDS_WITH_API}\\)`,
        ),
      );
      expect(app.node.children).toHaveLength(0);
    }
  });
});

/**
 * The size of each Lambda function's variables (API and consumers stacks) as Lambda counts it (the
 * JSON of the map, in bytes), with every resource named as long as CloudFormation may name it:
 * `<stack>-<logical id>-<13 random>`, cut to the service's limit, in the region with the longest name
 * we might use.
 */
function largestEnvironments(built: ReturnType<typeof platform>) {
  const synthesized = new SynthesizedPlatform(built.app);
  const [region, account] = ['ap-southeast-2', '123456789012'];
  const generated = (stack: string, id: string, max: number, suffix = '') =>
    `${stack}-${id}-${'X'.repeat(13)}`.slice(0, max - suffix.length) + suffix;
  const longest = (stack: string, id: string, attribute?: string) => {
    const type = synthesized.template(stack).Resources[id]?.Type ?? '';
    if (type === 'AWS::SQS::Queue') {
      const name = generated(stack, id, 80, id.includes('Shard') || id.includes('Ordered') ? '.fifo' : '');
      return attribute === 'Arn'
        ? `arn:aws:sqs:${region}:${account}:${name}`
        : `https://sqs.${region}.amazonaws.com/${account}/${name}`;
    }
    if (type === 'AWS::KMS::Key') return `arn:aws:kms:${region}:${account}:key/${'0'.repeat(36)}`;
    if (type === 'AWS::SecretsManager::Secret')
      return `arn:aws:secretsmanager:${region}:${account}:secret:${generated(stack, id, 512)}-XXXXXX`;
    if (type === 'AWS::S3::Bucket') return generated(stack, id, 63).toLowerCase();
    if (attribute === 'Arn') return `arn:aws:service:${region}:${account}:${generated(stack, id, 255)}`;
    return generated(stack, id, 255);
  };
  const pseudo = {
    'AWS::Region': region,
    'AWS::AccountId': account,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  return [API_STACK_NAME, CONSUMERS_STACK_NAME].flatMap((stack) =>
    Object.entries(synthesized.template(stack).Resources as Resources)
      .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
      .map(([id, fn]) => {
        const { Variables: variables = {} } = (fn.Properties.Environment ?? {}) as {
          Variables?: Record<string, unknown>;
        };
        const resolved = Object.fromEntries(
          Object.entries(variables).map(([key, value]) => [
            key,
            synthesized.resolve(value, stack, longest, pseudo),
          ]),
        );
        const shardCount =
          'PLATFORM_TABLE_NAME' in resolved ? loadResourceConfig(resolved).shardCount : undefined;
        return { stack, id, bytes: Buffer.byteLength(JSON.stringify(resolved)), shardCount };
      }),
  );
}
