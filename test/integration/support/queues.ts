// Queues of a test's own, shaped like the stack's command shards: FIFO, redriving to a FIFO
// dead-letter queue after `maxReceiveCount` receives.
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

export async function fifoQueueWithDeadLetters(
  sqs: SQSClient,
  name: string,
  options: { maxReceiveCount: number; visibilityTimeoutSeconds?: number },
): Promise<{ queueUrl: string; deadLetterQueueUrl: string }> {
  const deadLetters = await sqs.send(
    new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: 'true' } }),
  );
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetters.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${name}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        ...(options.visibilityTimeoutSeconds
          ? { VisibilityTimeout: String(options.visibilityTimeoutSeconds) }
          : {}),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: Attributes?.QueueArn,
          maxReceiveCount: options.maxReceiveCount,
        }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl as string, deadLetterQueueUrl: deadLetters.QueueUrl as string };
}
