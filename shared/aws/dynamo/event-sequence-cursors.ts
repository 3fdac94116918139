import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ChannelCursor, EventSequence } from '../../domain/event-sequence.ts';
import type { EventSequenceCursors } from '../../ports.ts';
import { eventSequenceCursorKey } from './platform-keys.ts';

const NAMES = { '#epoch': 'epoch', '#seq': 'seq' };
const READ_NAMES = { ...NAMES, '#updatedAt': 'updatedAt' };

/**
 * The fan-out's cursor of each channel, one small item in its tenant's partition (`EVSEQ#<channel>`:
 * the dispatcher's grants on tenant partitions cover it). It holds two numbers and no patient data,
 * and stays as long as its channel's item does.
 */
export class DynamoEventSequenceCursors implements EventSequenceCursors {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(tenantId: string, channelId: string): Promise<ChannelCursor | null> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: eventSequenceCursorKey(tenantId, channelId),
        // Another fan-out may have moved it a moment ago: an eventually consistent read could hold an
        // event that is due.
        ConsistentRead: true,
        ProjectionExpression: '#epoch, #seq, #updatedAt',
        ExpressionAttributeNames: READ_NAMES,
      }),
    );
    if (typeof Item?.epoch !== 'number' || typeof Item.seq !== 'number') return null;
    const movedAtMs = typeof Item.updatedAt === 'string' ? Date.parse(Item.updatedAt) : Number.NaN;
    return { epoch: Item.epoch, seq: Item.seq, movedAtMs: Number.isNaN(movedAtMs) ? null : movedAtMs };
  }

  async advance(
    tenantId: string,
    channelId: string,
    from: EventSequence | null,
    to: EventSequence,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: eventSequenceCursorKey(tenantId, channelId),
          UpdateExpression: 'SET #epoch = :epoch, #seq = :seq, updatedAt = :at',
          ConditionExpression: from ? '#epoch = :fromEpoch AND #seq = :fromSeq' : 'attribute_not_exists(pk)',
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: {
            ':epoch': to.epoch,
            ':seq': to.seq,
            ':at': this.now().toISOString(),
            ...(from ? { ':fromEpoch': from.epoch, ':fromSeq': from.seq } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
