import { DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** DeleteMessageBatch takes at most 10 entries (AWS's limit). */
const MAX_BATCH = 10;

/**
 * Collects the receipt handles of handled messages and deletes them ten at a time, or after a short
 * linger, so a busy queue costs one delete call per ten messages instead of one per message.
 */
export class DeleteBatcher {
  private pending: { handle: string; done: (error?: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly lingerMs = 20,
  ) {}

  /** Resolves once the message is deleted. */
  delete(receiptHandle: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ handle: receiptHandle, done: (error) => (error ? reject(error) : resolve()) });
      if (this.pending.length >= MAX_BATCH) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.lingerMs);
    });
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        const result = await this.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: batch.map((entry, i) => ({ Id: String(i), ReceiptHandle: entry.handle })),
          }),
        );
        const failed = new Map((result.Failed ?? []).map((failure) => [failure.Id, failure]));
        batch.forEach((entry, i) => {
          const failure = failed.get(String(i));
          entry.done(
            failure ? new Error(`Delete failed: ${failure.Code} ${failure.Message ?? ''}`) : undefined,
          );
        });
      } catch (error) {
        for (const entry of batch) entry.done(error);
      }
    }
  }
}
