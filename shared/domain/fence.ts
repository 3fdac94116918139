// Fencing: the right to write for a shard's channels belongs to the runner holding the shard's
// lease, at the lease's current token. The token grows by one at every acquisition and is never
// reset, so a runner that lost its lease (paused, partitioned, presumed dead) carries an old token,
// and every write it attempts with it is refused — no clock involved. Adapters check the fence in
// the same transaction as the write (shared/aws/dynamo/fence-check.ts).

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

/** A write refused because `fence` is no longer current: its runner lost the shard. */
export class StaleFenceError extends Error {
  constructor(readonly fence: Fence) {
    super(`Runner ${fence.owner} no longer holds shard ${fence.shard} at token ${fence.token}`);
    this.name = 'StaleFenceError';
  }
}
