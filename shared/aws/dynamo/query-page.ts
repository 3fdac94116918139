import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { type Page, type PageRequest, pageSize } from '../../domain/pagination.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';

export type Item = Record<string, unknown>;

/**
 * Reads one page of a query. It asks for one item more than the page so that `nextCursor` is null
 * when nothing follows, instead of handing out a cursor to an empty page.
 */
export async function queryPage<T>(
  client: DynamoDBDocumentClient,
  query: Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey'>,
  request: PageRequest,
  partition: Record<string, string>,
  keyAttributes: readonly string[],
  toDomain: (item: Item) => T,
  /** What the sort keys of a `begins_with` query begin with: a cursor must stay inside it. */
  sortKeyPrefix?: string,
): Promise<Page<T>> {
  const limit = pageSize(request);
  const result = await client.send(
    new QueryCommand({
      ...query,
      Limit: limit + 1,
      ...(request.cursor
        ? { ExclusiveStartKey: decodeCursor(request.cursor, { partition, keyAttributes, sortKeyPrefix }) }
        : {}),
    }),
  );
  const items = (result.Items ?? []) as Item[];
  const pageItems = items.slice(0, limit);
  const last = pageItems.at(-1);
  // LastEvaluatedKey with a short page means DynamoDB stopped at its 1 MB cap: more follows.
  const more = items.length > limit || result.LastEvaluatedKey !== undefined;
  const nextCursor =
    more && last
      ? encodeCursor(Object.fromEntries(keyAttributes.map((name) => [name, String(last[name])])))
      : null;
  return { items: pageItems.map(toDomain), nextCursor };
}
