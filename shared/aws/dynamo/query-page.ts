import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { type Page, type PageRequest, pageSize } from '../../domain/pagination.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';

export type Item = Record<string, unknown>;

/**
 * A filtered query reads at most this many times for one page: a list whose matches are rare hands
 * out a short page and a cursor rather than reading the whole partition in one request.
 */
const MAX_READS_PER_PAGE = 10;

/**
 * Reads one page of a query. It asks for one item more than the page so that `nextCursor` is null
 * when nothing follows, instead of handing out a cursor to an empty page. DynamoDB applies `Limit`
 * before a `FilterExpression`, so a filtered read can come back short, or empty, with more to read:
 * it reads on from where DynamoDB stopped until the page is full or the query is done.
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
  let startKey: Record<string, unknown> | undefined = request.cursor
    ? decodeCursor(request.cursor, { partition, keyAttributes, sortKeyPrefix })
    : undefined;
  const items: Item[] = [];
  for (let reads = 0; reads < MAX_READS_PER_PAGE; reads++) {
    const result = await client.send(
      new QueryCommand({ ...query, Limit: limit + 1, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
    );
    items.push(...((result.Items ?? []) as Item[]));
    startKey = result.LastEvaluatedKey;
    if (items.length > limit || !startKey) break;
  }
  const pageItems = items.slice(0, limit);
  const keyOf = (item: Record<string, unknown>) =>
    encodeCursor(Object.fromEntries(keyAttributes.map((name) => [name, String(item[name])])));
  const last = pageItems.at(-1);
  // Past the page: its last item; stopped by the read cap (or DynamoDB's 1 MB): where reading stopped.
  const nextCursor = items.length > limit && last ? keyOf(last) : startKey ? keyOf(startKey) : null;
  return { items: pageItems.map(toDomain), nextCursor };
}
