import { DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Coalescer } from '../batching/coalescer.ts';

/** DeleteMessageBatch takes at most 10 entries (AWS's limit). */
const MAX_BATCH = 10;

/**
 * Deletes handled messages ten at a time, or after a short linger, so a busy queue costs one delete
 * call per ten messages instead of one per message.
 */
export class DeleteBatcher {
  private readonly deletes: Coalescer<string>;

  constructor(client: SQSClient, queueUrl: string, lingerMs = 20) {
    this.deletes = new Coalescer({
      maxItems: MAX_BATCH,
      lingerMs,
      process: async (handles) => {
        const result = await client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: handles.map((handle, i) => ({ Id: String(i), ReceiptHandle: handle })),
          }),
        );
        const failed = new Map((result.Failed ?? []).map((failure) => [failure.Id, failure]));
        return handles.map((_, i) => {
          const failure = failed.get(String(i));
          return failure ? new Error(`Delete failed: ${failure.Code} ${failure.Message ?? ''}`) : undefined;
        });
      },
    });
  }

  /** Resolves once the message is deleted. */
  delete(receiptHandle: string): Promise<void> {
    return this.deletes.submit(receiptHandle);
  }

  flush(): Promise<void> {
    return this.deletes.flush();
  }
}
