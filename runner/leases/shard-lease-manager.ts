import type { Fence } from './fence.ts';
import type { LeaseTable, RunnerMembership } from './lease-table.ts';
import { assignShards } from './shard-assignment.ts';

/** A shard of ours still held by its previous owner (a hand-over under way) is tried again this soon,
 * then twice as late each round it still is, up to the heartbeat interval. */
const CONTENDED_RETRY_MS = 1_000;
/** How long after another runner's membership expires to look again: its leases, renewed just after
 * its heartbeat, have expired by then too. */
const EXPIRY_MARGIN_MS = 250;

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
  /** How often renewals (and, unless sooner helps, balancing) run when started; well under the TTL
   * so one missed beat costs nothing. */
  readonly heartbeatMs?: number;
  readonly listener: ShardOwnershipListener;
  readonly now?: () => number;
  readonly onError?: (error: unknown) => void;
}

/**
 * Keeps this runner's fair share of shards: it heartbeats its membership and renews what it holds (a
 * failed renewal means the lease was taken: stop at once), hands back shards that now belong to
 * another runner, and takes the free or expired ones that belong to it.
 */
export class ShardLeaseManager {
  private readonly held = new Map<number, Fence>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private renewing: Promise<void> | undefined;
  private balancingRound: Promise<void> | undefined;
  private stopped = false;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private nextBalancingDelayMs: number;
  /** Balancing rounds in a row that ended with a shard of ours held by another runner. */
  private contendedRounds = 0;

  constructor(private readonly options: ShardLeaseManagerOptions) {
    this.now = options.now ?? Date.now;
    this.intervalMs = options.heartbeatMs ?? Math.max(1000, Math.floor(options.leaseTtlMs / 3));
    this.nextBalancingDelayMs = this.intervalMs;
  }

  /**
   * How long after the last balancing round the next one runs: the heartbeat interval, but sooner
   * when another runner's membership is about to expire (a dead runner's shards are taken right after
   * its TTL, not up to an interval later) or a shard of ours is still held by its previous owner.
   */
  get nextBalancingInMs(): number {
    return this.nextBalancingDelayMs;
  }

  get heldShards(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  fenceOf(shard: number): Fence | undefined {
    return this.held.get(shard);
  }

  /**
   * Two loops: renewal (heartbeat and lease renewals) never waits for a shard's sessions, so a slow
   * hand-over cannot let this runner's other leases expire; balancing (hand back, take over) may wait
   * for sessions to close before it releases a lease.
   */
  start(): void {
    const loop = (round: () => Promise<void>, delayMs: () => number) => {
      const run = () => {
        if (this.stopped) return;
        round()
          .catch((error) => this.options.onError?.(error))
          .finally(() => {
            if (this.stopped) return;
            const timer = setTimeout(() => {
              this.timers.delete(timer);
              run();
            }, delayMs());
            this.timers.add(timer);
          });
      };
      run();
    };
    loop(
      () => this.renewal(),
      () => this.intervalMs,
    );
    loop(
      () => this.balancing(),
      () => this.nextBalancingDelayMs,
    );
  }

  /** One renewal round then one balancing round (what the loops do, on demand). */
  async tick(): Promise<void> {
    await this.renewal();
    await this.balancing();
  }

  /** SIGTERM: stop taking shards, close what is held, release every lease at once, leave. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.all([this.renewing, this.balancingRound].map((round) => round?.catch(() => undefined)));
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

  private renewal(): Promise<void> {
    this.renewing ??= this.renewHeld().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private balancing(): Promise<void> {
    this.balancingRound ??= this.rebalance().finally(() => {
      this.balancingRound = undefined;
    });
    return this.balancingRound;
  }

  /** A lease that cannot be renewed was taken: its sessions stop at once, without holding up the round. */
  private async renewHeld(): Promise<void> {
    if (this.stopped) return;
    const { table, runnerId, leaseTtlMs, listener } = this.options;
    await table.heartbeat(runnerId, this.now(), leaseTtlMs);
    await Promise.all(
      [...this.held.values()].map(async (fence) => {
        if (await table.renew(fence, this.now(), leaseTtlMs)) return;
        if (this.held.get(fence.shard) !== fence) return;
        this.held.delete(fence.shard);
        listener.onReleased(fence, 'lost').catch((error) => this.options.onError?.(error));
      }),
    );
  }

  private async rebalance(): Promise<void> {
    if (this.stopped) return;
    // A round that fails (DynamoDB unreachable) is retried a beat later, never in a tight loop.
    this.nextBalancingDelayMs = this.intervalMs;
    const { table, runnerId, leaseTtlMs, listener, shardCount } = this.options;
    const members = await table.liveRunners(this.now());
    const others = members.filter((member) => member.runnerId !== runnerId);
    const mine = new Set(
      assignShards(shardCount, [...others.map((member) => member.runnerId), runnerId]).get(runnerId),
    );

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
    const contended = [...mine].some((shard) => !this.held.has(shard));
    this.contendedRounds = contended ? this.contendedRounds + 1 : 0;
    this.nextBalancingDelayMs = this.balancingDelay(others);
  }

  private balancingDelay(others: readonly RunnerMembership[]): number {
    let delay = this.intervalMs;
    if (this.contendedRounds > 0) {
      delay = Math.min(delay, CONTENDED_RETRY_MS * 2 ** (this.contendedRounds - 1));
    }
    for (const { expiresAtMs } of others) {
      delay = Math.min(delay, Math.max(0, expiresAtMs - this.now()) + EXPIRY_MARGIN_MS);
    }
    return delay;
  }
}
