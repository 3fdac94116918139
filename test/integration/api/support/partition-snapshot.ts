// What a tenant's partition of the platform table holds, to tell what a run of requests wrote.
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { tenantPartition } from '#shared/aws/dynamo/platform-keys.ts';

export type StoredItem = Record<string, unknown>;

/** The partition's items by sort key; rate-limit windows (`RATE#…`) are bookkeeping, not data. */
export type PartitionSnapshot = ReadonlyMap<string, StoredItem>;

export async function snapshotPartition(
  dynamo: DynamoDBDocumentClient,
  tableName: string,
  tenantId: string,
): Promise<PartitionSnapshot> {
  const items = new Map<string, StoredItem>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': tenantPartition(tenantId) },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      const sk = String(item.sk);
      if (!sk.startsWith('RATE#')) items.set(sk, item);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

export interface PartitionChange {
  readonly sk: string;
  readonly kind: 'added' | 'changed' | 'removed';
  readonly before?: StoredItem;
  readonly after?: StoredItem;
}

export function partitionChanges(before: PartitionSnapshot, after: PartitionSnapshot): PartitionChange[] {
  const changes: PartitionChange[] = [];
  for (const [sk, item] of after) {
    const previous = before.get(sk);
    if (!previous) changes.push({ sk, kind: 'added', after: item });
    else if (JSON.stringify(sorted(previous)) !== JSON.stringify(sorted(item)))
      changes.push({ sk, kind: 'changed', before: previous, after: item });
  }
  for (const [sk, item] of before) if (!after.has(sk)) changes.push({ sk, kind: 'removed', before: item });
  return changes;
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, inner]) => [key, sorted(inner)]),
    );
  return value;
}
