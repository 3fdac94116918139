// Builds the platform's stacks into an App. Shared by the CDK entry point (`infra/app.ts`), the
// local synthesizer and the tests, so all three see the same stacks, context and cdk-nag checks.
import { readFileSync } from 'node:fs';
import { App, type AppProps, Aspects, type IAspect, Stack, Validations } from 'aws-cdk-lib';
import { CfnTaskDefinition } from 'aws-cdk-lib/aws-ecs';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { LOCAL_ONLY_RUNNER_SETTINGS, LOCAL_ONLY_WEBHOOK_SETTINGS } from '#shared/config.ts';
import { ApiStack } from './api-stack.ts';
import {
  DEFAULT_FIREWALL_RATE_WINDOW,
  FIREWALL_RATE_WINDOWS,
  type FirewallRateWindow,
} from './constructs/api-firewall.construct.ts';
import type { DashboardDomain } from './constructs/dashboard-hosting.construct.ts';
import type { RunnerScaling } from './constructs/runner-service.construct.ts';
import { type ConsumerConcurrency, ConsumersStack, DEFAULT_CONSUMER_CONCURRENCY } from './consumers-stack.ts';
import { dashboardAssets } from './dashboard-build.ts';
import { DashboardStack } from './dashboard-stack.ts';
import { RunnerStack } from './runner-stack.ts';
import { DEFAULT_SHARD_COUNT, StatefulStack } from './stateful-stack.ts';

export const STATEFUL_STACK_NAME = 'ClinicWa-Stateful';
export const RUNNER_STACK_NAME = 'ClinicWa-Runner';
export const API_STACK_NAME = 'ClinicWa-Api';
export const CONSUMERS_STACK_NAME = 'ClinicWa-Consumers';
export const DASHBOARD_STACK_NAME = 'ClinicWa-Dashboard';

/** The runner's scaling when cdk.json and `-c` say nothing (docs/infra.md: why these). */
export const DEFAULT_RUNNER_SCALING: RunnerScaling = {
  minTasks: 2,
  maxTasks: 8,
  targetSessionsPerTask: 500,
};

/**
 * CDK's own switch (what `cdk deploy <another stack>` sets) that leaves Lambda code unbundled: for
 * apps whose templates are read but never deployed, such as the tests'. `cdk synth` bundles.
 */
export const WITHOUT_BUNDLING: Readonly<Record<string, unknown>> = { 'aws:cdk:bundling-stacks': [] };

/** The `context` of cdk.json (feature flags, shardCount), for apps created without the CLI. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/** An App like the CLI's: cdk.json's context, overridden by `context`. */
export function createApp(props: AppProps = {}): App {
  return new App({ ...props, context: { ...cdkJsonContext(), ...props.context } });
}

/** A context value arrives as a string from `cdk -c name=4`, as a number from cdk.json. */
function positiveIntegerContext(app: App, name: string, fallback: number): number {
  const raw: unknown = app.node.tryGetContext(name) ?? fallback;
  const value = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`context ${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function shardCountOf(app: App): number {
  return positiveIntegerContext(app, 'shardCount', DEFAULT_SHARD_COUNT);
}

/**
 * `runnerMinTasks`, `runnerMaxTasks`, `runnerTargetSessionsPerTask`. Shards are the unit of
 * ownership, so a task beyond the shard count would hold nothing: the maximum is capped at it.
 */
export function runnerScalingOf(app: App, shardCount: number): RunnerScaling {
  const minTasks = positiveIntegerContext(app, 'runnerMinTasks', DEFAULT_RUNNER_SCALING.minTasks);
  const maxTasks = Math.min(
    shardCount,
    positiveIntegerContext(app, 'runnerMaxTasks', DEFAULT_RUNNER_SCALING.maxTasks),
  );
  if (minTasks > maxTasks) {
    throw new Error(
      `context runnerMinTasks (${minTasks}) exceeds the maximum (runnerMaxTasks capped at shardCount: ${maxTasks})`,
    );
  }
  const targetSessionsPerTask = positiveIntegerContext(
    app,
    'runnerTargetSessionsPerTask',
    DEFAULT_RUNNER_SCALING.targetSessionsPerTask,
  );
  return { minTasks, maxTasks, targetSessionsPerTask };
}

/**
 * `authorizerReservedConcurrency`: Lambda executions reserved for the API's authorizer, or `off` (the
 * default, cdk.json). Off because Lambda refuses any reservation that would leave the account fewer
 * than 100 unreserved executions, and a new account's quota may be far below 1,000 (docs/infra.md,
 * "Authorizer concurrency"): turn it on (`-c authorizerReservedConcurrency=10`) once the quota is known.
 */
export function authorizerReservedConcurrencyOf(app: App): number | undefined {
  const raw: unknown = app.node.tryGetContext('authorizerReservedConcurrency');
  if (raw === undefined || raw === 'off' || raw === false) return undefined;
  const value = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    // 0 would be a reservation too: the authorizer, and with it every keyed route, could never run.
    throw new Error(
      `context authorizerReservedConcurrency must be "off" or a positive integer, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** Lambda's bounds for an SQS event source's `MaximumConcurrency`. */
export const EVENT_SOURCE_MAX_CONCURRENCY = { min: 2, max: 1000 } as const;

/**
 * The consumers' share of the account's Lambda concurrency (docs/infra.md, "Consumer concurrency"):
 * `recorderMaxConcurrency`, `webhookFanOutMaxConcurrency`, `webhookDeliveryMaxConcurrency` (each event
 * source's `MaximumConcurrency`, 2 to 1,000) and `webhookFanOutReservedConcurrency`,
 * `webhookDeliveryReservedConcurrency` (a positive integer or `off`). A reservation below what the
 * function's two sources may run would have Lambda throttle its own pollers: synthesis refuses it.
 */
export function consumerConcurrencyOf(app: App): ConsumerConcurrency {
  const defaults = DEFAULT_CONSUMER_CONCURRENCY;
  const maxConcurrency = (name: string, fallback: number) => {
    const value = positiveIntegerContext(app, name, fallback);
    const { min, max } = EVENT_SOURCE_MAX_CONCURRENCY;
    if (value < min || value > max) {
      throw new Error(`context ${name} must be an integer from ${min} to ${max}, got ${value}`);
    }
    return value;
  };
  const reserved = (name: string, fallback: number, sources: number) => {
    const raw: unknown = app.node.tryGetContext(name);
    if (raw === 'off' || raw === false) return undefined;
    const value = positiveIntegerContext(app, name, fallback);
    if (value < sources) {
      throw new Error(
        `context ${name} (${value}) is below what the function's two event sources may run (${sources}): ` +
          'Lambda would throttle its own pollers; raise it or lower the sources’ maximum concurrency',
      );
    }
    return value;
  };
  const fanOutMaxConcurrency = maxConcurrency('webhookFanOutMaxConcurrency', defaults.fanOutMaxConcurrency);
  const deliveryMaxConcurrency = maxConcurrency(
    'webhookDeliveryMaxConcurrency',
    defaults.deliveryMaxConcurrency,
  );
  return {
    recorderMaxConcurrency: maxConcurrency('recorderMaxConcurrency', defaults.recorderMaxConcurrency),
    fanOutMaxConcurrency,
    fanOutReservedConcurrency: reserved(
      'webhookFanOutReservedConcurrency',
      2 * fanOutMaxConcurrency,
      2 * fanOutMaxConcurrency,
    ),
    deliveryMaxConcurrency,
    deliveryReservedConcurrency: reserved(
      'webhookDeliveryReservedConcurrency',
      2 * deliveryMaxConcurrency,
      2 * deliveryMaxConcurrency,
    ),
  };
}

/**
 * `firewallRateWindowSeconds`: the window over which the API's web ACL counts each address's
 * requests (cdk.json: 60). AWS WAF takes 60, 120, 300 or 600 only; the limit scales with it, so the
 * average rate allowed stays the same (docs/infra.md, "The web ACL").
 */
export function firewallRateWindowOf(app: App): FirewallRateWindow {
  const raw: unknown = app.node.tryGetContext('firewallRateWindowSeconds') ?? DEFAULT_FIREWALL_RATE_WINDOW;
  const value = typeof raw === 'string' ? Number(raw) : raw;
  const window = FIREWALL_RATE_WINDOWS.find((allowed) => allowed === value);
  if (window === undefined) {
    throw new Error(
      `context firewallRateWindowSeconds must be one of ${FIREWALL_RATE_WINDOWS.join(', ')}, got ${JSON.stringify(raw)}`,
    );
  }
  return window;
}

/** What the dashboard stack takes from context (docs/infra.md, "The dashboard stack"). */
export interface DashboardOptions {
  /** `dashboardAssets`: a directory already built (`npm run dashboard:build <dir>`); else built at synthesis. */
  readonly prebuiltAssets?: string;
  /** `dashboardDomainName` and `dashboardCertificateArn` (ACM, us-east-1), both or neither. */
  readonly domain?: DashboardDomain;
  /** `dashboardWebAclArn`: a web ACL of scope CLOUDFRONT (us-east-1). */
  readonly webAclArn?: string;
}

export function dashboardOptionsOf(app: App): DashboardOptions {
  const text = (name: string): string | undefined => {
    const raw: unknown = app.node.tryGetContext(name);
    if (raw === undefined || raw === '') return undefined;
    if (typeof raw !== 'string')
      throw new Error(`context ${name} must be a string, got ${JSON.stringify(raw)}`);
    return raw;
  };
  const prebuiltAssets = text('dashboardAssets');
  const domainName = text('dashboardDomainName');
  const certificateArn = text('dashboardCertificateArn');
  const webAclArn = text('dashboardWebAclArn');
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    throw new Error(
      'context dashboardDomainName and dashboardCertificateArn go together: give both or neither',
    );
  }
  // CloudFront takes certificates and web ACLs from us-east-1 only, whatever region the stack is in.
  if (
    certificateArn !== undefined &&
    !/^arn:aws[\w-]*:acm:us-east-1:\d{12}:certificate\/[\w-]+$/.test(certificateArn)
  ) {
    throw new Error(
      `context dashboardCertificateArn must be an ACM certificate in us-east-1, got ${certificateArn}`,
    );
  }
  if (
    webAclArn !== undefined &&
    !/^arn:aws[\w-]*:wafv2:us-east-1:\d{12}:global\/webacl\/[\w-]+\/[\w-]+$/.test(webAclArn)
  ) {
    throw new Error(
      `context dashboardWebAclArn must be a CLOUDFRONT-scope web ACL (us-east-1, global/webacl), got ${webAclArn}`,
    );
  }
  return {
    ...(prebuiltAssets !== undefined ? { prebuiltAssets } : {}),
    ...(domainName !== undefined && certificateArn !== undefined
      ? { domain: { domainName, certificateArn } }
      : {}),
    ...(webAclArn !== undefined ? { webAclArn } : {}),
  };
}

export interface Platform {
  readonly stateful: StatefulStack;
  readonly api: ApiStack;
  readonly runner: RunnerStack;
  readonly consumers: ConsumersStack;
  readonly dashboard: DashboardStack;
}

/**
 * Synthesis fails on any Lambda function that sets a setting meant for local development and tests
 * (`http:` webhooks to loopback, a shrunk retry schedule: `LOCAL_ONLY_WEBHOOK_SETTINGS`), and on any
 * ECS task definition that sets one of the runner's (the QR drawn on stdout:
 * `LOCAL_ONLY_RUNNER_SETTINGS`), whatever construct added it. The dispatcher also refuses its own at
 * cold start inside Lambda, the runner its own inside an ECS task (shared/config.ts).
 */
export class LocalOnlySettingsGuard implements IAspect {
  visit(node: IConstruct): void {
    if (node instanceof CfnFunction) {
      const environment = Stack.of(node).resolve(node.environment) as
        | { variables?: Record<string, unknown> }
        | undefined;
      refuse(node, LOCAL_ONLY_WEBHOOK_SETTINGS, Object.keys(environment?.variables ?? {}));
    } else if (node instanceof CfnTaskDefinition) {
      const containers = (Stack.of(node).resolve(node.containerDefinitions) ?? []) as {
        environment?: { name?: unknown }[];
      }[];
      const names = containers.flatMap((container) => (container.environment ?? []).map(({ name }) => name));
      refuse(node, LOCAL_ONLY_RUNNER_SETTINGS, names);
    }
  }
}

function refuse(node: IConstruct, localOnly: readonly string[], variables: readonly unknown[]): void {
  const key = localOnly.find((setting) => variables.includes(setting));
  if (key) throw new Error(`${node.node.path} sets ${key}, which is for local development and tests only`);
}

export interface PlatformOptions {
  /** cdk-nag's AwsSolutions checks on synthesis; off only where the stack is already checked. */
  readonly checks?: boolean;
}

/** Where the stacks deploy: the CLI's account and region (unset in tests: environment-agnostic). */
function deploymentEnvironment() {
  return { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
}

/**
 * The stateful stack alone: what the local platform provisions. Its resources are the same with or
 * without the other stacks (their grants live in their own stacks' policies); only the exports CDK
 * adds for their references are missing.
 */
export function defineStatefulStack(app: App): StatefulStack {
  return new StatefulStack(app, STATEFUL_STACK_NAME, {
    env: deploymentEnvironment(),
    description:
      'clinic-wa stateful resources: tables, session and webhook-secrets keys, queues, event bus, media',
    shardCount: shardCountOf(app),
  });
}

/**
 * The API's functions carry every shard's queue URL in their environment, which Lambda caps at 4 KB
 * (docs/infra.md, "Shard count"): past this many shards a deploy would fail, so synthesis does first.
 */
export const MAX_SHARDS_WITH_API = 18;

export function definePlatform(app: App, options: PlatformOptions = {}): Platform {
  const env = deploymentEnvironment();
  const shardCount = shardCountOf(app);
  if (shardCount > MAX_SHARDS_WITH_API) {
    throw new Error(
      `context shardCount ${shardCount} is more than the API's functions can carry (${MAX_SHARDS_WITH_API}): their environment lists every shard's queue URL and Lambda caps it at 4 KB`,
    );
  }
  const stateful = defineStatefulStack(app);
  const api = new ApiStack(app, API_STACK_NAME, {
    env,
    description: 'clinic-wa API: the REST API, its functions and the admin key',
    stateful,
    authorizerReservedConcurrency: authorizerReservedConcurrencyOf(app),
    firewallRateWindowSeconds: firewallRateWindowOf(app),
  });
  const runner = new RunnerStack(app, RUNNER_STACK_NAME, {
    env,
    description: 'clinic-wa runner: the Fargate service holding the WhatsApp sessions',
    stateful,
    scaling: runnerScalingOf(app, stateful.commandQueues.shardCount),
  });
  const consumers = new ConsumersStack(app, CONSUMERS_STACK_NAME, {
    env,
    description: 'clinic-wa event consumers: the event recorder and the webhook dispatcher',
    stateful,
    concurrency: consumerConcurrencyOf(app),
  });
  const dashboardOptions = dashboardOptionsOf(app);
  const dashboard = new DashboardStack(app, DASHBOARD_STACK_NAME, {
    env,
    description:
      'clinic-wa operator dashboard: its files in a private bucket, served with the API by CloudFront',
    api,
    assets: dashboardAssets(dashboardOptions.prebuiltAssets),
    mediaOrigin: `https://${stateful.media.bucket.bucketRegionalDomainName}`,
    ...(dashboardOptions.domain ? { domain: dashboardOptions.domain } : {}),
    ...(dashboardOptions.webAclArn ? { webAclArn: dashboardOptions.webAclArn } : {}),
  });
  Aspects.of(app).add(new LocalOnlySettingsGuard());
  // Synthesis fails on any unacknowledged finding; acknowledgements sit on the resource they excuse.
  if (options.checks ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { stateful, api, runner, consumers, dashboard };
}
