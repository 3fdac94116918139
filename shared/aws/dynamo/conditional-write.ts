import {
  ConditionalCheckFailedException,
  DynamoDBServiceException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Item } from './query-page.ts';

/**
 * Runs a conditional write and, when its condition fails, hands the item as it was (asked for with
 * `ReturnValuesOnConditionCheckFailure: ALL_OLD`) to `onConflict`, which says what went wrong.
 */
export async function conditionally<T>(
  write: () => Promise<T>,
  onConflict: (current: Item | undefined) => Error,
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException)
      throw onConflict(error.Item ? (unmarshall(error.Item) as Item) : undefined);
    throw error;
  }
}

/** For a cancelled transaction, the codes of its items in order (`None` where an item passed). */
export function cancellationCodes(error: unknown): string[] | null {
  if (!(error instanceof TransactionCanceledException)) return null;
  return (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
}

/** For a cancelled transaction, each item's code and, where asked for, the item as it was. */
export function cancellationReasons(error: unknown): { code: string; item: Item | undefined }[] | null {
  if (!(error instanceof TransactionCanceledException)) return null;
  return (error.CancellationReasons ?? []).map((reason) => ({
    code: reason.Code ?? 'None',
    item: reason.Item ? (unmarshall(reason.Item) as Item) : undefined,
  }));
}

/**
 * Whether DynamoDB refused a write for what it holds (`ValidationException`: an item over 400 KB, a
 * key over its size, a number it cannot store; in a transaction, an item cancelled with
 * `ValidationError`). The SDK has no class for it, so its name is the one thing to go by.
 */
export function isRejectedByDynamo(error: unknown): boolean {
  if (cancellationCodes(error)?.includes('ValidationError')) return true;
  return error instanceof DynamoDBServiceException && error.name === 'ValidationException';
}
