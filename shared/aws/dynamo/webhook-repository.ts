import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError, TenantNotActiveError } from '../../domain/errors.ts';
import type { Page, PageRequest } from '../../domain/pagination.ts';
import {
  MAX_WEBHOOKS_PER_TENANT,
  type Webhook,
  type WebhookDisabledReason,
  type WebhookEventFilter,
  type WebhookSecret,
} from '../../domain/webhook.ts';
import type { WebhookChanges, WebhookRepository } from '../../ports.ts';
import { cancellationReasons, conditionally } from './conditional-write.ts';
import { SK_PREFIX, tenantKey, tenantPartition, webhookCountKey, webhookKey } from './platform-keys.ts';
import { queryAll } from './query-all.ts';
import { type Item, queryPage } from './query-page.ts';

// A tenant's webhooks, in its partition. The signing secrets are attributes of the webhook's item,
// sealed (KMS under the webhook-secrets key, bound to the tenant and webhook: shared/aws/
// kms-webhook-secret-cipher.ts) before they reach this repository: a role that may read the table
// (the API functions, the authorizer, the runner) reads ciphertext it cannot open; only the webhooks
// function and the dispatcher may use the key (docs/api.md, "Secrets").
//
// The limit of MAX_WEBHOOKS_PER_TENANT is a counter item (`WEBHOOKS`) changed in the same
// transaction as the webhook: two creates racing for the last place cannot both win, which a count
// read before the write could not promise.

/** Fields `update` may set, with their attribute names (`status` is a reserved word). */
const CHANGEABLE = [
  'url',
  'description',
  'events',
  'channelIds',
  'status',
  'disabledReason',
  'secrets',
  'failingSince',
] as const satisfies readonly (keyof WebhookChanges)[];

export class DynamoWebhookRepository implements WebhookRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: { readonly now?: () => Date; readonly maxPerTenant?: number } = {},
  ) {}

  async create(webhook: Webhook): Promise<void> {
    const max = this.options.maxPerTenant ?? MAX_WEBHOOKS_PER_TENANT;
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.tableName,
                Key: tenantKey(webhook.tenantId),
                ConditionExpression: 'attribute_exists(pk) AND #status = :active',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':active': 'active' },
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: webhookCountKey(webhook.tenantId),
                UpdateExpression: 'SET #count = if_not_exists(#count, :zero) + :one, entity = :entity',
                ConditionExpression: 'attribute_not_exists(#count) OR #count < :max',
                ExpressionAttributeNames: { '#count': 'count' },
                ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':max': max, ':entity': 'webhookCount' },
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: { ...webhookKey(webhook.tenantId, webhook.id), entity: 'webhook', ...webhook },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
    } catch (error) {
      const codes = cancellationReasons(error)?.map((reason) => reason.code);
      if (codes?.[0] === 'ConditionalCheckFailed') throw new TenantNotActiveError(webhook.tenantId);
      if (codes?.[1] === 'ConditionalCheckFailed') {
        throw new ConflictError(
          'webhook_limit_reached',
          `A tenant may have ${max} webhooks: delete one before adding another`,
        );
      }
      if (codes?.[2] === 'ConditionalCheckFailed')
        throw new ConflictError('webhook_exists', `Webhook ${webhook.id} already exists`);
      throw error;
    }
  }

  async get(tenantId: string, webhookId: string): Promise<Webhook | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: webhookKey(tenantId, webhookId),
        ConsistentRead: true,
      }),
    );
    return result.Item ? toWebhook(result.Item) : null;
  }

  list(tenantId: string, request: PageRequest): Promise<Page<Webhook>> {
    const pk = tenantPartition(tenantId);
    return queryPage(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': SK_PREFIX.webhook },
        ConsistentRead: true,
      },
      request,
      { pk },
      ['pk', 'sk'],
      toWebhook,
      SK_PREFIX.webhook,
    );
  }

  async listAll(tenantId: string): Promise<Webhook[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPartition(tenantId), ':prefix': SK_PREFIX.webhook },
      ConsistentRead: true,
    });
    return items.map(toWebhook);
  }

  async update(
    tenantId: string,
    webhookId: string,
    expectedVersion: number,
    changes: WebhookChanges,
  ): Promise<Webhook> {
    const set = CHANGEABLE.filter((field) => changes[field] !== undefined);
    const updatedAt = changes.updatedAt ?? (this.options.now?.() ?? new Date()).toISOString();
    const result = await conditionally(
      () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: webhookKey(tenantId, webhookId),
            UpdateExpression: `SET ${[
              ...set.map((field) => `#${field} = :${field}`),
              'version = version + :one',
              'updatedAt = :updatedAt',
            ].join(', ')}`,
            ConditionExpression: 'attribute_exists(pk) AND version = :expected',
            ExpressionAttributeNames: Object.fromEntries(set.map((field) => [`#${field}`, field])),
            ExpressionAttributeValues: {
              ...Object.fromEntries(set.map((field) => [`:${field}`, changes[field]])),
              ':one': 1,
              ':expected': expectedVersion,
              ':updatedAt': updatedAt,
            },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      (current) =>
        current
          ? new ConflictError(
              'webhook_version_conflict',
              `Webhook ${webhookId} changed since it was read: it is at version ${String(current.version)}, not ${expectedVersion}`,
            )
          : new NotFoundError('webhook', webhookId),
    );
    return toWebhook(result.Attributes as Item);
  }

  async delete(tenantId: string, webhookId: string): Promise<void> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.tableName,
                Key: webhookKey(tenantId, webhookId),
                ConditionExpression: 'attribute_exists(pk)',
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: webhookCountKey(tenantId),
                UpdateExpression: 'SET #count = #count - :one',
                ConditionExpression: '#count > :zero',
                ExpressionAttributeNames: { '#count': 'count' },
                ExpressionAttributeValues: { ':zero': 0, ':one': 1 },
              },
            },
          ],
        }),
      );
    } catch (error) {
      const codes = cancellationReasons(error)?.map((reason) => reason.code);
      if (codes?.[0] === 'ConditionalCheckFailed') throw new NotFoundError('webhook', webhookId);
      throw error;
    }
  }
}

function toWebhook(item: Item): Webhook {
  return {
    id: item.id as string,
    tenantId: item.tenantId as string,
    url: item.url as string,
    description: (item.description as string | null | undefined) ?? null,
    events: item.events as WebhookEventFilter[],
    channelIds: (item.channelIds as string[] | null | undefined) ?? null,
    status: item.status as Webhook['status'],
    disabledReason: (item.disabledReason as WebhookDisabledReason | null | undefined) ?? null,
    secrets: item.secrets as WebhookSecret[],
    failingSince: (item.failingSince as string | null | undefined) ?? null,
    version: item.version as number,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}
