// Builds the platform's stacks into an App. Shared by the CDK entry point (`infra/app.ts`), the
// local synthesizer and the tests, so all three see the same stacks, context and cdk-nag checks.
import { readFileSync } from 'node:fs';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_SHARD_COUNT, StatefulStack } from './stateful-stack.ts';

export const STATEFUL_STACK_NAME = 'ClinicWa-Stateful';

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

/** The context arrives as a string from `cdk -c shardCount=4`, as a number from cdk.json. */
export function shardCountOf(app: App): number {
  const raw: unknown = app.node.tryGetContext('shardCount') ?? DEFAULT_SHARD_COUNT;
  const shardCount = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof shardCount !== 'number' || !Number.isInteger(shardCount) || shardCount < 1) {
    throw new Error(`context shardCount must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return shardCount;
}

export interface Platform {
  readonly stateful: StatefulStack;
}

export interface PlatformOptions {
  /** cdk-nag's AwsSolutions checks on synthesis; off only where the stack is already checked. */
  readonly checks?: boolean;
}

export function definePlatform(app: App, options: PlatformOptions = {}): Platform {
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const stateful = new StatefulStack(app, STATEFUL_STACK_NAME, {
    env,
    description: 'clinic-wa stateful resources: tables, session key, queues, event bus, media',
    shardCount: shardCountOf(app),
  });
  // Synthesis fails on any unacknowledged finding; acknowledgements sit on the resource they excuse.
  if (options.checks ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { stateful };
}
