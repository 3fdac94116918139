import { BatchProcessor, EventType } from '@aws-lambda-powertools/batch';
import type { FailureResponse, SuccessResponse } from '@aws-lambda-powertools/batch/types';
import type { SQSRecord } from 'aws-lambda';

/** A record that was not tried because one before it in its group failed (its order is kept). */
export class GroupShortCircuitError extends Error {
  constructor(group: string) {
    super(`Not processed: an earlier record of group ${group} failed`);
    this.name = 'GroupShortCircuitError';
  }
}

/**
 * Powertools' batch processing for SQS, one group at a time per group and every group at once: the
 * records of a group are handled in the order given, one after another, and once one fails the
 * rest of its group are failed untried (so a redelivery keeps their order); other groups go on.
 * Powertools' own FIFO processor handles a whole batch one record at a time, so a slow receiver
 * (15 s a try) would hold every other group of the batch behind it.
 */
export class GroupedBatchProcessor extends BatchProcessor {
  /** A group's records are handled in the order the batch has them. */
  constructor(private readonly groupOf: (record: SQSRecord) => string) {
    super(EventType.SQS);
  }

  override async process(): Promise<(SuccessResponse | FailureResponse)[]> {
    this.prepare();
    const groups = new Map<string, SQSRecord[]>();
    for (const record of this.records as SQSRecord[]) {
      const group = this.groupOf(record);
      groups.set(group, [...(groups.get(group) ?? []), record]);
    }
    const results = new Map<SQSRecord, SuccessResponse | FailureResponse>();
    await Promise.all(
      [...groups].map(async ([group, records]) => {
        let failed = false;
        for (const record of records) {
          const result: SuccessResponse | FailureResponse = failed
            ? this.failureHandler(record, new GroupShortCircuitError(group))
            : await this.processRecord(record);
          failed ||= result[0] === 'fail';
          results.set(record, result);
        }
      }),
    );
    this.clean();
    return (this.records as SQSRecord[]).map(
      (record) => results.get(record) as SuccessResponse | FailureResponse,
    );
  }
}
