import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_CLUSTER } from '../../domain/fence.ts';
import type { LeaseRecord, MembershipRecord, ShardOwnershipRecords } from '../../domain/shard-ownership.ts';
import type { ShardOwnershipReader } from '../../ports.ts';
import { leaseKey, leasePartitions, membershipPartition } from './fence-check.ts';
import type { Item } from './query-page.ts';

// The lease and membership items of one cluster, read from the sessions table for the operator's
// view (runner/leases/lease-table.ts writes them). Every read names the attributes it wants, and
// only these: the role that reads them may read nothing else of the table, whose other items are
// the runners' encrypted sessions (infra: `SecureTable.bindProjectedQuery`).

/** Every attribute this reader asks for, keys included: what its role may read, and no more. */
export const SHARD_OWNERSHIP_ATTRIBUTES = [
  'pk',
  'sk',
  'owner',
  'token',
  'renewals',
  'expiresAtMs',
  'beats',
  'heartbeatAtMs',
] as const;

/** The partitions it reads, as `dynamodb:LeadingKeys` patterns. */
export function shardOwnershipPartitions(cluster: string): string[] {
  return [leasePartitions(cluster), membershipPartition(cluster)];
}

export class DynamoShardOwnershipReader implements ShardOwnershipReader {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    readonly cluster: string = DEFAULT_CLUSTER,
  ) {}

  async read(shardCount: number): Promise<ShardOwnershipRecords> {
    const [leases, members] = await Promise.all([this.leases(shardCount), this.members()]);
    return { leases, members };
  }

  /**
   * One query per shard, all at once (a lease is its partition's only item): the role may then
   * query only, always naming what it reads, where a BatchGetItem has no `Select` for IAM to insist on.
   */
  private async leases(shardCount: number): Promise<LeaseRecord[]> {
    const found = await Promise.all(
      Array.from({ length: shardCount }, async (_, shard) => {
        const { Items } = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': leaseKey(shard, this.cluster).pk },
            Select: 'SPECIFIC_ATTRIBUTES',
            ProjectionExpression: 'pk, #owner, #token, renewals, expiresAtMs',
            ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
          }),
        );
        return ((Items ?? []) as Item[]).map(toLease);
      }),
    );
    return found.flat();
  }

  private async members(): Promise<MembershipRecord[]> {
    const members: MembershipRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': membershipPartition(this.cluster) },
          Select: 'SPECIFIC_ATTRIBUTES',
          ProjectionExpression: 'pk, sk, beats, heartbeatAtMs',
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of (page.Items ?? []) as Item[]) {
        members.push({
          runnerId: String(item.sk),
          beats: numberOr(item.beats, 0),
          heartbeatAtMs: numberOr(item.heartbeatAtMs, null),
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return members;
  }
}

function toLease(item: Item): LeaseRecord {
  return {
    shard: Number(String(item.pk).split('#').at(-1)),
    owner: typeof item.owner === 'string' ? item.owner : null,
    token: numberOr(item.token, 0),
    renewals: numberOr(item.renewals, 0),
    // A released lease keeps 0 here: it says nothing about any clock.
    expiresAtMs: typeof item.expiresAtMs === 'number' && item.expiresAtMs > 0 ? item.expiresAtMs : null,
  };
}

function numberOr<T>(value: unknown, fallback: T): number | T {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
