import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ApiKey } from '../../domain/api-key.ts';
import { ConflictError, NotFoundError } from '../../domain/errors.ts';
import type { Page, PageRequest } from '../../domain/pagination.ts';
import type { ApiKeyRepository } from '../../ports.ts';
import { conditionally } from './conditional-write.ts';
import { apiKeyKey, SK_PREFIX, tenantPartition } from './platform-keys.ts';
import { type Item, queryPage } from './query-page.ts';
import { putTenantChild } from './tenant-guard.ts';

export class DynamoApiKeyRepository implements ApiKeyRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  create(key: ApiKey): Promise<void> {
    // revokedAt is written only on revocation, so `attribute_not_exists(revokedAt)` means active.
    const item = { ...apiKeyKey(key.tenantId, key.id), entity: 'apiKey', ...key, revokedAt: undefined };
    return putTenantChild(
      this.client,
      this.tableName,
      key.tenantId,
      item,
      () => new ConflictError('api_key_exists', `API key ${key.id} already exists`),
    );
  }

  async get(tenantId: string, keyId: string): Promise<ApiKey | null> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: apiKeyKey(tenantId, keyId), ConsistentRead: true }),
    );
    return result.Item ? toApiKey(result.Item) : null;
  }

  list(tenantId: string, request: PageRequest): Promise<Page<ApiKey>> {
    const pk = tenantPartition(tenantId);
    return queryPage(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': SK_PREFIX.apiKey },
      },
      request,
      { pk },
      ['pk', 'sk'],
      toApiKey,
      SK_PREFIX.apiKey,
    );
  }

  async revoke(tenantId: string, keyId: string, revokedAt: string): Promise<ApiKey> {
    const result = await conditionally(
      () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: apiKeyKey(tenantId, keyId),
            UpdateExpression: 'SET revokedAt = :revokedAt',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
            ExpressionAttributeValues: { ':revokedAt': revokedAt },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      () => new NotFoundError('api_key', keyId),
    );
    return toApiKey(result.Attributes as Item);
  }
}

function toApiKey(item: Item): ApiKey {
  return {
    id: item.id as string,
    tenantId: item.tenantId as string,
    name: item.name as string,
    scopes: item.scopes as ApiKey['scopes'],
    secretHash: item.secretHash as string,
    createdAt: item.createdAt as string,
    revokedAt: (item.revokedAt as string | undefined) ?? null,
  };
}
