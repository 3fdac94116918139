import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError } from '../../domain/errors.ts';
import type { Page, PageRequest } from '../../domain/pagination.ts';
import type { Tenant, TenantStatus } from '../../domain/tenant.ts';
import type { TenantRepository } from '../../ports.ts';
import { conditionally } from './conditional-write.ts';
import { ALL_TENANTS_PARTITION, GSI1, tenantKey } from './platform-keys.ts';
import { type Item, queryPage } from './query-page.ts';

export class DynamoTenantRepository implements TenantRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(tenant: Tenant): Promise<void> {
    await conditionally(
      () =>
        this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...tenantKey(tenant.id),
              gsi1pk: ALL_TENANTS_PARTITION,
              gsi1sk: tenant.id,
              entity: 'tenant',
              ...tenant,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      () => new ConflictError('tenant_exists', `Tenant ${tenant.id} already exists`),
    );
  }

  async get(tenantId: string): Promise<Tenant | null> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: tenantKey(tenantId), ConsistentRead: true }),
    );
    return result.Item ? toTenant(result.Item) : null;
  }

  list(request: PageRequest): Promise<Page<Tenant>> {
    return queryPage(
      this.client,
      {
        TableName: this.tableName,
        IndexName: GSI1,
        KeyConditionExpression: 'gsi1pk = :partition',
        ExpressionAttributeValues: { ':partition': ALL_TENANTS_PARTITION },
      },
      request,
      { gsi1pk: ALL_TENANTS_PARTITION },
      ['pk', 'sk', 'gsi1pk', 'gsi1sk'],
      toTenant,
    );
  }

  async setStatus(tenantId: string, status: TenantStatus): Promise<Tenant> {
    const result = await conditionally(
      () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: tenantKey(tenantId),
            UpdateExpression: 'SET #status = :status, updatedAt = :now',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':status': status, ':now': new Date().toISOString() },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      () => new NotFoundError('tenant', tenantId),
    );
    return toTenant(result.Attributes as Item);
  }
}

function toTenant(item: Item): Tenant {
  return {
    id: item.id as string,
    name: item.name as string,
    status: item.status as Tenant['status'],
    retentionDays: item.retentionDays as number,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}
