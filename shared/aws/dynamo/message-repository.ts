import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { StoreRejectedError } from '../../domain/errors.ts';
import { MESSAGE_STATUSES, type MessageStatus } from '../../domain/events.ts';
import { StaleFenceError } from '../../domain/fence.ts';
import { isStatusAdvance, type Message, type StatusChange } from '../../domain/message.ts';
import type { Page, PageRequest } from '../../domain/pagination.ts';
import type { SendClaim } from '../../domain/send-claim.ts';
import type { MessageFilter, MessageRepository, OutboxEntry, WriteOptions } from '../../ports.ts';
import {
  cancellationCodes,
  cancellationReasons,
  conditionally,
  isRejectedByDynamo,
} from './conditional-write.ts';
import { fenceCheck } from './fence-check.ts';
import { outboxAttributes } from './message-outbox.ts';
import { messageKey, SK_PREFIX, sendClaimKey, tenantPartition, waMessageKey } from './platform-keys.ts';
import { type Item, queryPage } from './query-page.ts';

export class DynamoMessageRepository implements MessageRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Where shard leases live: a write with a fence checks it there (runners only). */
    private readonly options: { readonly leaseTable?: string } = {},
  ) {}

  async put(
    message: Message,
    options: WriteOptions & { expiresAt?: number; outbox?: OutboxEntry } = {},
  ): Promise<boolean> {
    const { fence } = options;
    if (fence && !this.options.leaseTable) throw new Error('A fenced message write needs the lease table');
    const guard = fence && this.options.leaseTable ? [fenceCheck(this.options.leaseTable, fence)] : [];
    try {
      await this.client.send(
        new TransactWriteCommand({ TransactItems: [...guard, ...this.messagePuts(message, options)] }),
      );
      return true;
    } catch (error) {
      const codes = cancellationCodes(error);
      if (fence && codes?.[0] === 'ConditionalCheckFailed') throw new StaleFenceError(fence);
      if (codes?.includes('ConditionalCheckFailed')) return false;
      if (isRejectedByDynamo(error)) throw new StoreRejectedError('DynamoDB', error);
      throw error;
    }
  }

  /**
   * The message's two items and the claim in one transaction: a claim never names a message that
   * was not written, and a message is never written for a key claimed already. A claim past its
   * `expiresAt` (DynamoDB's TTL removes it only within days) is as good as absent and is replaced.
   */
  async putQueuedOnce(message: Message, claim: SendClaim): Promise<SendClaim> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            ...this.messagePuts(message),
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...sendClaimKey(claim.tenantId, claim.requestKey),
                  entity: 'send_claim',
                  requestDigest: claim.requestDigest,
                  channelId: claim.channelId,
                  messageId: claim.messageId,
                  commandId: claim.commandId,
                  issuedAt: claim.issuedAt,
                  expiresAt: claim.expiresAt,
                },
                ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
                ExpressionAttributeValues: { ':now': epochSeconds(claim.issuedAt) },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      );
      return claim;
    } catch (error) {
      const existing = cancellationReasons(error)?.[2];
      if (existing?.code === 'ConditionalCheckFailed' && existing.item) {
        const earlier = toSendClaim(existing.item, claim);
        // The SDK retried a write that had landed: the claim found is this one.
        return earlier.messageId === claim.messageId ? claim : earlier;
      }
      if (isRejectedByDynamo(error)) throw new StoreRejectedError('DynamoDB', error);
      throw error;
    }
  }

  async getSendClaim(tenantId: string, requestKey: string, at: Date): Promise<SendClaim | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: sendClaimKey(tenantId, requestKey),
        ConsistentRead: true,
      }),
    );
    const item = result.Item;
    if (!item || (item.expiresAt as number) < epochSeconds(at.toISOString())) return null;
    return toSendClaim(item, { tenantId, requestKey });
  }

  async failQueuedAndReleaseClaim(
    claim: SendClaim,
    failure: StatusChange & { readonly status: 'failed' },
  ): Promise<boolean> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: messageKey(claim.tenantId, claim.channelId, claim.messageId),
                UpdateExpression:
                  'SET #status = :status, statusHistory = list_append(statusHistory, :change)',
                ConditionExpression: 'attribute_exists(pk) AND #status = :queued',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: {
                  ':status': failure.status,
                  ':change': [failure],
                  ':queued': 'queued',
                },
              },
            },
            {
              Delete: {
                TableName: this.tableName,
                Key: sendClaimKey(claim.tenantId, claim.requestKey),
                ConditionExpression: 'messageId = :messageId',
                ExpressionAttributeValues: { ':messageId': claim.messageId },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (cancellationCodes(error)?.includes('ConditionalCheckFailed')) return false;
      throw error;
    }
  }

  /** A message's item and its WhatsApp-id index item, each written only if new. */
  private messagePuts(message: Message, options: { expiresAt?: number; outbox?: OutboxEntry } = {}) {
    const { tenantId, channelId } = message;
    const ttl = options.expiresAt ? { expiresAt: options.expiresAt } : {};
    const outbox = options.outbox ? outboxAttributes(options.outbox) : {};
    return [
      {
        Put: {
          TableName: this.tableName,
          Item: {
            ...messageKey(tenantId, channelId, message.id),
            entity: 'message',
            ...message,
            ...ttl,
            ...outbox,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Put: {
          TableName: this.tableName,
          Item: {
            ...waMessageKey(tenantId, channelId, message.waMessageId),
            messageId: message.id,
            direction: message.direction,
            ...ttl,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ];
  }

  async get(tenantId: string, channelId: string, messageId: string): Promise<Message | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: messageKey(tenantId, channelId, messageId),
        ConsistentRead: true,
      }),
    );
    return result.Item ? toMessage(result.Item) : null;
  }

  async findByWaMessageId(tenantId: string, channelId: string, waMessageId: string): Promise<Message | null> {
    const resolved = await this.resolveWaMessageId(tenantId, channelId, waMessageId);
    return resolved ? this.get(tenantId, channelId, resolved.messageId) : null;
  }

  async resolveWaMessageId(
    tenantId: string,
    channelId: string,
    waMessageId: string,
  ): Promise<{ messageId: string; direction: Message['direction'] } | null> {
    const index = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: waMessageKey(tenantId, channelId, waMessageId),
        ConsistentRead: true,
      }),
    );
    const item = index.Item;
    if (!item?.messageId || !item.direction) return null;
    return { messageId: item.messageId as string, direction: item.direction as Message['direction'] };
  }

  async advanceStatus(
    tenantId: string,
    channelId: string,
    messageId: string,
    change: StatusChange,
    options: { onlyFrom?: MessageStatus; passedThrough?: readonly StatusChange[] } = {},
  ): Promise<Message | null> {
    const from = [...MESSAGE_STATUSES, 'received' as const].filter(
      (status) =>
        isStatusAdvance(status, change.status) &&
        (options.onlyFrom === undefined || status === options.onlyFrom),
    );
    if (from.length === 0) return null;
    const placeholders = from.map((_, i) => `:from${i}`);
    const result = await conditionally(
      () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: messageKey(tenantId, channelId, messageId),
            UpdateExpression: 'SET #status = :status, statusHistory = list_append(statusHistory, :change)',
            ConditionExpression: `attribute_exists(pk) AND #status IN (${placeholders.join(', ')})`,
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':status': change.status,
              ':change': [...(options.passedThrough ?? []), change],
              ...Object.fromEntries(from.map((status, i) => [`:from${i}`, status])),
            },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      () => new StatusNotAdvanced(),
    ).catch((error) => {
      if (error instanceof StatusNotAdvanced) return null;
      throw error;
    });
    return result ? toMessage(result.Attributes as Item) : null;
  }

  list(
    tenantId: string,
    channelId: string,
    request: PageRequest & MessageFilter = {},
  ): Promise<Page<Message>> {
    const pk = tenantPartition(tenantId);
    const prefix = SK_PREFIX.messagesOf(channelId);
    const { FilterExpression, ExpressionAttributeNames, values } = messageFilter(request);
    return queryPage(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ...(FilterExpression ? { FilterExpression, ExpressionAttributeNames } : {}),
        ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix, ...values },
        ScanIndexForward: false,
      },
      request,
      { pk },
      ['pk', 'sk'],
      toMessage,
      prefix,
    );
  }
}

/** The filter expression of a list: DynamoDB filters after reading, so a page may come out short. */
function messageFilter(filter: MessageFilter) {
  const conditions: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, string> = {};
  if (filter.direction) {
    conditions.push('#direction = :direction');
    names['#direction'] = 'direction';
    values[':direction'] = filter.direction;
  }
  if (filter.contact) {
    conditions.push('#contact.#phoneNumber = :contact');
    names['#contact'] = 'contact';
    names['#phoneNumber'] = 'phoneNumber';
    values[':contact'] = filter.contact;
  }
  return {
    FilterExpression: conditions.length ? conditions.join(' AND ') : undefined,
    ExpressionAttributeNames: names,
    values,
  };
}

class StatusNotAdvanced extends Error {}

function toSendClaim(item: Item, of: Pick<SendClaim, 'tenantId' | 'requestKey'>): SendClaim {
  return {
    tenantId: of.tenantId,
    requestKey: of.requestKey,
    requestDigest: item.requestDigest as string,
    channelId: item.channelId as string,
    messageId: item.messageId as string,
    commandId: item.commandId as string,
    issuedAt: item.issuedAt as string,
    expiresAt: item.expiresAt as number,
  };
}

function epochSeconds(isoTime: string): number {
  return Math.floor(Date.parse(isoTime) / 1000);
}

function toMessage(item: Item): Message {
  return {
    id: item.id as string,
    tenantId: item.tenantId as string,
    channelId: item.channelId as string,
    direction: item.direction as Message['direction'],
    waMessageId: item.waMessageId as string,
    remoteJid: item.remoteJid as string,
    contact: item.contact as Message['contact'],
    type: item.type as string,
    content: (item.content as Record<string, unknown> | undefined) ?? {},
    status: item.status as MessageStatus | 'received',
    statusHistory: (item.statusHistory as StatusChange[] | undefined) ?? [],
    createdAt: item.createdAt as string,
  };
}
