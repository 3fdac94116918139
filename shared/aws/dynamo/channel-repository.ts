import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { assertTransition, type Channel, type ChannelStatusDetails } from '../../domain/channel.ts';
import { ConflictError, NotFoundError } from '../../domain/errors.ts';
import type { Page, PageRequest } from '../../domain/pagination.ts';
import type { ChannelRepository, StatusTransition } from '../../ports.ts';
import { conditionally } from './conditional-write.ts';
import { channelKey, GSI1, SK_PREFIX, shardPartition, tenantPartition } from './platform-keys.ts';
import { type Item, queryPage } from './query-page.ts';
import { putTenantChild } from './tenant-guard.ts';

const STATUS_DETAIL_FIELDS = [
  'phoneNumber',
  'lid',
  'lastSeenAt',
] as const satisfies readonly (keyof ChannelStatusDetails)[];

export class DynamoChannelRepository implements ChannelRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  create(channel: Channel): Promise<void> {
    const item = {
      ...channelKey(channel.tenantId, channel.id),
      gsi1pk: shardPartition(channel.shard),
      gsi1sk: `${SK_PREFIX.channel}${channel.id}`,
      entity: 'channel',
      ...channel,
    };
    return putTenantChild(
      this.client,
      this.tableName,
      channel.tenantId,
      item,
      () => new ConflictError('channel_exists', `Channel ${channel.id} already exists`),
    );
  }

  async get(tenantId: string, channelId: string): Promise<Channel | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: channelKey(tenantId, channelId),
        ConsistentRead: true,
      }),
    );
    return result.Item ? toChannel(result.Item) : null;
  }

  list(tenantId: string, request: PageRequest): Promise<Page<Channel>> {
    const pk = tenantPartition(tenantId);
    return queryPage(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': SK_PREFIX.channel },
      },
      request,
      { pk },
      ['pk', 'sk'],
      toChannel,
    );
  }

  listByShard(shard: number, request: PageRequest): Promise<Page<Channel>> {
    const gsi1pk = shardPartition(shard);
    return queryPage(
      this.client,
      {
        TableName: this.tableName,
        IndexName: GSI1,
        KeyConditionExpression: 'gsi1pk = :partition',
        ExpressionAttributeValues: { ':partition': gsi1pk },
      },
      request,
      { gsi1pk },
      ['pk', 'sk', 'gsi1pk', 'gsi1sk'],
      toChannel,
    );
  }

  async transition(tenantId: string, channelId: string, transition: StatusTransition): Promise<Channel> {
    assertTransition(channelId, transition.from, transition.to);
    const details = STATUS_DETAIL_FIELDS.flatMap((field) =>
      transition.details?.[field] === undefined ? [] : [[field, transition.details[field]] as const],
    );
    const sets = ['#status = :to', 'version = version + :one', 'updatedAt = :at'].concat(
      details.map(([field]) => `#${field} = :${field}`),
    );
    const result = await conditionally(
      () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: channelKey(tenantId, channelId),
            UpdateExpression: `SET ${sets.join(', ')}`,
            ConditionExpression: 'attribute_exists(pk) AND #status = :from AND version = :expected',
            ExpressionAttributeNames: {
              '#status': 'status',
              ...Object.fromEntries(details.map(([field]) => [`#${field}`, field])),
            },
            ExpressionAttributeValues: {
              ':to': transition.to,
              ':from': transition.from,
              ':expected': transition.expectedVersion,
              ':one': 1,
              ':at': transition.at,
              ...Object.fromEntries(details.map(([field, value]) => [`:${field}`, value])),
            },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      (current) =>
        current
          ? new ConflictError(
              'channel_state_conflict',
              `Channel ${channelId} changed since it was read: it is ${String(current.status)} at version ${String(current.version)}, not ${transition.from} at version ${transition.expectedVersion}`,
            )
          : new NotFoundError('channel', channelId),
    );
    return toChannel(result.Attributes as Item);
  }
}

function toChannel(item: Item): Channel {
  return {
    id: item.id as string,
    tenantId: item.tenantId as string,
    name: item.name as string,
    status: item.status as Channel['status'],
    shard: item.shard as number,
    phoneNumber: (item.phoneNumber as string | null | undefined) ?? null,
    lid: (item.lid as string | null | undefined) ?? null,
    version: item.version as number,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
    lastSeenAt: (item.lastSeenAt as string | null | undefined) ?? null,
  };
}
