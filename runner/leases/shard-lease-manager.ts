import type { Fence } from './fence.ts';
import type { LeaseTable } from './lease-table.ts';
import { assignShards } from './shard-assignment.ts';

export type ReleaseReason = 'rebalance' | 'shutdown' | 'lost';

/** What the runner does when it gains or loses a shard: start its sessions and queue, or stop them. */
export interface ShardOwnershipListener {
  onAcquired(fence: Fence): Promise<void>;
  /** Called before a voluntary release (sessions must be closed when it resolves) and after a loss. */
  onReleased(fence: Fence, reason: ReleaseReason): Promise<void>;
}

export interface ShardLeaseManagerOptions {
  readonly table: LeaseTable;
  readonly runnerId: string;
  readonly shardCount: number;
  readonly leaseTtlMs: number;
  /** How often `tick` runs when started; well under the TTL so one missed beat costs nothing. */
  readonly heartbeatMs?: number;
  readonly listener: ShardOwnershipListener;
  readonly now?: () => number;
  readonly onError?: (error: unknown) => void;
}

/**
 * Keeps this runner's fair share of shards: each tick it heartbeats its membership, renews what it
 * holds (a failed renewal means the lease was taken: stop at once), hands back shards that now belong
 * to another runner, and takes the free or expired ones that belong to it.
 */
export class ShardLeaseManager {
  private readonly held = new Map<number, Fence>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: ShardLeaseManagerOptions) {
    this.now = options.now ?? Date.now;
  }

  get heldShards(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  fenceOf(shard: number): Fence | undefined {
    return this.held.get(shard);
  }

  start(): void {
    const interval = this.options.heartbeatMs ?? Math.max(1000, Math.floor(this.options.leaseTtlMs / 3));
    const run = () => {
      if (this.stopped) return;
      this.tick()
        .catch((error) => this.options.onError?.(error))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(run, interval);
        });
    };
    run();
  }

  /** One round of heartbeat, renewal, release and acquisition; ticks never overlap. */
  tick(): Promise<void> {
    this.ticking ??= this.runTick().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** SIGTERM: stop taking shards, close what is held, release every lease at once, leave. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking?.catch(() => undefined);
    const { table, listener, runnerId } = this.options;
    await Promise.all(
      [...this.held.values()].map(async (fence) => {
        await listener.onReleased(fence, 'shutdown');
        await table.release(fence);
        this.held.delete(fence.shard);
      }),
    );
    await table.leave(runnerId);
  }

  private async runTick(): Promise<void> {
    if (this.stopped) return;
    const { table, runnerId, leaseTtlMs, listener, shardCount } = this.options;
    await table.heartbeat(runnerId, this.now(), leaseTtlMs);

    await Promise.all(
      [...this.held.values()].map(async (fence) => {
        if (await table.renew(fence, this.now(), leaseTtlMs)) return;
        this.held.delete(fence.shard);
        await listener.onReleased(fence, 'lost');
      }),
    );

    const runners = await table.liveRunners(this.now());
    const mine = new Set(assignShards(shardCount, [...runners, runnerId]).get(runnerId));

    await Promise.all(
      [...this.held.values()]
        .filter((fence) => !mine.has(fence.shard))
        .map(async (fence) => {
          await listener.onReleased(fence, 'rebalance');
          await table.release(fence);
          this.held.delete(fence.shard);
        }),
    );

    await Promise.all(
      [...mine]
        .filter((shard) => !this.held.has(shard))
        .map(async (shard) => {
          if (this.stopped) return;
          const fence = await table.acquire(shard, runnerId, this.now(), leaseTtlMs);
          if (!fence) return;
          this.held.set(shard, fence);
          await listener.onAcquired(fence);
        }),
    );
  }
}
