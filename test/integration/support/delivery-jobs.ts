// The jobs of one tenant on the webhook deliveries' queue, which every test shares: a tenant's jobs
// are taken off the queue (deleted), anyone else's are only hidden for a few seconds, so a reader
// goes past them to the next ones and their own reader still finds them.
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type DeliveryJobMessage, parseDeliveryJobMessage } from '#shared/aws/sqs-delivery-queue.ts';

/** How long another test's job stays hidden once seen. */
const FOREIGN_HIDDEN_SECONDS = 3;

/** Receives until `count` of the tenant's jobs came (deleting them), or until the deadline. */
export async function takeJobsOf(
  sqs: SQSClient,
  queueUrl: string,
  tenantId: string,
  count: number,
  deadlineMs = 15_000,
): Promise<DeliveryJobMessage[]> {
  const taken: DeliveryJobMessage[] = [];
  const deadline = Date.now() + deadlineMs;
  while (taken.length < count && Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: FOREIGN_HIDDEN_SECONDS,
      }),
    );
    for (const message of Messages) {
      const job = parseDeliveryJobMessage(message.Body ?? '');
      if (job.tenantId !== tenantId) continue;
      taken.push(job);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  return taken;
}
