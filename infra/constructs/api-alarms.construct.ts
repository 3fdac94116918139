// CloudWatch alarms on the API: what clients get (the stage's 5XXError), what each function does
// (Lambda's Errors and Throttles), the faults the router counts per route (the EMF metric `Faults`)
// and what the web ACL refuses (AWS WAF's BlockedRequests). Like the dead-letter alarms, they have no action yet: they show in the console until
// the operations issue gives them an SNS topic. docs/infra.md ("Alarms") says why each threshold.
import { Duration, Stack } from 'aws-cdk-lib';
import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import {
  type Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#shared/observability.ts';
import { type ApiFirewall, FIREWALL_RULES } from './api-firewall.construct.ts';
import type { ApiFunctions } from './api-functions.construct.ts';

/** Every alarm sums its metric over this period and alarms on one period over the threshold. */
export const API_ALARM_PERIOD = Duration.minutes(5);

/**
 * The router's count of answers ≥ 500 (functions/http/api-router.ts, `routeMetrics`), as its EMF
 * lines publish it: Powertools' default dimension `service` plus the `route` each request adds, one
 * dimension set of both, and none of `service` alone. A unit test holds this to what the router emits.
 */
export const FAULTS_METRIC = {
  namespace: METRICS_NAMESPACE,
  metricName: 'Faults',
  dimensions: ['route', 'service'],
  service: SERVICE_NAME,
} as const;

/**
 * The faults of every route summed, as a Metrics Insights query: a metric math alarm takes at most
 * 10 metrics, one family alone has 12 routes, and a query also counts routes added later.
 */
export const FAULTS_QUERY =
  `SELECT SUM(${FAULTS_METRIC.metricName}) ` +
  `FROM SCHEMA("${FAULTS_METRIC.namespace}", ${FAULTS_METRIC.dimensions.join(', ')}) ` +
  `WHERE service = '${FAULTS_METRIC.service}'`;

/**
 * What an alarm fires at, summed over `API_ALARM_PERIOD`. Every 5xx, function error, throttle and
 * fault is a bug or a failing dependency (the functions answer every expected failure with a 4xx),
 * so one is enough. The authorizer's Errors are the exception: a refused key is a thrown
 * `Unauthorized`, which Lambda counts as an error, so only a surge of them means anything. So are
 * the web ACL's blocks: scanners and oversized uploads are refused every day, only a surge is news.
 * And so is the rate limit: a scanner bursting past it for a minute is refused and gone, so only a
 * limit hit for `FIREWALL_RATE_LIMITED_PERIODS` periods in a row (a flood that lasts, or an
 * integration the limit is too low for) fires, at 100+ refusals each (not a client's stray retries).
 */
export const API_ALARM_THRESHOLDS = {
  serverErrors: 1,
  faults: 1,
  functionErrors: 1,
  throttles: 1,
  authorizerErrors: 100,
  firewallBlocks: 100,
  firewallRateLimited: 100,
} as const;

/** Periods in a row the rate limit must refuse `firewallRateLimited`+ requests: 15 minutes. */
export const FIREWALL_RATE_LIMITED_PERIODS = 3;

export interface ApiAlarmsProps {
  readonly stage: Stage;
  readonly functions: ApiFunctions;
  readonly firewall: ApiFirewall;
}

const capitalized = (name: string) => `${name[0]?.toUpperCase()}${name.slice(1)}`;

export class ApiAlarms extends Construct {
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: ApiAlarmsProps) {
    super(scope, id);
    const thresholds = API_ALARM_THRESHOLDS;
    const sum = { period: API_ALARM_PERIOD, statistic: Stats.SUM };

    this.alarm(
      'ServerErrors',
      props.stage.metricServerError(sum),
      thresholds.serverErrors,
      'The API answered 5xx (stage 5XXError): a function fault, crash or throttle, an authorizer failure, a ' +
        'timeout. The access log has each one’s errorType and request id.',
    );
    this.alarm(
      'Faults',
      new MathExpression({ expression: FAULTS_QUERY, period: API_ALARM_PERIOD, label: 'Faults, all routes' }),
      thresholds.faults,
      'A function answered 500 internal_error (EMF Faults, any route; the route dimension says which). The ' +
        'function’s log has the error under the request id.',
    );
    const { families, authorizer } = props.functions;
    for (const [family, fn] of Object.entries(families)) {
      this.alarm(
        `${capitalized(family)}Errors`,
        fn.function.metricErrors(sum),
        thresholds.functionErrors,
        `The ${family} function failed an invocation (Lambda Errors): a crash, a timeout or a failed cold ` +
          'start, which the client gets as a 5xx.',
      );
    }
    for (const [family, fn] of Object.entries(families)) {
      this.alarm(
        `${capitalized(family)}Throttles`,
        fn.function.metricThrottles(sum),
        thresholds.throttles,
        `Lambda throttled the ${family} function: the account’s concurrent executions are used up, and ` +
          'requests fail with a 5xx.',
      );
    }
    this.alarm(
      'AuthorizerThrottles',
      authorizer.function.metricThrottles(sum),
      thresholds.throttles,
      'Lambda throttled the authorizer: its reservation (authorizerReservedConcurrency) or the account’s ' +
        'concurrent executions are used up, and keys without a cached answer are refused with a 5xx.',
    );
    this.alarm(
      'AuthorizerErrors',
      authorizer.function.metricErrors(sum),
      thresholds.authorizerErrors,
      `The authorizer failed ${thresholds.authorizerErrors}+ invocations in 5 minutes. Each refused key ` +
        'counts (it throws Unauthorized), so this is a surge of bad keys (a key-guessing flood, a client ' +
        'with a revoked key) or the authorizer failing (then ServerErrors fires too).',
    );
    this.alarm(
      'FirewallBlocks',
      this.firewallBlocks(props.firewall, 'ALL'),
      thresholds.firewallBlocks,
      `The web ACL refused ${thresholds.firewallBlocks}+ requests in 5 minutes (any rule): a flood, a scan, or ` +
        'a client retrying a refused request in a loop. Its log (aws-waf-logs-…) names the rule and address.',
    );
    this.alarm(
      'FirewallRateLimited',
      this.firewallBlocks(props.firewall, FIREWALL_RULES.rateLimitPerIp),
      thresholds.firewallRateLimited,
      `The rate limit (${props.firewall.rateLimit} requests per address in the web ACL's window) refused ` +
        `${thresholds.firewallRateLimited}+ requests (429) in each of ${FIREWALL_RATE_LIMITED_PERIODS} periods of 5 minutes ` +
        'in a row: a flood that lasts, or an integration serving many clinics from one address that needs a ' +
        'higher limit. The WAF log names the addresses.',
      FIREWALL_RATE_LIMITED_PERIODS,
    );
  }

  /** AWS WAF's count of requests a rule of the web ACL blocked (`ALL`: any rule). */
  private firewallBlocks(firewall: ApiFirewall, rule: string): Metric {
    return new Metric({
      namespace: 'AWS/WAFV2',
      metricName: 'BlockedRequests',
      dimensionsMap: { WebACL: firewall.webAclName, Region: Stack.of(this).region, Rule: rule },
      period: API_ALARM_PERIOD,
      statistic: Stats.SUM,
    });
  }

  private alarm(
    id: string,
    metric: Metric | MathExpression,
    threshold: number,
    description: string,
    periods = 1,
  ): void {
    this.alarms.push(
      metric.createAlarm(this, `${id}Alarm`, {
        alarmDescription: `${description} (docs/infra.md, Alarms)`,
        threshold,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
