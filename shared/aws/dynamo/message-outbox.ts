import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PlatformEvent } from '../../domain/events.ts';
import { idsMadeBefore } from '../../domain/ids.ts';
import type { EventOutbox, OutboxEntry } from '../../ports.ts';
import { GSI1, messageKey, outboxPartition } from './platform-keys.ts';

/**
 * What a message item carries while its event waits: the event itself and a place in the shard's
 * outbox index. Written in the message's own put, so a stored message always has its event.
 */
export function outboxAttributes({ shard, event }: OutboxEntry) {
  return { eventId: event.id, pendingEvent: event, gsi1pk: outboxPartition(shard), gsi1sk: event.id };
}

/** The outbox of the platform table: message items whose event is still to be published. */
export class DynamoMessageOutbox implements EventOutbox {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async pending(
    shard: number,
    options: { before: Date; limit: number },
  ): Promise<PlatformEvent<'message.received'>[]> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: GSI1,
        KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk < :before',
        ExpressionAttributeValues: {
          ':pk': outboxPartition(shard),
          ':before': idsMadeBefore('event', options.before.getTime()),
        },
        Limit: options.limit,
      }),
    );
    return (result.Items ?? []).flatMap((item) =>
      item.pendingEvent ? [item.pendingEvent as PlatformEvent<'message.received'>] : [],
    );
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
        ProjectionExpression: 'pendingEvent',
        ConsistentRead: true,
      }),
    );
    return (result.Item?.pendingEvent as PlatformEvent<'message.received'> | undefined) ?? null;
  }

  async markPublished(tenantId: string, channelId: string, messageId: string, at: Date): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: messageKey(tenantId, channelId, messageId),
        UpdateExpression: 'REMOVE gsi1pk, gsi1sk, pendingEvent SET eventPublishedAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at.toISOString() },
      }),
    );
  }
}
