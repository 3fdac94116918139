import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { EventSequence } from '../../domain/event-sequence.ts';
import type { PlatformEvent } from '../../domain/events.ts';
import { type Message, receivedMessageData } from '../../domain/message.ts';
import type { EventOutbox, OutboxEntry, OutboxRef } from '../../ports.ts';
import { messageKey, messageOfKey, OUTBOX_INDEX, outboxPartition } from './platform-keys.ts';
import type { Item } from './query-page.ts';

/** What the event of a received message holds beyond its message record. */
interface EventExtras {
  readonly id: string;
  readonly timestamp: string;
  readonly context?: { messageId: string };
  /** Its place in its channel's order, published with it whoever publishes it. */
  readonly sequence?: EventSequence;
}

/**
 * What a message item carries while its event waits: a place in the shard's outbox index and what
 * the event adds to the record (its id, WhatsApp's timestamp, the message replied to) — not the
 * event's body, which is the record's own content: an item holds a message's content once. Written
 * in the message's own put, so a stored message always has its event.
 */
export function outboxAttributes({ shard, event }: OutboxEntry) {
  const { timestamp, context } = event.data;
  const pendingEvent: EventExtras = {
    id: event.id,
    timestamp,
    ...(context ? { context } : {}),
    ...(event.sequence ? { sequence: event.sequence } : {}),
  };
  return { outboxpk: outboxPartition(shard), outboxsk: event.id, pendingEvent };
}

/** The attributes an event is rebuilt from. */
const EVENT_SOURCE = 'id, tenantId, channelId, contact, #type, content, createdAt, pendingEvent';
const EVENT_SOURCE_NAMES = { '#type': 'type' };
const BATCH_GET_MAX_KEYS = 100;
const BATCH_GET_MAX_ATTEMPTS = 5;

/** The `message.received` event of a message item still waiting, or null once published. */
function waitingEvent(item: Item | undefined): PlatformEvent<'message.received'> | null {
  const extras = item?.pendingEvent as EventExtras | undefined;
  if (!item || !extras) return null;
  return {
    id: extras.id,
    type: 'message.received',
    createdAt: item.createdAt as string,
    tenantId: item.tenantId as string,
    channelId: item.channelId as string,
    // The record presented as the recorder presented it when it published (`receivedMessageData`).
    data: receivedMessageData(
      {
        id: item.id as string,
        contact: item.contact as Message['contact'],
        type: item.type as string,
        content: (item.content as Record<string, unknown> | undefined) ?? {},
      },
      extras,
    ),
    ...(extras.sequence ? { sequence: extras.sequence } : {}),
  };
}

/**
 * The outbox of the platform table: message items whose event is still to be published, found
 * through the sparse keys-only `outbox` index and read from the items themselves.
 */
export class DynamoMessageOutbox implements EventOutbox {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  async waiting(
    shard: number,
    options: { limit: number; after?: OutboxRef },
  ): Promise<{ refs: OutboxRef[]; more: boolean }> {
    const { after } = options;
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: OUTBOX_INDEX,
        KeyConditionExpression: 'outboxpk = :pk',
        ExpressionAttributeValues: { ':pk': outboxPartition(shard) },
        Limit: options.limit,
        ...(after
          ? {
              ExclusiveStartKey: {
                ...messageKey(after.tenantId, after.channelId, after.messageId),
                outboxpk: outboxPartition(shard),
                outboxsk: after.eventId,
              },
            }
          : {}),
      }),
    );
    const refs = (result.Items ?? []).map((item) => ({
      eventId: item.outboxsk as string,
      ...messageOfKey(item as { pk: string; sk: string }),
    }));
    return { refs, more: result.LastEvaluatedKey !== undefined };
  }

  async eventsOf(refs: readonly OutboxRef[]): Promise<PlatformEvent<'message.received'>[]> {
    const events = new Map<string, PlatformEvent<'message.received'>>();
    for (let start = 0; start < refs.length; start += BATCH_GET_MAX_KEYS) {
      let keys: Record<string, unknown>[] = refs
        .slice(start, start + BATCH_GET_MAX_KEYS)
        .map((ref) => messageKey(ref.tenantId, ref.channelId, ref.messageId));
      for (let attempt = 1; keys.length > 0; attempt++) {
        if (attempt > BATCH_GET_MAX_ATTEMPTS) throw new Error(`BatchGetItem left ${keys.length} keys unread`);
        if (attempt > 1) await this.sleep(Math.random() * 50 * 2 ** attempt);
        const result = await this.client.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: {
                Keys: keys,
                // Consistent: an event marked published since the index was read is not published again.
                ConsistentRead: true,
                ProjectionExpression: EVENT_SOURCE,
                ExpressionAttributeNames: EVENT_SOURCE_NAMES,
              },
            },
          }),
        );
        for (const item of result.Responses?.[this.tableName] ?? []) {
          const event = waitingEvent(item);
          if (event) events.set(event.id, event);
        }
        keys = result.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    // In the outbox's order, whatever order BatchGetItem answered in.
    return refs.flatMap((ref) => events.get(ref.eventId) ?? []);
  }

  async pendingOf(
    tenantId: string,
    channelId: string,
    messageId: string,
  ): Promise<PlatformEvent<'message.received'> | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: messageKey(tenantId, channelId, messageId),
        ProjectionExpression: EVENT_SOURCE,
        ExpressionAttributeNames: EVENT_SOURCE_NAMES,
        ConsistentRead: true,
      }),
    );
    return waitingEvent(result.Item);
  }

  async markPublished(tenantId: string, channelId: string, messageId: string, at: Date): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: messageKey(tenantId, channelId, messageId),
        UpdateExpression: 'REMOVE outboxpk, outboxsk, pendingEvent SET eventPublishedAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at.toISOString() },
      }),
    );
  }
}
