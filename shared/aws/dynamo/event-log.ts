import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { NotFoundError, StoreRejectedError, ValidationError } from '../../domain/errors.ts';
import {
  arrivalOf,
  cursorExpiry,
  DEFAULT_SETTLE_MS,
  eventExpiry,
  isLateWrite,
  isPosition,
  isServable,
  isServedBy,
  justAfter,
  positionAt,
  visibleUpTo,
} from '../../domain/event-log.ts';
import type { PlatformEvent } from '../../domain/events.ts';
import { type Page, pageSize } from '../../domain/pagination.ts';
import type { EventLog, EventLogEntry, EventLogOutcome, EventLogRequest } from '../../ports.ts';
import { cancellationCodes, isRejectedByDynamo } from './conditional-write.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { EVENT_LOG_PREFIX, eventIdKey, eventLogKey, tenantPartition } from './platform-keys.ts';
import type { Item } from './query-page.ts';

// The event log in the platform table (shared/domain/event-log.ts has the rules). Per event, in its
// tenant's partition:
//  - `EVLOG#<position>`: the event as published (JSON), its `type` and `channelId` for filters, and
//    `expiresAt` (the tenant's retention; a pairing secret's own expiry);
//  - `EVID#<event id>`: its first position (what `after=<event id>` continues from) and who wrote
//    it; kept a week longer than the event so a cursor outlives it a little.
// Both are written by one transaction conditional on the id item not existing: an event stored
// once is not stored again by a duplicate publish or delivery.

/** The attributes the recorder writes and reads: the stack limits its role to these (docs/infra.md). */
export const EVENT_LOG_ITEM_ATTRIBUTES = {
  log: ['pk', 'sk', 'entity', 'event', 'type', 'channelId', 'expiresAt', 'firstPosition'],
  id: ['pk', 'sk', 'entity', 'position', 'writer', 'expiresAt'],
  /** What an append reads back of an id item (a duplicate's). */
  idRead: ['position', 'writer', 'expiresAt'],
} as const;

/** A filtered read stops after this many queries and hands out a cursor (as `queryPage` does). */
const MAX_READS_PER_PAGE = 10;
/** A late write is stored again until one lands in time; past this many, the delivery fails and is retried. */
const MAX_REWRITES = 5;

export interface DynamoEventLogOptions {
  /** The settle window (ms): readers trail arrivals by it, writers rewrite past half of it. */
  readonly settleMs?: number;
  /** Wall clock (ms since the epoch): positions and the readers' cut. */
  readonly now?: () => number;
  /** Monotonic clock (ms): how long a write took. */
  readonly elapsed?: () => number;
}

export class DynamoEventLog implements EventLog {
  readonly settleMs: number;
  private readonly now: () => number;
  private readonly elapsed: () => number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoEventLogOptions = {},
  ) {
    this.settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
    this.now = options.now ?? Date.now;
    this.elapsed = options.elapsed ?? (() => performance.now());
  }

  async append(entries: readonly EventLogEntry[]): Promise<EventLogOutcome[]> {
    return Promise.all(entries.map((entry) => this.appendOne(entry)));
  }

  private async appendOne(entry: EventLogEntry): Promise<EventLogOutcome> {
    const { event, retentionDays } = entry;
    // Without a delivery id, this call's own: a transaction the SDK retried after it had landed
    // finds the event written by this very call.
    const writer = entry.writer ?? randomUUID();
    const started = this.elapsed();
    const arrivalMs = this.now();
    const expiresAt = eventExpiry(event, arrivalMs, retentionDays);
    if (expiresAt === null) return 'expired';
    const position = positionAt(arrivalMs, event.id);
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...eventIdKey(event.tenantId, event.id),
                  entity: 'event_id',
                  position,
                  writer,
                  expiresAt: cursorExpiry(arrivalMs, retentionDays),
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: this.logItem(event, position, expiresAt),
                // Positions are unique; the condition keeps a put from replacing any other item.
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (cancellationCodes(error)?.[0] !== 'ConditionalCheckFailed') {
        if (isRejectedByDynamo(error)) throw new StoreRejectedError('DynamoDB', error);
        throw error;
      }
      // Stored before. By another delivery: nothing to do. By this one: an earlier attempt, whose
      // write may have landed late without being written again (it failed or died after it).
      const stored = await this.storedId(event);
      if (!stored || stored.writer !== writer) return 'duplicate';
      const firstExpiresAt = eventExpiry(event, arrivalOf(stored.position), retentionDays);
      if (firstExpiresAt === null) return 'expired';
      await this.rewrite(event, stored.position, firstExpiresAt);
      return 'rewritten';
    }
    if (!isLateWrite(this.elapsed() - started, this.settleMs)) return 'recorded';
    await this.rewrite(event, position, expiresAt);
    return 'rewritten';
  }

  /**
   * Stores the event again at a new position, until a write lands within half the settle window.
   * Every copy keeps the first one's expiry and names its position (`isServedBy`).
   */
  private async rewrite(event: PlatformEvent, firstPosition: string, expiresAt: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const started = this.elapsed();
      const position = positionAt(this.now(), event.id);
      if (expiresAt * 1000 <= arrivalOf(position)) return;
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...this.logItem(event, position, expiresAt), firstPosition },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      if (!isLateWrite(this.elapsed() - started, this.settleMs)) return;
      if (attempt >= MAX_REWRITES) throw new Error(`event log writes stay late (${attempt} rewrites)`);
    }
  }

  private logItem(event: PlatformEvent, position: string, expiresAt: number): Item {
    return {
      ...eventLogKey(event.tenantId, position),
      entity: 'event',
      event: JSON.stringify(event),
      type: event.type,
      channelId: event.channelId,
      expiresAt,
    };
  }

  /** What the id item says of a stored event: its first position and who wrote it. */
  private async storedId(event: PlatformEvent): Promise<{ position: string; writer: string | null } | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: eventIdKey(event.tenantId, event.id),
        ProjectionExpression: EVENT_LOG_ITEM_ATTRIBUTES.idRead.map((_, i) => `#a${i}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(
          EVENT_LOG_ITEM_ATTRIBUTES.idRead.map((name, i) => [`#a${i}`, name]),
        ),
        ConsistentRead: true,
      }),
    );
    const position = result.Item?.position;
    if (typeof position !== 'string' || !isPosition(position)) return null;
    return { position, writer: typeof result.Item?.writer === 'string' ? result.Item.writer : null };
  }

  async list(tenantId: string, request: EventLogRequest): Promise<Page<PlatformEvent>> {
    const limit = pageSize(request);
    const nowMs = this.now();
    const pk = tenantPartition(tenantId);
    const upTo = `${EVENT_LOG_PREFIX}${visibleUpTo(nowMs, this.settleMs)}`;
    const read = await this.startOf(tenantId, request, nowMs);
    const from = `${EVENT_LOG_PREFIX}${read.from}`;
    if (from > upTo) return { items: [], nextCursor: null };

    const names: Record<string, string> = { '#expiresAt': 'expiresAt' };
    const values: Record<string, unknown> = {
      ':pk': pk,
      ':from': from,
      ':upTo': upTo,
      ':now': Math.floor(nowMs / 1000),
    };
    const conditions = ['#expiresAt > :now'];
    if (request.types?.length) {
      names['#type'] = 'type';
      const placeholders = request.types.map((type, i) => {
        values[`:type${i}`] = type;
        return `:type${i}`;
      });
      conditions.push(`#type IN (${placeholders.join(', ')})`);
    }
    if (request.channelId) {
      names['#channelId'] = 'channelId';
      values[':channelId'] = request.channelId;
      conditions.push('#channelId = :channelId');
    }

    const events: { event: PlatformEvent; sk: string }[] = [];
    let startKey: Record<string, unknown> | undefined;
    for (let reads = 0; reads < MAX_READS_PER_PAGE; reads++) {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :upTo',
          FilterExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ConsistentRead: true,
          Limit: limit + 1,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of (result.Items ?? []) as Item[]) {
        const sk = String(item.sk);
        const event = JSON.parse(String(item.event)) as PlatformEvent;
        const copy = {
          eventId: event.id,
          position: sk.slice(EVENT_LOG_PREFIX.length),
          ...(typeof item.firstPosition === 'string' ? { firstPosition: item.firstPosition } : {}),
        };
        if (isServedBy(copy, read) && isServable(event, Number(item.expiresAt), nowMs)) {
          events.push({ event, sk });
        }
      }
      startKey = result.LastEvaluatedKey;
      if (events.length > limit || !startKey) break;
    }
    const page = events.slice(0, limit);
    const last = page.at(-1);
    // Past the page: its last event; stopped by the read cap (or 1 MB): where reading stopped; else
    // caught up with what is visible now (come back later with `after` = the last event's id).
    const nextCursor =
      events.length > limit && last
        ? encodeCursor({ pk, sk: last.sk })
        : startKey
          ? encodeCursor({ pk, sk: String(startKey.sk) })
          : null;
    return { items: page.map(({ event }) => event), nextCursor };
  }

  /** The smallest position the page may start at, and the event it continues after. */
  private async startOf(
    tenantId: string,
    request: EventLogRequest,
    nowMs: number,
  ): Promise<{ from: string; afterEventId?: string }> {
    const pk = tenantPartition(tenantId);
    if (request.cursor !== undefined && request.after !== undefined) {
      const message = 'give either after or cursor, not both';
      throw new ValidationError(message, [{ field: 'cursor', message }]);
    }
    if (request.cursor !== undefined) {
      const { sk = '' } = decodeCursor(request.cursor, {
        partition: { pk },
        keyAttributes: ['pk', 'sk'],
        sortKeyPrefix: EVENT_LOG_PREFIX,
      });
      const position = sk.slice(EVENT_LOG_PREFIX.length);
      if (!isPosition(position)) {
        const message = 'cursor is not one this API returned for this list';
        throw new ValidationError(message, [{ field: 'cursor', message }], 'invalid_cursor');
      }
      return { from: justAfter(position) };
    }
    if (request.after !== undefined) {
      const result = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: eventIdKey(tenantId, request.after),
          ConsistentRead: true,
        }),
      );
      const position = result.Item?.position;
      const expiresAt = Number(result.Item?.expiresAt);
      if (typeof position !== 'string' || !isPosition(position) || expiresAt * 1000 <= nowMs) {
        throw new NotFoundError('event', request.after);
      }
      return { from: justAfter(position), afterEventId: request.after };
    }
    return { from: '' };
  }
}
