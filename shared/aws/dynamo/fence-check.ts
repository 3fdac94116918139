// The DynamoDB form of a fence: the lease item a write's transaction checks. Leases live in the
// sessions table (runner/leases/lease-table.ts); a platform-table write that carries a fence checks
// it there, in the same transaction.
import { DEFAULT_CLUSTER, type Fence } from '../../domain/fence.ts';

export const leaseKey = (shard: number, cluster: string = DEFAULT_CLUSTER) => ({
  pk: `LEASE#${cluster}#${shard}`,
  sk: 'LEASE',
});

/** Every lease partition of a cluster, as a `dynamodb:LeadingKeys` pattern. */
export const leasePartitions = (cluster: string = DEFAULT_CLUSTER): string => `LEASE#${cluster}#*`;

/** The partition of a cluster's runner memberships (sort key: the runner's id), beside its leases. */
export const membershipPartition = (cluster: string = DEFAULT_CLUSTER): string => `RUNNERS#${cluster}`;

/** A TransactWriteItems entry that fails the whole transaction unless `fence` is still current. */
export function fenceCheck(leaseTableName: string, fence: Fence) {
  return {
    ConditionCheck: {
      TableName: leaseTableName,
      Key: leaseKey(fence.shard, fence.cluster),
      ConditionExpression: '#owner = :owner AND #token = :token',
      ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
      ExpressionAttributeValues: { ':owner': fence.owner, ':token': fence.token },
    },
  };
}
