// Fencing: a runner may write a channel's session state only while it holds the lease of the
// channel's shard. The lease item's token grows by one at every acquisition and is never reset, so
// a runner that lost its lease (paused, partitioned, presumed dead) carries an old token and every
// write it attempts fails — no clock involved.

export interface Fence {
  /** Runners of one cluster share the shards; absent means the default cluster. */
  readonly cluster?: string;
  readonly shard: number;
  /** The runner holding the lease. */
  readonly owner: string;
  /** The lease's token at acquisition. */
  readonly token: number;
}

export const DEFAULT_CLUSTER = 'main';

export const leaseKey = (shard: number, cluster: string = DEFAULT_CLUSTER) => ({
  pk: `LEASE#${cluster}#${shard}`,
  sk: 'LEASE',
});

/** A TransactWriteItems entry that fails the whole transaction unless `fence` is still current. */
export function fenceCheck(tableName: string, fence: Fence) {
  return {
    ConditionCheck: {
      TableName: tableName,
      Key: leaseKey(fence.shard, fence.cluster),
      ConditionExpression: '#owner = :owner AND #token = :token',
      ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
      ExpressionAttributeValues: { ':owner': fence.owner, ':token': fence.token },
    },
  };
}

export class StaleFenceError extends Error {
  constructor(readonly fence: Fence) {
    super(`Runner ${fence.owner} no longer holds shard ${fence.shard} at token ${fence.token}`);
    this.name = 'StaleFenceError';
  }
}
