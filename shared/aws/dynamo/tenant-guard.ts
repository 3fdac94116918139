import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { TenantNotActiveError } from '../../domain/errors.ts';
import { cancellationCodes } from './conditional-write.ts';
import { tenantKey } from './platform-keys.ts';
import type { Item } from './query-page.ts';

/**
 * Writes a new item of a tenant (API key, channel) in one transaction with a check that the tenant
 * exists and is active, so nothing can be added to a tenant that is absent or being erased.
 */
export async function putTenantChild(
  client: DynamoDBDocumentClient,
  tableName: string,
  tenantId: string,
  item: Item,
  onExists: () => Error,
): Promise<void> {
  try {
    await client.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            ConditionCheck: {
              TableName: tableName,
              Key: tenantKey(tenantId),
              ConditionExpression: 'attribute_exists(pk) AND #status = :active',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':active': 'active' },
            },
          },
          { Put: { TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
        ],
      }),
    );
  } catch (error) {
    const codes = cancellationCodes(error);
    if (codes?.[0] === 'ConditionalCheckFailed') throw new TenantNotActiveError(tenantId);
    if (codes?.[1] === 'ConditionalCheckFailed') throw onExists();
    throw error;
  }
}
