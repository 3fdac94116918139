import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  assertTransition,
  type Channel,
  type ChannelPairing,
  type ChannelStatusDetails,
  PAIRING_STATUSES,
} from '../../domain/channel.ts';
import { ConflictError, NotFoundError } from '../../domain/errors.ts';
import { type Fence, StaleFenceError } from '../../domain/fence.ts';
import type { Page, PageRequest } from '../../domain/pagination.ts';
import type { ChannelRepository, StatusTransition, WriteOptions } from '../../ports.ts';
import { cancellationReasons, conditionally } from './conditional-write.ts';
import { fenceCheck } from './fence-check.ts';
import { channelKey, GSI1, SK_PREFIX, shardPartition, tenantPartition } from './platform-keys.ts';
import { type Item, queryPage } from './query-page.ts';
import { putTenantChild } from './tenant-guard.ts';

const STATUS_DETAIL_FIELDS = [
  'statusReason',
  'phoneNumber',
  'lid',
  'lastSeenAt',
] as const satisfies readonly (keyof ChannelStatusDetails)[];

export class DynamoChannelRepository implements ChannelRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Where shard leases live: a write with a fence checks it there (runners only). */
    private readonly options: { readonly leaseTable?: string } = {},
  ) {}

  create(channel: Channel): Promise<void> {
    const item = {
      ...channelKey(channel.tenantId, channel.id),
      gsi1pk: shardPartition(channel.shard),
      gsi1sk: `${SK_PREFIX.channel}${channel.id}`,
      entity: 'channel',
      ...channel,
      // Written only when set: `attribute_not_exists(deletedAt)` is how lists leave deleted ones out.
      deletedAt: channel.deletedAt ?? undefined,
      pairing: channel.pairing ?? undefined,
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
        // A deleted channel's item stays (hidden), out of its shard's list once its session is erased.
        FilterExpression: 'attribute_not_exists(deletedAt)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': SK_PREFIX.channel },
      },
      request,
      { pk },
      ['pk', 'sk'],
      toChannel,
      SK_PREFIX.channel,
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

  async transition(
    tenantId: string,
    channelId: string,
    transition: StatusTransition,
    options: WriteOptions = {},
  ): Promise<Channel> {
    assertTransition(channelId, transition.from, transition.to);
    const details = STATUS_DETAIL_FIELDS.flatMap((field) =>
      transition.details?.[field] === undefined ? [] : [[field, transition.details[field]] as const],
    );
    const sets = ['#status = :to', 'version = version + :one', 'updatedAt = :at'].concat(
      details.map(([field]) => `#${field} = :${field}`),
    );
    // A pairing secret is dropped as soon as the channel stops waiting for a phone.
    const drops = PAIRING_STATUSES.includes(transition.to) ? '' : ' REMOVE pairing';
    const update = {
      TableName: this.tableName,
      Key: channelKey(tenantId, channelId),
      UpdateExpression: `SET ${sets.join(', ')}${drops}`,
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
    };
    const conflict = (current: Item | undefined) =>
      current
        ? new ConflictError(
            'channel_state_conflict',
            `Channel ${channelId} changed since it was read: it is ${String(current.status)} at version ${String(current.version)}, not ${transition.from} at version ${transition.expectedVersion}`,
          )
        : new NotFoundError('channel', channelId);
    if (options.fence) return this.fencedTransition(update, options.fence, conflict);
    const result = await conditionally(
      () =>
        this.client.send(
          new UpdateCommand({
            ...update,
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      conflict,
    );
    return toChannel(result.Attributes as Item);
  }

  async recordPairing(
    tenantId: string,
    channelId: string,
    pairing: ChannelPairing,
    options: WriteOptions = {},
  ): Promise<void> {
    const update = {
      TableName: this.tableName,
      Key: channelKey(tenantId, channelId),
      UpdateExpression: 'SET pairing = :pairing',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':pairing': pairing },
    };
    const absent = () => new NotFoundError('channel', channelId);
    if (options.fence) {
      await this.fencedTransition(update, options.fence, absent);
      return;
    }
    await conditionally(() => this.client.send(new UpdateCommand(update)), absent);
  }

  async markDeleted(tenantId: string, channelId: string, at: string): Promise<void> {
    await conditionally(
      () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: channelKey(tenantId, channelId),
            UpdateExpression: 'SET deletedAt = :at, updatedAt = :at, version = version + :one REMOVE pairing',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(deletedAt)',
            ExpressionAttributeValues: { ':at': at, ':one': 1 },
          }),
        ),
      () => new NotFoundError('channel', channelId),
    );
  }

  async completeDeletion(
    tenantId: string,
    channelId: string,
    at: string,
    options: WriteOptions = {},
  ): Promise<boolean> {
    const update = {
      TableName: this.tableName,
      Key: channelKey(tenantId, channelId),
      // Without its gsi1 keys the item is in no shard's list: the index is sparse.
      UpdateExpression:
        'SET sessionErasedAt = :at, updatedAt = :at, version = version + :one REMOVE gsi1pk, gsi1sk',
      ConditionExpression:
        'attribute_exists(pk) AND attribute_exists(deletedAt) AND attribute_exists(gsi1pk)',
      ExpressionAttributeValues: { ':at': at, ':one': 1 },
    };
    // Refused: either done before (deleted, out of the list) or not marked deleted (absent, or not yet).
    const refused = (current: Item | undefined) =>
      new DeletionNotCompleted(current?.deletedAt !== undefined && current.gsi1pk === undefined);
    try {
      if (options.fence) await this.fencedUpdate(update, options.fence, refused);
      else
        await conditionally(
          () =>
            this.client.send(
              new UpdateCommand({ ...update, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
            ),
          refused,
        );
      return true;
    } catch (error) {
      if (error instanceof DeletionNotCompleted) return error.doneBefore;
      throw error;
    }
  }

  /**
   * The update and the fence's check in one transaction; the channel as it now is read after (a
   * transaction returns no values: one more read, for a change that happens a few times a day).
   */
  private async fencedTransition(
    update: ConditionalUpdate,
    fence: Fence,
    conflict: (current: Item | undefined) => Error,
  ): Promise<Channel> {
    await this.fencedUpdate(update, fence, conflict);
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: update.Key, ConsistentRead: true }),
    );
    return toChannel(result.Item as Item);
  }

  /** The update and the fence's check in one transaction. */
  private async fencedUpdate(
    update: ConditionalUpdate,
    fence: Fence,
    conflict: (current: Item | undefined) => Error,
  ): Promise<void> {
    if (!this.options.leaseTable) throw new Error('A fenced channel write needs the lease table');
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            fenceCheck(this.options.leaseTable, fence),
            { Update: { ...update, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
          ],
        }),
      );
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (!reasons) throw error;
      if (reasons[0]?.code === 'ConditionalCheckFailed') throw new StaleFenceError(fence);
      if (reasons[1]?.code === 'ConditionalCheckFailed') throw conflict(reasons[1].item);
      throw error;
    }
  }
}

/** `completeDeletion`'s condition failed; `doneBefore` when that is because it was completed already. */
class DeletionNotCompleted extends Error {
  constructor(readonly doneBefore: boolean) {
    super(doneBefore ? 'The deletion was completed before' : 'The channel is not marked deleted');
    this.name = 'DeletionNotCompleted';
  }
}

interface ConditionalUpdate {
  readonly TableName: string;
  readonly Key: Record<string, string>;
  readonly UpdateExpression: string;
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues: Record<string, unknown>;
}

function toChannel(item: Item): Channel {
  return {
    id: item.id as string,
    tenantId: item.tenantId as string,
    name: item.name as string,
    status: item.status as Channel['status'],
    statusReason: (item.statusReason as string | null | undefined) ?? null,
    shard: item.shard as number,
    phoneNumber: (item.phoneNumber as string | null | undefined) ?? null,
    lid: (item.lid as string | null | undefined) ?? null,
    version: item.version as number,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
    lastSeenAt: (item.lastSeenAt as string | null | undefined) ?? null,
    pairing: (item.pairing as ChannelPairing | undefined) ?? null,
    deletedAt: (item.deletedAt as string | undefined) ?? null,
  };
}
