// The web ACL in front of the REST API's stage (AWS WAF): what must be refused before API Gateway
// invokes anything. A body too large for the Lambda event that would carry it (API Gateway would
// answer that with a 5xx), a flood from one address (the stage's throttle is for all clients at
// once, each tenant's limit needs a key, and unkeyed requests reach the authorizer), and requests
// AWS's managed lists know as bad. Every refusal carries the API's error body. docs/infra.md ("The
// web ACL") says why these rules and these limits.
import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnLoggingConfiguration, CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { bodyTooLargeResponse, MAX_REQUEST_BODY_BYTES } from '#functions/http/edge-limits.ts';
import { type ErrorResponse, errorResponse } from '#shared/domain/error-body.ts';
import { ForbiddenError, RateLimitedError } from '#shared/domain/errors.ts';

/** The windows AWS WAF's rate-based rules count over (`EvaluationWindowSec`). */
export const FIREWALL_RATE_WINDOWS = [60, 120, 300, 600] as const;
export type FirewallRateWindow = (typeof FIREWALL_RATE_WINDOWS)[number];
/** When cdk.json and `-c firewallRateWindowSeconds` say nothing. */
export const DEFAULT_FIREWALL_RATE_WINDOW: FirewallRateWindow = 60;

/**
 * Requests one client address may send a minute, averaged over the window. A tenant may send 200
 * every 10 s (1,200 a minute, `DynamoRateLimiter`), so this is two and a half tenants at their full
 * limit from one address: far above a clinic, room for an integrator serving a few clinics from one
 * server, and a flood is cut after a few thousand requests instead of taking the stage's 500/s.
 */
export const IP_REQUESTS_PER_MINUTE = 3000;

/** The rules, in the order AWS WAF evaluates them; each name is also its metric's `Rule` dimension. */
export const FIREWALL_RULES = {
  rateLimitPerIp: 'RateLimitPerIp',
  bodyTooLarge: 'BodyTooLarge',
  amazonIpReputation: 'AmazonIpReputation',
  knownBadInputs: 'KnownBadInputs',
  refuseManagedMatches: 'RefuseManagedMatches',
} as const;

/**
 * The labels of the managed rules whose matches are refused (the groups only count, so that the
 * refusal can carry our body). Every rule of the known-bad-inputs group blocks in AWS's own
 * configuration; of the IP reputation group, the two that block there (its DDoS list only counts:
 * AWS leaves it to rate-based rules, as here).
 */
export const REFUSED_MANAGED_LABELS = {
  namespaces: ['awswaf:managed:aws:known-bad-inputs:'],
  labels: [
    'awswaf:managed:aws:amazon-ip-list:AWSManagedIPReputationList',
    'awswaf:managed:aws:amazon-ip-list:AWSManagedReconnaissanceList',
  ],
} as const;

/**
 * A regular expression matching the decimal integers (leading zeros allowed) greater than `limit`:
 * AWS WAF compares headers as text, so `Content-Length: 4325377` is refused by its digits. Top-level
 * alternatives, each anchored, and no group: AWS WAF's PCRE subset refuses capturing groups. A
 * longer number, or one of the same length whose first differing digit is greater.
 */
export function decimalAbove(limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`not a decimal limit: ${limit}`);
  const digits = String(limit);
  const rest = (count: number) => (count === 0 ? '' : count === 1 ? '[0-9]' : `[0-9]{${count}}`);
  const greater = (digit: number) => (digit === 8 ? '9' : `[${digit + 1}-9]`);
  const alternatives = [`[1-9][0-9]{${digits.length},}`];
  for (let index = 0; index < digits.length; index++) {
    const digit = Number(digits[index]);
    if (digit === 9) continue;
    alternatives.push(`${digits.slice(0, index)}${greater(digit)}${rest(digits.length - index - 1)}`);
  }
  return alternatives.map((alternative) => `^0*${alternative}$`).join('|');
}

export interface ApiFirewallProps {
  /** The stage the web ACL guards. */
  readonly stage: Stage;
  /** The rate-based rule's window (`-c firewallRateWindowSeconds`). */
  readonly rateWindowSeconds: FirewallRateWindow;
}

/** How AWS WAF sends an answer: status, headers, and a body it has by key. */
interface FirewallAnswer {
  readonly key: string;
  readonly response: ErrorResponse;
}

export class ApiFirewall extends Construct {
  readonly webAcl: CfnWebACL;
  /** The web ACL's name, which is also the `WebACL` dimension of its metrics. */
  readonly webAclName: string;
  readonly association: CfnWebACLAssociation;
  /** Blocked and counted requests only (allowed ones are in the stage's access log). */
  readonly logs: LogGroup;
  /** Requests one address may send in a window before 429. */
  readonly rateLimit: number;

  constructor(scope: Construct, id: string, props: ApiFirewallProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.webAclName = stack.stackName;
    this.rateLimit = (IP_REQUESTS_PER_MINUTE * props.rateWindowSeconds) / 60;

    // AWS WAF's answers are static: no request id of the gateway's can be in them. Each names the
    // rule instead, which is how the WAF log (terminatingRuleId) finds it (docs/api.md).
    const requestIdOf = (rule: string) => `waf:${rule}`;
    const answers = {
      bodyTooLarge: {
        key: 'request-too-large',
        response: bodyTooLargeResponse(requestIdOf(FIREWALL_RULES.bodyTooLarge)),
      },
      rateLimited: {
        key: 'rate-limited',
        // A blocked address is let through again once its count over the trailing window is under the
        // limit: after a whole window without requests, whatever it sent before.
        response: errorResponse(
          new RateLimitedError(props.rateWindowSeconds),
          requestIdOf(FIREWALL_RULES.rateLimitPerIp),
        ),
      },
      refused: {
        key: 'refused',
        response: errorResponse(
          new ForbiddenError('The request was refused', 'forbidden'),
          requestIdOf(FIREWALL_RULES.refuseManagedMatches),
        ),
      },
    } satisfies Record<string, FirewallAnswer>;
    const block = ({ key, response }: FirewallAnswer): CfnWebACL.RuleActionProperty => {
      const headers = Object.entries(response.headers).map(([name, value]) => ({
        name: headerName(name),
        value,
      }));
      return {
        block: {
          customResponse: {
            responseCode: response.status,
            customResponseBodyKey: key,
            ...(headers.length ? { responseHeaders: headers } : {}),
          },
        },
      };
    };
    const visibility = (metricName: string): CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName,
    });
    const managedGroup = (name: string, priority: number, group: string): CfnWebACL.RuleProperty => ({
      name,
      priority,
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: group } },
      // Counted, so that each match only labels the request and the rule below refuses it in our body.
      overrideAction: { count: {} },
      visibilityConfig: visibility(name),
    });

    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      name: this.webAclName,
      description:
        'clinic-wa API: bodies too large for a Lambda event, floods per address, known-bad requests',
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(this.webAclName),
      customResponseBodies: Object.fromEntries(
        Object.values(answers).map(({ key, response }) => [
          key,
          { contentType: 'APPLICATION_JSON', content: JSON.stringify(response.body) },
        ]),
      ),
      // Tenants' keys and the query (a file name may be a patient's) never reach the WAF log or the
      // console's sampled requests.
      dataProtectionConfig: {
        dataProtections: [
          { field: { fieldType: 'SINGLE_HEADER', fieldKeys: ['authorization'] }, action: 'SUBSTITUTION' },
          { field: { fieldType: 'QUERY_STRING' }, action: 'SUBSTITUTION' },
        ],
      },
      rules: [
        {
          name: FIREWALL_RULES.rateLimitPerIp,
          priority: 0,
          statement: {
            rateBasedStatement: {
              limit: this.rateLimit,
              aggregateKeyType: 'IP',
              evaluationWindowSec: props.rateWindowSeconds,
            },
          },
          action: block(answers.rateLimited),
          visibilityConfig: visibility(FIREWALL_RULES.rateLimitPerIp),
        },
        {
          name: FIREWALL_RULES.bodyTooLarge,
          priority: 1,
          statement: {
            regexMatchStatement: {
              // CDK passes `singleHeader` through as it is: CloudFormation's own spelling.
              fieldToMatch: { singleHeader: { Name: 'content-length' } },
              regexString: decimalAbove(MAX_REQUEST_BODY_BYTES),
              textTransformations: [{ priority: 0, type: 'NONE' }],
            },
          },
          action: block(answers.bodyTooLarge),
          visibilityConfig: visibility(FIREWALL_RULES.bodyTooLarge),
        },
        managedGroup(FIREWALL_RULES.amazonIpReputation, 2, 'AWSManagedRulesAmazonIpReputationList'),
        managedGroup(FIREWALL_RULES.knownBadInputs, 3, 'AWSManagedRulesKnownBadInputsRuleSet'),
        {
          name: FIREWALL_RULES.refuseManagedMatches,
          priority: 4,
          statement: {
            orStatement: {
              statements: [
                ...REFUSED_MANAGED_LABELS.namespaces.map((key) => ({
                  labelMatchStatement: { scope: 'NAMESPACE', key },
                })),
                ...REFUSED_MANAGED_LABELS.labels.map((key) => ({
                  labelMatchStatement: { scope: 'LABEL', key },
                })),
              ],
            },
          },
          action: block(answers.refused),
          visibilityConfig: visibility(FIREWALL_RULES.refuseManagedMatches),
        },
      ],
    });

    this.association = new CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });

    // AWS WAF logs only to a group whose name starts with `aws-waf-logs-`, given by an ARN without
    // CloudWatch's trailing `:*`.
    this.logs = new LogGroup(this, 'Logs', {
      logGroupName: `aws-waf-logs-${stack.stackName}`,
      retention: RetentionDays.THREE_MONTHS,
    });
    new CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [
        stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: this.logs.logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      // What was refused or counted; the stage's access log has every request.
      loggingFilter: {
        DefaultBehavior: 'DROP',
        Filters: [
          {
            Behavior: 'KEEP',
            Requirement: 'MEETS_ANY',
            Conditions: [{ ActionCondition: { Action: 'BLOCK' } }, { ActionCondition: { Action: 'COUNT' } }],
          },
        ],
      },
    });
  }
}

/** `retry-after` as HTTP spells it in an answer (AWS WAF sends the name as given). */
function headerName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => `${dash}${letter.toUpperCase()}`);
}
