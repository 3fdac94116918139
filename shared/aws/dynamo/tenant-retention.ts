import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { tenantKey } from './platform-keys.ts';

/** What the event recorder reads of a tenant item, and nothing else (its role is limited to these). */
export const TENANT_RETENTION_ATTRIBUTES = ['retentionDays', 'status'] as const;

/**
 * A tenant's retention as the event recorder needs it: one GetItem projecting only the retention
 * and the status (the recorder's role may read no other attribute). null for a tenant that is
 * absent or being erased: its events are not kept.
 */
export class DynamoTenantRetention {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async retentionOf(tenantId: string): Promise<number | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: tenantKey(tenantId),
        ProjectionExpression: TENANT_RETENTION_ATTRIBUTES.map((_, i) => `#a${i}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(
          TENANT_RETENTION_ATTRIBUTES.map((name, i) => [`#a${i}`, name]),
        ),
      }),
    );
    const item = result.Item;
    if (item?.status !== 'active' || typeof item.retentionDays !== 'number') return null;
    return item.retentionDays;
  }
}
