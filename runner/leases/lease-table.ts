import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { leaseKey, membershipPartition } from '#shared/aws/dynamo/fence-check.ts';
import { queryAll } from '#shared/aws/dynamo/query-all.ts';
import { DEFAULT_CLUSTER, type Fence } from '#shared/domain/fence.ts';

// The DynamoDB side of shard ownership, in the sessions table (runner-only). Lease items are never
// deleted, so their token only ever grows. Membership items say which runners are alive.
//
// No runner compares its clock with another's: every heartbeat adds one to a membership's `beats`,
// every acquisition and renewal one to the lease's `renewals`: versions the others watch. A runner takes a held lease only after it has seen the
// same version for a whole TTL by its own monotonic clock (ShardLeaseManager), and only if it is
// still that version when it writes. `expiresAtMs` (the holder's clock + TTL) is kept for people
// reading the table; no decision uses it.

/** A lease as another runner last read it. */
export interface LeaseObservation {
  readonly shard: number;
  /** Absent: free (never taken, or released). */
  readonly owner: string | null;
  readonly token: number;
  /** `renewals`: changes at every renewal, the version a taker must find unchanged. */
  readonly version: number;
}

/** How long one lease call may take by default: a call hanging on a lost route must not hold a round. */
const DEFAULT_CALL_TIMEOUT_MS = 5_000;

/**
 * The call timeout for a lease TTL: a renewal is tried twice within one beat (TTL/3), so a stalled
 * call costs that round at most, never the lease.
 */
export function leaseCallTimeoutMs(leaseTtlMs: number): number {
  return Math.min(DEFAULT_CALL_TIMEOUT_MS, Math.floor(leaseTtlMs / 6));
}

export interface RunnerMembership {
  readonly runnerId: string;
  /** Grows at every heartbeat: the version others watch to tell a live runner from a silent one. */
  readonly beats: number;
}

export class LeaseTable {
  private readonly membersPartition: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Separate clusters (e.g. test suites sharing a table) never see each other's leases. */
    readonly cluster: string = DEFAULT_CLUSTER,
    /** Per call; the lease manager keeps it under half its beat, so a stalled call costs one round. */
    private readonly callTimeoutMs: number = DEFAULT_CALL_TIMEOUT_MS,
  ) {
    this.membersPartition = membershipPartition(cluster);
  }

  private get deadline() {
    return { abortSignal: AbortSignal.timeout(this.callTimeoutMs) };
  }

  /**
   * Takes the lease when it is free, or when it is still exactly as `abandoned` saw it (its holder
   * stopped renewing); returns the new fence, or null.
   */
  async acquire(
    shard: number,
    owner: string,
    now: number,
    ttlMs: number,
    abandoned?: LeaseObservation,
  ): Promise<Fence | null> {
    const unchanged = abandoned?.owner
      ? {
          condition: ' OR (#owner = :seenOwner AND renewals = :seenVersion)',
          values: { ':seenOwner': abandoned.owner, ':seenVersion': abandoned.version },
        }
      : { condition: '', values: {} };
    const taken = await ifConditionHolds(async () => {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: leaseKey(shard, this.cluster),
          UpdateExpression:
            'SET #owner = :owner, #token = if_not_exists(#token, :zero) + :one, renewals = if_not_exists(renewals, :zero) + :one, expiresAtMs = :expires, #shard = :shard',
          ConditionExpression: `attribute_not_exists(#owner)${unchanged.condition}`,
          ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token', '#shard': 'shard' },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':zero': 0,
            ':one': 1,
            ':expires': now + ttlMs,
            ':shard': shard,
            ...unchanged.values,
          },
          ReturnValues: 'ALL_NEW',
        }),
        this.deadline,
      );
      return { cluster: this.cluster, shard, owner, token: result.Attributes?.token as number };
    });
    return taken ?? this.ownedAlready(shard, owner);
  }

  /**
   * The lease if it names `owner` (unique to its process): a take whose answer was lost, and which
   * the SDK's retry then found already done, is this runner's all the same.
   */
  private async ownedAlready(shard: number, owner: string): Promise<Fence | null> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: leaseKey(shard, this.cluster), ConsistentRead: true }),
      this.deadline,
    );
    return Item?.owner === owner
      ? { cluster: this.cluster, shard, owner, token: Item.token as number }
      : null;
  }

  /**
   * Extends a held lease (a new version for the others to watch); false when the fence is no longer
   * current (the lease was lost). Throws when DynamoDB does not answer: the lease is then unconfirmed.
   */
  async renew(fence: Fence, now: number, ttlMs: number): Promise<boolean> {
    const renewed = await ifConditionHolds(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: leaseKey(fence.shard, this.cluster),
          UpdateExpression: 'SET expiresAtMs = :expires, renewals = if_not_exists(renewals, :zero) + :one',
          ConditionExpression: '#owner = :owner AND #token = :token',
          ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
          ExpressionAttributeValues: {
            ':owner': fence.owner,
            ':token': fence.token,
            ':expires': now + ttlMs,
            ':zero': 0,
            ':one': 1,
          },
        }),
        this.deadline,
      ),
    );
    return renewed !== null;
  }

  /** Every lease of the cluster's shards as it is now (free ones included). */
  async observe(shardCount: number): Promise<LeaseObservation[]> {
    const observed: LeaseObservation[] = [];
    for (let first = 0; first < shardCount; first += 100) {
      const shards = Array.from({ length: Math.min(100, shardCount - first) }, (_, i) => first + i);
      let keys: Record<string, unknown>[] | undefined = shards.map((shard) => leaseKey(shard, this.cluster));
      while (keys && keys.length > 0) {
        const result: BatchGetCommandOutput = await this.client.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
          this.deadline,
        );
        for (const item of result.Responses?.[this.tableName] ?? []) {
          observed.push({
            shard: Number(String(item.pk).split('#').at(-1)),
            owner: (item.owner as string | undefined) ?? null,
            token: (item.token as number | undefined) ?? 0,
            version: (item.renewals as number | undefined) ?? 0,
          });
        }
        keys = result.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return observed.sort((a, b) => a.shard - b.shard);
  }

  /** Gives the lease up at once, keeping its token; a no-op when it was already lost. */
  async release(fence: Fence): Promise<void> {
    await ifConditionHolds(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: leaseKey(fence.shard, this.cluster),
          UpdateExpression: 'REMOVE #owner SET expiresAtMs = :zero',
          ConditionExpression: '#owner = :owner AND #token = :token',
          ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
          ExpressionAttributeValues: { ':owner': fence.owner, ':token': fence.token, ':zero': 0 },
        }),
        this.deadline,
      ),
    );
  }

  async heartbeat(runnerId: string, now: number, ttlMs: number): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: this.membersPartition, sk: runnerId },
        UpdateExpression:
          'SET beats = if_not_exists(beats, :zero) + :one, heartbeatAtMs = :now, expiresAtMs = :expires, expiresAt = :sweep',
        ExpressionAttributeValues: {
          ':zero': 0,
          ':one': 1,
          // Both for people reading the table (the operator's view of runners): no runner compares
          // another's clock with its own.
          ':now': now,
          ':expires': now + ttlMs,
          // Lets DynamoDB's TTL sweep members that died long ago.
          ':sweep': Math.ceil((now + 24 * 3600_000) / 1000),
        },
      }),
      this.deadline,
    );
  }

  async leave(runnerId: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: this.membersPartition, sk: runnerId } }),
      this.deadline,
    );
  }

  /** Every runner that joined and did not leave, with its heartbeat count (the dead ones too). */
  async members(): Promise<RunnerMembership[]> {
    const members = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': this.membersPartition },
      ConsistentRead: true,
    });
    return members.map((member) => ({
      runnerId: member.sk as string,
      beats: (member.beats as number | undefined) ?? 0,
    }));
  }
}

async function ifConditionHolds<T>(write: () => Promise<T>): Promise<T | null> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return null;
    throw error;
  }
}
