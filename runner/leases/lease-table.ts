import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { queryAll } from '#shared/aws/dynamo/query-all.ts';
import { DEFAULT_CLUSTER, type Fence, leaseKey } from './fence.ts';

// The DynamoDB side of shard ownership, in the sessions table (runner-only). Lease items are never
// deleted, so their token only ever grows. Membership items say which runners are alive.

export interface RunnerMembership {
  readonly runnerId: string;
  readonly expiresAtMs: number;
}

export class LeaseTable {
  private readonly membersPartition: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Separate clusters (e.g. test suites sharing a table) never see each other's leases. */
    readonly cluster: string = DEFAULT_CLUSTER,
  ) {
    this.membersPartition = `RUNNERS#${cluster}`;
  }

  /** Takes the lease when it is free, released or expired; returns the new fence, or null. */
  async acquire(shard: number, owner: string, now: number, ttlMs: number): Promise<Fence | null> {
    return ifConditionHolds(async () => {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: leaseKey(shard, this.cluster),
          UpdateExpression:
            'SET #owner = :owner, #token = if_not_exists(#token, :zero) + :one, expiresAtMs = :expires, #shard = :shard',
          ConditionExpression: 'attribute_not_exists(#owner) OR expiresAtMs < :now',
          ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token', '#shard': 'shard' },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':zero': 0,
            ':one': 1,
            ':expires': now + ttlMs,
            ':now': now,
            ':shard': shard,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { cluster: this.cluster, shard, owner, token: result.Attributes?.token as number };
    });
  }

  /** Extends a held lease; false when the fence is no longer current (the lease was lost). */
  async renew(fence: Fence, now: number, ttlMs: number): Promise<boolean> {
    const renewed = await ifConditionHolds(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: leaseKey(fence.shard, this.cluster),
          UpdateExpression: 'SET expiresAtMs = :expires',
          ConditionExpression: '#owner = :owner AND #token = :token',
          ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
          ExpressionAttributeValues: {
            ':owner': fence.owner,
            ':token': fence.token,
            ':expires': now + ttlMs,
          },
        }),
      ),
    );
    return renewed !== null;
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
      ),
    );
  }

  async heartbeat(runnerId: string, now: number, ttlMs: number): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: this.membersPartition,
          sk: runnerId,
          expiresAtMs: now + ttlMs,
          // Lets DynamoDB's TTL sweep members that died long ago.
          expiresAt: Math.ceil((now + 24 * 3600_000) / 1000),
        },
      }),
    );
  }

  async leave(runnerId: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: this.membersPartition, sk: runnerId } }),
    );
  }

  /** The runners whose membership has not expired, each with the time it expires unless renewed. */
  async liveRunners(now: number): Promise<RunnerMembership[]> {
    const members = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: 'expiresAtMs >= :now',
      ExpressionAttributeValues: { ':pk': this.membersPartition, ':now': now },
      ConsistentRead: true,
    });
    return members.map((member) => ({
      runnerId: member.sk as string,
      expiresAtMs: member.expiresAtMs as number,
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
