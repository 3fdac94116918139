import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import {
  CHANNEL_STATUSES,
  type ChannelCounts,
  type ChannelStatus,
  type ChannelSummary,
  tallyChannels,
} from '../../domain/channel.ts';
import type { Page, PageRequest } from '../../domain/pagination.ts';
import { pageSize } from '../../domain/pagination.ts';
import type { ChannelDirectory, ChannelDirectoryFilter } from '../../ports.ts';
import { decodeCursor, encodeCursor, invalidCursor } from './cursor.ts';
import { GSI1, SK_PREFIX, shardPartition, tenantPartition } from './platform-keys.ts';
import { type Item, queryPage } from './query-page.ts';

// The operator's view of channels across tenants, read from the platform table without a scan:
// one tenant's are its partition (a key range), everybody's are the shards' lists on the `gsi1`
// index (one partition per shard, what a runner reads for its shard). Every read names the
// attributes it wants and only a channel's public ones: the role that reads may read nothing else
// of any item (infra: `SecureTable.bindProjectedQuery`), so no message, webhook secret or pairing
// code, whatever key it names.

/** Every attribute these reads ask for, keys included: what the role may read, and no more. */
export const CHANNEL_DIRECTORY_ATTRIBUTES = [
  'pk',
  'sk',
  'gsi1pk',
  'gsi1sk',
  'id',
  'tenantId',
  'shard',
  'name',
  'status',
  'statusReason',
  'phoneNumber',
  'lid',
  'lastSeenAt',
  'createdAt',
  'updatedAt',
  'deletedAt',
] as const;

/** What a page may read before it hands out a short page and a cursor (as `queryPage`). */
const MAX_READS_PER_PAGE = 10;

/**
 * How many channels one count reads at most. Past it the answer says `complete: false`: a count
 * must stay within one Lambda invocation (10 s) and a bounded read cost (about 1 KB a channel).
 */
export const DEFAULT_COUNT_LIMIT = 50_000;

const NAMES = { '#name': 'name', '#status': 'status', '#shard': 'shard' };
const SUMMARY_PROJECTION =
  'pk, sk, gsi1pk, gsi1sk, id, tenantId, #shard, #name, #status, statusReason, phoneNumber, lid, lastSeenAt, createdAt, updatedAt';
const TABLE_KEY = ['pk', 'sk'] as const;
const INDEX_KEY = ['pk', 'sk', 'gsi1pk', 'gsi1sk'] as const;

/** A cursor of the list across tenants: the shard being read, and where in it (absent: its start). */
const shardCursor = z
  .object({ shard: z.number().int().min(0), after: z.string().min(1).optional() })
  .strict();

export class DynamoChannelDirectory implements ChannelDirectory {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly shardCount: number,
    private readonly options: { readonly countLimit?: number } = {},
  ) {}

  list(request: PageRequest & ChannelDirectoryFilter): Promise<Page<ChannelSummary>> {
    return request.tenantId === undefined ? this.listAcrossShards(request) : this.listOfTenant(request);
  }

  async count(filter: Pick<ChannelDirectoryFilter, 'tenantId'>): Promise<ChannelCounts> {
    const limit = this.options.countLimit ?? DEFAULT_COUNT_LIMIT;
    const walks =
      filter.tenantId === undefined
        ? Array.from({ length: this.shardCount }, (_, shard) =>
            // An equal share each, read in parallel: an incomplete count then covers every shard alike.
            this.countQuery(this.shardQuery(shard), Math.ceil(limit / this.shardCount)),
          )
        : [this.countQuery(this.tenantQuery(filter.tenantId), limit)];
    const results = await Promise.all(walks);
    const channels = results.flatMap((result) => result.channels);
    return {
      counts: tallyChannels(channels),
      counted: channels.length,
      complete: results.every((result) => result.complete),
    };
  }

  private listOfTenant(request: PageRequest & ChannelDirectoryFilter): Promise<Page<ChannelSummary>> {
    const pk = tenantPartition(request.tenantId as string);
    return queryPage(
      this.client,
      { ...this.tenantQuery(request.tenantId as string, request.status), ...summaryProjection },
      request,
      { pk },
      TABLE_KEY,
      toSummary,
      SK_PREFIX.channel,
    );
  }

  /**
   * Shard by shard, each in its list's order (channel ids: creation). A page may span shards; one
   * that ends on a shard's last channel leaves a cursor there, and the next finds the rest empty and
   * goes on. Like `queryPage`, a page reads at most `MAX_READS_PER_PAGE` times, so empty shards or a
   * rare status give a short page (even an empty one) with a cursor rather than a long request.
   */
  private async listAcrossShards(
    request: PageRequest & ChannelDirectoryFilter,
  ): Promise<Page<ChannelSummary>> {
    const limit = pageSize(request);
    let { shard, startKey } = request.cursor
      ? this.decodeShardCursor(request.cursor)
      : { shard: 0, startKey: undefined as Record<string, string> | undefined };
    const items: Item[] = [];
    for (
      let reads = 0;
      reads < MAX_READS_PER_PAGE && shard < this.shardCount && items.length <= limit;
      reads++
    ) {
      const result = await this.client.send(
        new QueryCommand({
          ...this.shardQuery(shard, request.status),
          ...summaryProjection,
          Limit: limit + 1,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      items.push(...((result.Items ?? []) as Item[]));
      if (result.LastEvaluatedKey) startKey = result.LastEvaluatedKey as Record<string, string>;
      else {
        shard += 1;
        startKey = undefined;
      }
    }
    const pageItems = items.slice(0, limit);
    const last = pageItems.at(-1);
    const nextCursor =
      items.length > limit && last
        ? encodeShardCursor(shardOf(last), keyOf(last, INDEX_KEY))
        : shard < this.shardCount
          ? encodeShardCursor(shard, startKey)
          : null;
    return { items: pageItems.map(toSummary), nextCursor };
  }

  private decodeShardCursor(cursor: string): { shard: number; startKey: Record<string, string> | undefined } {
    let parsed: z.output<typeof shardCursor>;
    try {
      parsed = shardCursor.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    } catch {
      throw invalidCursor();
    }
    if (parsed.shard >= this.shardCount) throw invalidCursor();
    const startKey =
      parsed.after === undefined
        ? undefined
        : decodeCursor(parsed.after, {
            partition: { gsi1pk: shardPartition(parsed.shard) },
            keyAttributes: INDEX_KEY,
            sortKeyPrefix: SK_PREFIX.channel,
          });
    return { shard: parsed.shard, startKey };
  }

  private tenantQuery(tenantId: string, status?: ChannelStatus): QueryCommandInput {
    return {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ...liveChannels(status),
      ExpressionAttributeValues: {
        ':pk': tenantPartition(tenantId),
        ':prefix': SK_PREFIX.channel,
        ...(status ? { ':status': status } : {}),
      },
    };
  }

  private shardQuery(shard: number, status?: ChannelStatus): QueryCommandInput {
    return {
      TableName: this.tableName,
      IndexName: GSI1,
      KeyConditionExpression: 'gsi1pk = :partition',
      ...liveChannels(status),
      ExpressionAttributeValues: {
        ':partition': shardPartition(shard),
        ...(status ? { ':status': status } : {}),
      },
    };
  }

  /** Reads the query's channels (tenant and status only) until its end or `budget` items read. */
  private async countQuery(
    query: QueryCommandInput,
    budget: number,
  ): Promise<{ channels: { tenantId: string; status: ChannelStatus }[]; complete: boolean }> {
    const channels: { tenantId: string; status: ChannelStatus }[] = [];
    let read = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          ...query,
          Select: 'SPECIFIC_ATTRIBUTES',
          ProjectionExpression: 'tenantId, #status',
          ExpressionAttributeNames: { '#status': 'status' },
          Limit: Math.max(1, budget - read),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      read += page.ScannedCount ?? 0;
      for (const item of (page.Items ?? []) as Item[]) {
        const status = item.status as ChannelStatus;
        if (typeof item.tenantId === 'string' && CHANNEL_STATUSES.includes(status)) {
          channels.push({ tenantId: item.tenantId, status });
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && read < budget);
    return { channels, complete: startKey === undefined };
  }
}

const summaryProjection = {
  Select: 'SPECIFIC_ATTRIBUTES',
  ProjectionExpression: SUMMARY_PROJECTION,
  ExpressionAttributeNames: NAMES,
} as const;

/** Deleted channels stay in the table (hidden) and in their shard's list until their session is erased. */
function liveChannels(status?: ChannelStatus) {
  return {
    FilterExpression: status
      ? 'attribute_not_exists(deletedAt) AND #status = :status'
      : 'attribute_not_exists(deletedAt)',
    ...(status ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
  };
}

function encodeShardCursor(shard: number, key: Record<string, string> | undefined): string {
  const after = key ? encodeCursor(key) : undefined;
  return Buffer.from(JSON.stringify(after ? { shard, after } : { shard })).toString('base64url');
}

function shardOf(item: Item): number {
  return Number(String(item.gsi1pk).split('#').at(-1));
}

function keyOf(item: Item, attributes: readonly string[]): Record<string, string> {
  return Object.fromEntries(attributes.map((name) => [name, String(item[name])]));
}

function toSummary(item: Item): ChannelSummary {
  return {
    id: item.id as string,
    tenantId: item.tenantId as string,
    name: item.name as string,
    status: item.status as ChannelStatus,
    statusReason: (item.statusReason as string | null | undefined) ?? null,
    shard: item.shard as number,
    phoneNumber: (item.phoneNumber as string | null | undefined) ?? null,
    lid: (item.lid as string | null | undefined) ?? null,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
    lastSeenAt: (item.lastSeenAt as string | null | undefined) ?? null,
  };
}
