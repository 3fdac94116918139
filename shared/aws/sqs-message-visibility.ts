import { ChangeMessageVisibilityBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { MessageVisibility, ReceivedMessageRef } from '../ports.ts';

/** ChangeMessageVisibilityBatch takes ten entries a call. */
const MAX_ENTRIES = 10;

/** The queue name an SQS ARN (`arn:aws:sqs:<region>:<account>:<name>`) or URL (`…/<account>/<name>`) ends with. */
function queueNameOf(arnOrUrl: string): string {
  return arnOrUrl.split(/[:/]/).filter(Boolean).at(-1) ?? '';
}

/**
 * Sets the visibility of messages a consumer holds, on the queues it was given: a Lambda record names
 * its queue by ARN, and the call wants the URL, so each ARN is matched by name to one of `queueUrls`
 * (the consumer's own queues: a record of any other queue is refused, not guessed at).
 */
export class SqsMessageVisibility implements MessageVisibility {
  private readonly urlsByName: ReadonlyMap<string, string>;

  constructor(
    private readonly client: SQSClient,
    queueUrls: readonly string[],
  ) {
    this.urlsByName = new Map(queueUrls.map((url) => [queueNameOf(url), url]));
  }

  async showAgainIn(messages: readonly ReceivedMessageRef[], seconds: number): Promise<void> {
    const byQueue = new Map<string, string[]>();
    for (const message of messages) {
      const url = this.urlsByName.get(queueNameOf(message.queueArn));
      if (!url) throw new RangeError(`Not one of this consumer's queues: ${message.queueArn}`);
      byQueue.set(url, [...(byQueue.get(url) ?? []), message.receiptHandle]);
    }
    for (const [queueUrl, handles] of byQueue) {
      for (let i = 0; i < handles.length; i += MAX_ENTRIES) {
        const result = await this.client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: handles.slice(i, i + MAX_ENTRIES).map((handle, j) => ({
              Id: String(j),
              ReceiptHandle: handle,
              VisibilityTimeout: seconds,
            })),
          }),
        );
        if (result.Failed?.length) {
          throw new Error(
            `${result.Failed.length} message(s) kept their visibility: ${result.Failed[0]?.Code}`,
          );
        }
      }
    }
  }
}
