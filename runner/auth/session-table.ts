// The DynamoDB operations the session store needs, within AWS's limits: strongly consistent
// BatchGetItem in chunks of 100 with UnprocessedKeys retried, and fenced writes: every write is a
// TransactWriteItems whose first entry is the shard lease's fence check, so a runner that lost its
// lease cannot write. A write larger than one transaction is cut into chunks, each fenced.
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { fenceCheck } from '#shared/aws/dynamo/fence-check.ts';
import { queryAll } from '#shared/aws/dynamo/query-all.ts';
import { type Fence, StaleFenceError } from '#shared/domain/fence.ts';
import { Semaphore } from '../semaphore.ts';
import { inParallel } from './in-parallel.ts';
import { chunk } from './key-layout.ts';

export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

export type StoredItem = ItemKey & Record<string, unknown>;

export type SessionWrite =
  | { readonly put: StoredItem; readonly onlyIfAbsent?: boolean }
  | { readonly delete: ItemKey };

/** AWS limits, kept even where the emulator is looser. */
const BATCH_GET_MAX_KEYS = 100;
const TRANSACTION_MAX_ITEMS = 100;
const TRANSACTION_MAX_BYTES = 3_500_000; // of AWS's 4 MB per request, leaving room for names and framing
const ITEM_OVERHEAD_BYTES = 200;

export interface SessionTableOptions {
  /** Parallel BatchGetItem calls of one read. */
  readonly readConcurrency?: number;
  /** Attempts per chunk when UnprocessedKeys remain or a transaction meets a conflict. */
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  /**
   * Transactions in flight at once, across every channel of this table (default: no limit). Set
   * 1 against moto: its TransactWriteItems deep-copies the tables and fails (HTTP 500) when
   * another request changes them meanwhile.
   */
  readonly transactionConcurrency?: number;
}

export class WriteConditionError extends Error {
  constructor(readonly key: ItemKey) {
    super(`Write condition failed on ${key.sk}`);
    this.name = 'WriteConditionError';
  }
}

const keyOf = ({ pk, sk }: ItemKey): string => `${pk}\u0000${sk}`;

export class SessionTable {
  /** The key of an item in the maps `getMany` returns. */
  static readonly keyOf = keyOf;

  private readonly readConcurrency: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly transactions: Semaphore | undefined;

  constructor(
    readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    options: SessionTableOptions = {},
  ) {
    this.readConcurrency = options.readConcurrency ?? 4;
    this.maxAttempts = options.maxAttempts ?? 6;
    this.baseDelayMs = options.baseDelayMs ?? 25;
    const { transactionConcurrency } = options;
    this.transactions = transactionConcurrency ? new Semaphore(transactionConcurrency) : undefined;
  }

  /** Strongly consistent (a runner taking over must see its predecessor's last write); absent items are absent from the map. */
  async getMany(keys: readonly ItemKey[]): Promise<Map<string, StoredItem>> {
    const unique = [...new Map(keys.map((key) => [keyOf(key), { pk: key.pk, sk: key.sk }])).values()];
    const found = new Map<string, StoredItem>();
    const chunks = chunk(unique, BATCH_GET_MAX_KEYS, Number.POSITIVE_INFINITY, () => 0);
    await inParallel(chunks, this.readConcurrency, async (keysOfChunk) => {
      let pending: Record<string, unknown>[] = keysOfChunk;
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > this.maxAttempts)
          throw new Error(`BatchGetItem left ${pending.length} keys unprocessed`);
        if (attempt > 1) await this.backoff(attempt);
        const result = await this.client.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        for (const item of result.Responses?.[this.tableName] ?? [])
          found.set(keyOf(item as StoredItem), item as StoredItem);
        pending = result.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    });
    return found;
  }

  /** Sort keys of every item in the partition (keys only). */
  async listSortKeys(pk: string): Promise<string[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ProjectionExpression: 'sk',
      ConsistentRead: true,
    });
    return items.map((item) => item.sk as string);
  }

  /**
   * Applies `writes` in as few fenced transactions as AWS allows, in order; returns how many.
   * All-or-nothing within a transaction, not across them. Throws StaleFenceError when the fence
   * is no longer current (nothing of that chunk is written).
   */
  async write(fence: Fence, writes: readonly SessionWrite[]): Promise<number> {
    const chunks = chunk(writes, TRANSACTION_MAX_ITEMS - 1, TRANSACTION_MAX_BYTES, writeSize);
    for (const writesOfChunk of chunks) await this.writeChunk(fence, writesOfChunk);
    return chunks.length;
  }

  private async writeChunk(fence: Fence, writes: readonly SessionWrite[]): Promise<void> {
    const transactItems = [
      fenceCheck(this.tableName, fence),
      ...writes.map((write) => this.toTransactItem(write)),
    ];
    for (let attempt = 1; ; attempt++) {
      try {
        const send = () => this.client.send(new TransactWriteCommand({ TransactItems: transactItems }));
        await (this.transactions ? this.transactions.run(send) : send());
        return;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        if (reasons[0]?.Code === 'ConditionalCheckFailed') throw new StaleFenceError(fence);
        const failed = reasons.findIndex((reason) => reason.Code === 'ConditionalCheckFailed');
        const write = writes[failed - 1];
        if (write) throw new WriteConditionError('put' in write ? write.put : write.delete);
        // Every write of a shard checks the same lease item, so concurrent transactions of one
        // shard can cancel each other (TransactionConflict); they are idempotent, so try again.
        const retryable = reasons.some((reason) =>
          ['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded'].includes(
            reason.Code ?? '',
          ),
        );
        if (!retryable || attempt >= this.maxAttempts) throw error;
        await this.backoff(attempt);
      }
    }
  }

  private toTransactItem(write: SessionWrite) {
    if ('delete' in write) {
      return { Delete: { TableName: this.tableName, Key: { pk: write.delete.pk, sk: write.delete.sk } } };
    }
    return {
      Put: {
        TableName: this.tableName,
        Item: write.put,
        ...(write.onlyIfAbsent ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}),
      },
    };
  }

  private backoff(attempt: number): Promise<void> {
    const ceiling = this.baseDelayMs * 2 ** (attempt - 1);
    return new Promise((resolve) => setTimeout(resolve, ceiling / 2 + Math.random() * (ceiling / 2)));
  }
}

function writeSize(write: SessionWrite): number {
  if ('delete' in write) return ITEM_OVERHEAD_BYTES + write.delete.sk.length;
  let bytes = ITEM_OVERHEAD_BYTES + write.put.pk.length + write.put.sk.length;
  for (const value of Object.values(write.put)) {
    if (value instanceof Uint8Array) bytes += value.length;
    else if (typeof value === 'string') bytes += value.length;
  }
  return bytes;
}
