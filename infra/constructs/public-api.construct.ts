// The clinics' HTTPS API: an API Gateway REST API with one method per route of `ROUTES`
// (functions/http/routes.ts), each a Lambda proxy integration of its family's function, behind the
// REQUEST authorizer except on public routes. Every answer API Gateway gives itself (no key, no
// route, a body too large, throttled) carries the API's own error body and request id. The web ACL in
// front of the stage is infra/constructs/api-firewall.construct.ts. docs/infra.md ("The API stack")
// says why a REST API and not an HTTP API.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  IdentitySource,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RequestAuthorizer,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  AUTHORIZER_CACHE_SECONDS,
  BINARY_MEDIA_TYPES,
  GATEWAY_RESPONSES,
  gatewayResponseBody,
  INTEGRATION_TIMEOUT_MS,
} from '#functions/http/gateway-responses.ts';
import { type FunctionFamily, ROUTES } from '#functions/http/routes.ts';

export const API_STAGE_NAME = 'prod';

/** What the authorizer's answer is cached by: the key the client presents. */
export const AUTHORIZER_IDENTITY_SOURCE = IdentitySource.header('Authorization');

/**
 * The stage's throttle, a backstop for the whole API (every tenant together). Each tenant's own
 * limit (200 requests per 10 s) is kept by the functions in DynamoDB (`DynamoRateLimiter`): 500/s is
 * 25 tenants at their full limit at once, far above what clinics send, and at ~200 ms a request needs
 * ~100 concurrent executions, a tenth of Lambda's default account quota.
 */
export const STAGE_THROTTLE = { rateLimit: 500, burstLimit: 1000 } as const;

/**
 * Headers API Gateway adds to its own answers, by response type. A throttled client may try again
 * after a second: the stage's throttle is a token bucket refilled at `STAGE_THROTTLE.rateLimit`
 * requests a second, so there is room again by then (the account-wide limit refills the same way).
 * The functions' own 429 (a tenant over its limit) carries a `Retry-After` of its own.
 */
export const GATEWAY_RESPONSE_HEADERS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  THROTTLED: { 'Retry-After': '1' },
};

/** API Gateway takes a static header value as a quoted literal (`'1'`); unquoted, it is a mapping. */
function staticHeaders(headers: Readonly<Record<string, string>> | undefined) {
  if (!headers) return undefined;
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, `'${value}'`]));
}

/**
 * One JSON object a request, every value a string (an absent one is `-`, which would break a bare
 * number). Ids, timings and outcomes only: API Gateway cannot log bodies here, and the path carries
 * ids, never patient data.
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: AccessLogField.contextRequestId(),
  extendedRequestId: AccessLogField.contextExtendedRequestId(),
  requestTimeEpoch: AccessLogField.contextRequestTimeEpoch(),
  sourceIp: AccessLogField.contextIdentitySourceIp(),
  userAgent: AccessLogField.contextIdentityUserAgent(),
  httpMethod: AccessLogField.contextHttpMethod(),
  resourcePath: AccessLogField.contextResourcePath(),
  path: AccessLogField.contextPath(),
  status: AccessLogField.contextStatus(),
  responseLength: AccessLogField.contextResponseLength(),
  responseLatency: AccessLogField.contextResponseLatency(),
  integrationStatus: AccessLogField.contextIntegrationStatus(),
  integrationLatency: AccessLogField.contextIntegrationLatency(),
  authorizerStatus: AccessLogField.contextAuthorizerStatus(),
  authorizerLatency: AccessLogField.contextAuthorizerLatency(),
  principalId: AccessLogField.contextAuthorizerPrincipalId(),
  tenantId: AccessLogField.contextAuthorizer('tenantId'),
  keyId: AccessLogField.contextAuthorizer('keyId'),
  errorType: AccessLogField.contextErrorResponseType(),
  errorMessage: AccessLogField.contextErrorMessage(),
  // WAF_ALLOW or WAF_BLOCK: the web ACL's verdict (infra/constructs/api-firewall.construct.ts).
  wafResponseCode: AccessLogField.contextWafResponseCode(),
  xrayTraceId: AccessLogField.contextXrayTraceId(),
};

export interface PublicApiProps {
  /** The function serving each route family. */
  readonly handlers: Readonly<Record<FunctionFamily, IFunction>>;
  readonly authorizer: IFunction;
}

export class PublicApi extends Construct {
  readonly api: RestApi;
  readonly authorizer: RequestAuthorizer;
  readonly accessLogs: LogGroup;
  /** Where API Gateway writes its execution logs (errors only); created here to give it a retention. */
  readonly executionLogs: LogGroup;

  constructor(scope: Construct, id: string, props: PublicApiProps) {
    super(scope, id);
    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.THREE_MONTHS });
    this.api = new RestApi(this, 'Api', {
      restApiName: 'clinic-wa',
      description: 'clinic-wa: the clinics’ HTTPS API',
      endpointTypes: [EndpointType.REGIONAL],
      binaryMediaTypes: [...BINARY_MEDIA_TYPES],
      // The account's CloudWatch Logs role for API Gateway (execution and access logs), kept when the
      // stack goes: the account setting would otherwise point at a deleted role.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: API_STAGE_NAME,
        description: 'clinic-wa API',
        tracingEnabled: true,
        // Errors only, and never the data trace: request and response bodies are patient data.
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: false,
        throttlingRateLimit: STAGE_THROTTLE.rateLimit,
        throttlingBurstLimit: STAGE_THROTTLE.burstLimit,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    // The stack's own output (ApiUrl) replaces the one RestApi adds.
    this.api.node.tryRemoveChild('Endpoint');
    Validations.of(this.api.node.findChild('CloudWatchRole')).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'The role API Gateway writes every API’s logs with in this account and region (an account setting, ' +
        'not this API’s): AWS’s policy for exactly that, which follows the log groups API Gateway creates.',
    });

    this.executionLogs = new LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${API_STAGE_NAME}`,
      retention: RetentionDays.THREE_MONTHS,
    });
    // Made before the stage can log, or API Gateway would create it first (without a retention).
    this.api.deploymentStage.node.addDependency(this.executionLogs);

    for (const response of Object.values(GATEWAY_RESPONSES)) {
      this.api.addGatewayResponse(response.type, {
        type: ResponseType.of(response.type),
        statusCode: String(response.status),
        templates: { 'application/json': gatewayResponseBody(response, '$context.requestId') },
        responseHeaders: staticHeaders(GATEWAY_RESPONSE_HEADERS[response.type]),
      });
    }

    this.authorizer = new RequestAuthorizer(this, 'Authorizer', {
      handler: props.authorizer,
      identitySources: [AUTHORIZER_IDENTITY_SOURCE],
      resultsCacheTtl: Duration.seconds(AUTHORIZER_CACHE_SECONDS),
    });

    const integrations = new Map<FunctionFamily, LambdaIntegration>();
    const integrationOf = (family: FunctionFamily) => {
      const existing = integrations.get(family);
      if (existing) return existing;
      const integration = new LambdaIntegration(props.handlers[family], {
        proxy: true,
        timeout: Duration.millis(INTEGRATION_TIMEOUT_MS),
        // Each method may invoke its function from the deployed stage only; no console test calls.
        scopePermissionToMethod: true,
        allowTestInvoke: false,
      });
      integrations.set(family, integration);
      return integration;
    };

    for (const route of ROUTES) {
      const isPublic = route.access.kind === 'public';
      if (isPublic && route.family !== 'public') {
        throw new Error(
          `${route.method} ${route.path} needs no key: it must be served by the public function, which has no data grants`,
        );
      }
      const method = this.api.root
        .resourceForPath(route.path)
        .addMethod(
          route.method,
          integrationOf(route.family),
          isPublic
            ? { operationName: route.operationId, authorizationType: AuthorizationType.NONE }
            : { operationName: route.operationId, authorizer: this.authorizer },
        );
      if (isPublic) {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${route.method} ${route.path} needs no key by design (${route.summary}); the public function serving it has no data grants.`,
        });
      }
    }

    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Clinics call with API keys (Bearer), checked by the REQUEST authorizer against hashes in DynamoDB; ' +
        'there are no Cognito users.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'Every function validates path, query and body with zod (the schemas of functions/http/routes.ts, ' +
        'also the OpenAPI document) and answers 400 in the API’s error format; gateway models would be a ' +
        'second copy of those schemas.',
    });
  }

  /** The deployed stage's URL, ending in `/`. */
  get url(): string {
    return this.api.url;
  }
}
