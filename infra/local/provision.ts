// Creates the resources of a synthesized CloudFormation template in an emulator through the SDK,
// in dependency order and in parallel where independent, and resolves the stack's
// `RuntimeEnvironment` output. No CloudFormation engine is involved: moto's is slow and lossy, and
// this keeps the local resources exactly what the template says, property by property.
import { DescribeEventBusCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  parseRuntimeEnvironment,
  RUNTIME_ENVIRONMENT_OUTPUT,
  type RuntimeEnvironment,
} from '../runtime-environment.ts';
import { type EmulatorTarget, emulatorClients } from './aws-clients.ts';
import { cloudWatchAlarm } from './provisioning/cloudwatch-alarm.ts';
import { dynamoDbTable } from './provisioning/dynamodb-table.ts';
import { eventBus, eventRule } from './provisioning/event-bridge.ts';
import { kmsAlias, kmsKey } from './provisioning/kms.ts';
import type { ProvisioningContext, ResourceHandler } from './provisioning/resource-handler.ts';
import { s3Bucket } from './provisioning/s3-bucket.ts';
import { sqsQueue } from './provisioning/sqs-queue.ts';
import {
  type ResolutionScope,
  type ResolvedResource,
  referencedIds,
  resolveString,
  resolveValue,
} from './provisioning/template-values.ts';
import type { CloudFormationResource, CloudFormationTemplate } from './synthesize.ts';

const HANDLERS: Readonly<Record<string, ResourceHandler>> = {
  'AWS::DynamoDB::Table': dynamoDbTable,
  'AWS::SQS::Queue': sqsQueue,
  'AWS::Events::EventBus': eventBus,
  'AWS::Events::Rule': eventRule,
  'AWS::KMS::Key': kmsKey,
  'AWS::KMS::Alias': kmsAlias,
  'AWS::S3::Bucket': s3Bucket,
  'AWS::CloudWatch::Alarm': cloudWatchAlarm,
};

/** Types with no local meaning: access policies (emulators do not enforce them) and CDK's metadata. */
const SKIPPED_TYPES: ReadonlySet<string> = new Set([
  'AWS::CDK::Metadata',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::SQS::QueuePolicy',
  'AWS::S3::BucketPolicy',
]);

/** moto answers ~200 requests/s on two cores; more in flight only queues up inside it. */
const DEFAULT_CONCURRENCY = 8;

export interface ProvisionOptions extends EmulatorTarget {
  /** Names resources the template leaves unnamed, as CloudFormation would with its stack name. */
  readonly stackName: string;
  readonly concurrency?: number;
}

export interface ProvisionedStackResource {
  readonly logicalId: string;
  readonly type: string;
  readonly physicalId: string;
}

export interface ProvisionedStack {
  readonly environment: RuntimeEnvironment;
  readonly resources: readonly ProvisionedStackResource[];
  readonly skipped: readonly { logicalId: string; type: string }[];
  readonly accountId: string;
}

export async function provisionFromTemplate(
  template: CloudFormationTemplate,
  options: ProvisionOptions,
): Promise<RuntimeEnvironment> {
  return (await provisionStack(template, options)).environment;
}

export async function provisionStack(
  template: CloudFormationTemplate,
  options: ProvisionOptions,
): Promise<ProvisionedStack> {
  const plan = planResources(template);
  const clients = emulatorClients(options);
  try {
    const accountId = await discoverAccountId(clients.eventBridge);
    const context: ProvisioningContext = {
      clients,
      region: options.region,
      accountId,
      stackName: options.stackName,
    };
    const resolved = new Map<string, ResolvedResource>();
    const scope: ResolutionScope = {
      pseudoParameters: {
        'AWS::AccountId': accountId,
        'AWS::Region': options.region,
        'AWS::Partition': 'aws',
        'AWS::URLSuffix': 'amazonaws.com',
        'AWS::StackName': options.stackName,
        'AWS::StackId': `arn:aws:cloudformation:${options.region}:${accountId}:stack/${options.stackName}/local`,
      },
      parameters: Object.fromEntries(
        Object.entries(template.Parameters ?? {}).flatMap(([name, parameter]) =>
          parameter.Default === undefined ? [] : [[name, String(parameter.Default)]],
        ),
      ),
      resources: resolved,
    };
    const provisioned: ProvisionedStackResource[] = [];
    await runInDependencyOrder(plan.steps, options.concurrency ?? DEFAULT_CONCURRENCY, async (step) => {
      const properties = (resolveValue(step.resource.Properties ?? {}, scope) ?? {}) as Record<
        string,
        unknown
      >;
      const result = await step.handler.create({ logicalId: step.logicalId, properties, context });
      resolved.set(step.logicalId, result);
      provisioned.push({
        logicalId: step.logicalId,
        type: step.resource.Type,
        physicalId: result.physicalId,
      });
    });

    const output = template.Outputs?.[RUNTIME_ENVIRONMENT_OUTPUT];
    if (!output) throw new Error(`The template has no ${RUNTIME_ENVIRONMENT_OUTPUT} output`);
    const environment = parseRuntimeEnvironment(
      resolveString(output.Value, scope, RUNTIME_ENVIRONMENT_OUTPUT),
    );
    provisioned.sort((a, b) => a.logicalId.localeCompare(b.logicalId));
    return { environment, resources: provisioned, skipped: plan.skipped, accountId };
  } finally {
    clients.destroy();
  }
}

interface Step {
  readonly logicalId: string;
  readonly resource: CloudFormationResource;
  readonly handler: ResourceHandler;
  readonly dependsOn: readonly string[];
}

/** Checks the whole template before creating anything, and reports every problem at once. */
function planResources(template: CloudFormationTemplate) {
  const problems: string[] = [];
  const steps: Step[] = [];
  const skipped: { logicalId: string; type: string }[] = [];
  const entries = Object.entries(template.Resources);
  const provisionable = new Set(
    entries.filter(([, resource]) => !SKIPPED_TYPES.has(resource.Type)).map(([logicalId]) => logicalId),
  );
  for (const [logicalId, resource] of entries) {
    if (SKIPPED_TYPES.has(resource.Type)) {
      skipped.push({ logicalId, type: resource.Type });
      continue;
    }
    const handler = HANDLERS[resource.Type];
    if (!handler) {
      problems.push(`${logicalId}: resource type ${resource.Type} is not supported by the local provisioner`);
      continue;
    }
    if (resource.Condition) problems.push(`${logicalId}: conditional resources are not supported locally`);
    const unknown = Object.keys(resource.Properties ?? {}).filter(
      (name) => !handler.properties.includes(name),
    );
    if (unknown.length > 0) {
      problems.push(
        `${logicalId} (${resource.Type}): properties not supported locally: ${unknown.join(', ')}`,
      );
    }
    const explicit = resource.DependsOn === undefined ? [] : [resource.DependsOn].flat();
    const dependsOn = [...new Set([...referencedIds(resource.Properties ?? {}), ...explicit])].filter((id) =>
      provisionable.has(id),
    );
    steps.push({ logicalId, resource, handler, dependsOn });
  }
  if (problems.length > 0)
    throw new Error(`Cannot provision the template locally:\n  ${problems.join('\n  ')}`);
  assertAcyclic(steps);
  return { steps, skipped };
}

function assertAcyclic(steps: readonly Step[]): void {
  const remaining = new Map(steps.map((step) => [step.logicalId, new Set(step.dependsOn)]));
  let progressed = true;
  while (remaining.size > 0 && progressed) {
    progressed = false;
    for (const [logicalId, dependencies] of remaining) {
      if ([...dependencies].every((id) => !remaining.has(id))) {
        remaining.delete(logicalId);
        progressed = true;
      }
    }
  }
  if (remaining.size > 0) throw new Error(`Circular dependency between ${[...remaining.keys()].join(', ')}`);
}

/** Starts each step once its dependencies are done, with at most `concurrency` in flight. */
async function runInDependencyOrder(
  steps: readonly Step[],
  concurrency: number,
  run: (step: Step) => Promise<void>,
): Promise<void> {
  const limit = limiter(concurrency);
  const done = new Map<string, Promise<void>>();
  const start = (step: Step): Promise<void> => {
    let promise = done.get(step.logicalId);
    if (!promise) {
      const dependencies = step.dependsOn.map((id) => {
        const dependency = steps.find((candidate) => candidate.logicalId === id);
        return dependency ? start(dependency) : Promise.resolve();
      });
      promise = Promise.all(dependencies).then(() =>
        limit(() =>
          run(step).catch((error: unknown) => {
            throw new Error(
              `${step.logicalId} (${step.resource.Type}): ${(error as Error).message ?? error}`,
              {
                cause: error,
              },
            );
          }),
        ),
      );
      done.set(step.logicalId, promise);
    }
    return promise;
  };
  const results = await Promise.allSettled(steps.map(start));
  // A failed resource also fails its dependents with the same error: report each cause once.
  const failures = [
    ...new Set(results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []))),
  ];
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    throw new AggregateError(
      failures,
      `Provisioning failed:\n  ${failures.map((e) => (e as Error).message).join('\n  ')}`,
    );
  }
}

function limiter(concurrency: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot straight to the next waiter, so the limit is never exceeded.
    if (active >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/** The emulator's account (moto: 123456789012, LocalStack: 000000000000), from its default bus. */
async function discoverAccountId(eventBridge: EventBridgeClient) {
  const { Arn } = await eventBridge.send(new DescribeEventBusCommand({}));
  const accountId = Arn?.split(':')[4];
  if (!accountId) throw new Error(`Cannot tell the emulator's account from the default bus ARN ${Arn}`);
  return accountId;
}
