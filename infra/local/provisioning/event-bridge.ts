import {
  CreateEventBusCommand,
  DescribeEventBusCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type Target,
} from '@aws-sdk/client-eventbridge';
import { NAME_RULES, physicalName } from './physical-names.ts';
import { isAwsError, optionalString, type ResourceHandler } from './resource-handler.ts';

export const eventBus: ResourceHandler = {
  properties: ['Name', 'Description', 'Tags'],
  async create({ logicalId, properties, context }) {
    const { eventBridge } = context.clients;
    const name =
      optionalString(properties, 'Name') ?? physicalName(context.stackName, logicalId, NAME_RULES.eventBus);
    let arn: string | undefined;
    try {
      const created = await eventBridge.send(
        new CreateEventBusCommand({ Name: name, Description: optionalString(properties, 'Description') }),
      );
      arn = created.EventBusArn;
    } catch (error) {
      if (!isAwsError(error, 'ResourceAlreadyExistsException')) throw error;
      arn = (await eventBridge.send(new DescribeEventBusCommand({ Name: name }))).Arn;
    }
    return {
      physicalId: name,
      ref: name,
      attributes: {
        Name: name,
        Arn: arn ?? `arn:aws:events:${context.region}:${context.accountId}:event-bus/${name}`,
      },
    };
  },
};

/** The target fields our rules use; the template and the API spell them alike. */
const TARGET_FIELDS = new Set([
  'Id',
  'Arn',
  'DeadLetterConfig',
  'RetryPolicy',
  'SqsParameters',
  'Input',
  'InputPath',
  'InputTransformer',
]);

export const eventRule: ResourceHandler = {
  properties: [
    'Name',
    'EventBusName',
    'EventPattern',
    'ScheduleExpression',
    'State',
    'Description',
    'Targets',
  ],
  async create({ logicalId, properties, context }) {
    const { eventBridge } = context.clients;
    const name =
      optionalString(properties, 'Name') ?? physicalName(context.stackName, logicalId, NAME_RULES.rule);
    const busName = optionalString(properties, 'EventBusName');
    const pattern = properties.EventPattern;
    // PutRule and PutTargets are upserts: re-runs need no special case.
    const { RuleArn } = await eventBridge.send(
      new PutRuleCommand({
        Name: name,
        EventBusName: busName,
        EventPattern:
          pattern === undefined ? undefined : typeof pattern === 'string' ? pattern : JSON.stringify(pattern),
        ScheduleExpression: optionalString(properties, 'ScheduleExpression'),
        State: (optionalString(properties, 'State') as 'ENABLED' | undefined) ?? 'ENABLED',
        Description: optionalString(properties, 'Description'),
      }),
    );
    const targets = (properties.Targets as Record<string, unknown>[] | undefined) ?? [];
    for (const target of targets) {
      const unknown = Object.keys(target).filter((field) => !TARGET_FIELDS.has(field));
      if (unknown.length > 0)
        throw new Error(`${logicalId}: target fields not supported locally: ${unknown.join(', ')}`);
    }
    if (targets.length > 0) {
      const result = await eventBridge.send(
        new PutTargetsCommand({ Rule: name, EventBusName: busName, Targets: targets as unknown as Target[] }),
      );
      if (result.FailedEntryCount) {
        throw new Error(`${logicalId}: PutTargets failed: ${JSON.stringify(result.FailedEntries)}`);
      }
    }
    return {
      physicalId: name,
      // CloudFormation's Ref of a rule on a custom bus is "bus|rule".
      ref: busName && busName !== 'default' ? `${busName}|${name}` : name,
      attributes: { Arn: RuleArn ?? `arn:aws:events:${context.region}:${context.accountId}:rule/${name}` },
    };
  },
};
