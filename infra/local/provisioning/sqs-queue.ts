import {
  CreateQueueCommand,
  GetQueueUrlCommand,
  type QueueAttributeName,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { NAME_RULES, physicalName } from './physical-names.ts';
import { isAwsError, optionalString, type ResourceHandler } from './resource-handler.ts';

/** Template properties that are queue attributes of the same name. */
const ATTRIBUTES = [
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'VisibilityTimeout',
  'MessageRetentionPeriod',
  'DelaySeconds',
  'MaximumMessageSize',
  'ReceiveMessageWaitTimeSeconds',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'SqsManagedSseEnabled',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
] as const;

export const sqsQueue: ResourceHandler = {
  properties: ['QueueName', 'Tags', ...ATTRIBUTES],
  async create({ logicalId, properties, context }) {
    const fifo = properties.FifoQueue === true || properties.FifoQueue === 'true';
    const queueName =
      optionalString(properties, 'QueueName') ??
      physicalName(context.stackName, logicalId, {
        ...NAME_RULES.queue,
        ...(fifo ? { suffix: '.fifo' } : {}),
      });
    const attributes: Partial<Record<QueueAttributeName, string>> = {};
    for (const name of ATTRIBUTES) {
      const value = properties[name];
      if (value === undefined) continue;
      attributes[name] = typeof value === 'object' ? JSON.stringify(value) : String(value);
    }
    const { sqs } = context.clients;
    let QueueUrl: string | undefined;
    try {
      // Idempotent for equal attributes, so a re-run on a persistent emulator finds its queue.
      ({ QueueUrl } = await sqs.send(
        new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }),
      ));
    } catch (error) {
      // The emulator kept the queue (and its messages) from a run whose template said otherwise:
      // keep it, with this template's attributes. A FIFO queue cannot become standard, nor back.
      if (!isAwsError(error, 'QueueNameExists', 'QueueAlreadyExists')) throw error;
      ({ QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName })));
      const { FifoQueue: _immutable, ...changeable } = attributes;
      await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: changeable }));
    }
    if (!QueueUrl) throw new Error(`CreateQueue ${queueName} returned no URL`);
    return {
      physicalId: queueName,
      ref: QueueUrl,
      attributes: {
        Arn: `arn:aws:sqs:${context.region}:${context.accountId}:${queueName}`,
        QueueName: queueName,
        QueueUrl,
      },
    };
  },
};
