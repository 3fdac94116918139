import { performance } from 'node:perf_hooks';
import type { Fence } from '#shared/domain/fence.ts';
import type { LeaseObservation, LeaseTable, RunnerMembership } from './lease-table.ts';
import { assignShards } from './shard-assignment.ts';

/** A shard of ours still held by its previous owner (a hand-over under way) is tried again this soon,
 * then twice as late each round it still is, up to the heartbeat interval. */
const CONTENDED_RETRY_MS = 1_000;
/** How long after a lease can be taken (or another runner's membership expires) to look again. */
const EXPIRY_MARGIN_MS = 250;

/**
 * - rebalance: handed to another runner (the split changed); shutdown: SIGTERM. The lease is
 *   released after the listener closed the shard's sessions.
 * - lost: a renewal found the lease taken. expired: no renewal was confirmed for TTL − margin
 *   (DynamoDB unreachable). Another runner may take the shard now: its sockets must close at once.
 */
export type ReleaseReason = 'rebalance' | 'shutdown' | 'lost' | 'expired';

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
  /** How often every lease is read, to time other runners' silence (default TTL/15, 0.5–2 s). */
  readonly observeEveryMs?: number;
  /** How long before its lease could be taken a runner stops using a shard it cannot renew (TTL/6). */
  readonly safetyMarginMs?: number;
  readonly listener: ShardOwnershipListener;
  /** Wall clock: only the `expiresAtMs` written for people reading the table. */
  readonly now?: () => number;
  /** Monotonic clock: every decision that keeps two runners off one shard. */
  readonly monotonicNow?: () => number;
  readonly onError?: (error: unknown) => void;
}

/**
 * Keeps this runner's fair share of shards: it heartbeats its membership and renews what it holds (a
 * failed renewal means the lease was taken: stop at once), hands back shards that now belong to
 * another runner, and takes the free or abandoned ones that belong to it.
 *
 * Timing without trusting other hosts' clocks: a holder stops using a shard (closes its sockets)
 * when `safetyMarginMs` remain of a TTL counted from the moment it *sent* its last confirmed
 * renewal; a taker takes a held lease only after reading the same version of it for a whole TTL,
 * counted from when it *first read* that version. The version was written after the holder sent
 * it and read after it was written, so the taker's TTL ends after the holder's: by the margin, with
 * both measured on monotonic clocks. Only clock *rates* matter (ppm); no wall clock is compared
 * across hosts. Writes stay fenced by the token regardless (fence.ts). Who is alive (and so how the
 * shards are split) is judged the same way: a runner whose heartbeat count has not moved for a TTL
 * by this runner's clock is gone.
 */
export class ShardLeaseManager {
  private readonly held = new Map<number, Fence>();
  /** When the last confirmed acquisition or renewal of each held shard was sent (monotonic). */
  private readonly confirmedAt = new Map<number, number>();
  private readonly deadlines = new Map<number, NodeJS.Timeout>();
  /** Each lease as last read, and since when (monotonic) it has read the same. */
  private readonly observed = new Map<number, { lease: LeaseObservation; since: number }>();
  /** Each other runner's heartbeat count as last read, and since when it has read the same. */
  private readonly heartbeats = new Map<string, { beats: number; since: number }>();
  /** Shards being handed back: a renewal refused meanwhile is the release, not a loss. */
  private readonly releasing = new Set<number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private renewing: Promise<void> | undefined;
  private balancingRound: Promise<void> | undefined;
  /** No more shards taken (SIGTERM): held ones are handed back, renewed until they are. */
  private stopping = false;
  /** The loops end. */
  private stopped = false;
  private readonly now: () => number;
  private readonly monotonicNow: () => number;
  private readonly intervalMs: number;
  private readonly observeEveryMs: number;
  private readonly safetyMarginMs: number;
  private nextBalancingDelayMs: number;
  /** Balancing rounds in a row that ended with a shard of ours held by another runner. */
  private contendedRounds = 0;

  constructor(private readonly options: ShardLeaseManagerOptions) {
    this.now = options.now ?? Date.now;
    this.monotonicNow = options.monotonicNow ?? (() => performance.now());
    this.intervalMs = options.heartbeatMs ?? Math.max(1000, Math.floor(options.leaseTtlMs / 3));
    this.observeEveryMs =
      options.observeEveryMs ?? Math.min(2_000, Math.max(500, Math.floor(options.leaseTtlMs / 15)));
    this.safetyMarginMs = options.safetyMarginMs ?? Math.floor(options.leaseTtlMs / 6);
    this.nextBalancingDelayMs = this.intervalMs;
  }

  /**
   * How long after the last balancing round the next one runs: the heartbeat interval, but sooner
   * when a lease of ours can be taken soon (its holder went silent), another runner's membership is
   * about to expire, or a shard of ours is still held by its previous owner.
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

  /** True while this runner may use the shard's sockets: held, and confirmed within TTL − margin. */
  isConfirmed(fence: Fence): boolean {
    const confirmedAt = this.confirmedAt.get(fence.shard);
    return (
      this.held.get(fence.shard) === fence &&
      confirmedAt !== undefined &&
      this.monotonicNow() < confirmedAt + this.options.leaseTtlMs - this.safetyMarginMs
    );
  }

  /**
   * Three loops: renewal (heartbeat and lease renewals) never waits for a shard's sessions, so a slow
   * hand-over cannot let this runner's other leases expire; observation reads every lease to time
   * silent holders; balancing (hand back, take over) may wait for sessions to close before it
   * releases a lease.
   */
  start(): void {
    /** Runs `round` again `delayMs` after it ended, or — `fixedRate` — after it began. */
    const loop = (
      round: () => Promise<void>,
      delayMs: () => number,
      until: () => boolean,
      fixedRate = false,
    ) => {
      const run = () => {
        if (until()) return;
        const began = this.monotonicNow();
        round()
          .catch((error) => this.options.onError?.(error))
          .finally(() => {
            if (until()) return;
            const elapsed = fixedRate ? this.monotonicNow() - began : 0;
            const timer = setTimeout(
              () => {
                this.timers.delete(timer);
                run();
              },
              Math.max(0, delayMs() - elapsed),
            );
            this.timers.add(timer);
          });
      };
      run();
    };
    // On a fixed rate: a round that stalled (a call timing out) does not push the next one back.
    loop(
      () => this.renewal(),
      () => this.intervalMs,
      () => this.stopped,
      true,
    );
    loop(
      () => this.observeLeases(),
      () => this.observeEveryMs,
      () => this.stopping,
    );
    loop(
      () => this.balancing(),
      () => this.nextBalancingDelayMs,
      () => this.stopping,
    );
  }

  /** One renewal round then one balancing round (what the loops do, on demand). */
  async tick(): Promise<void> {
    await this.renewal();
    await this.balancing();
  }

  /**
   * SIGTERM: stop taking shards, close what is held and release every lease at once, then leave.
   * Leases are still renewed while their shards drain, however long that takes.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.balancingRound?.catch(() => undefined);
    const { table, listener, runnerId } = this.options;
    await Promise.all(
      [...this.held.values()].map(async (fence) => {
        this.releasing.add(fence.shard);
        await listener.onReleased(fence, 'shutdown');
        await table.release(fence);
        this.forget(fence);
      }),
    );
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    await this.renewing?.catch(() => undefined);
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

  /**
   * Heartbeat and renewals side by side (one failing does not keep the other from being tried), each
   * renewal tried twice. A lease that cannot be renewed was taken: its sessions stop at once, without
   * holding up the round.
   */
  private async renewHeld(): Promise<void> {
    if (this.stopped) return;
    const { table, runnerId, leaseTtlMs, listener } = this.options;
    const heartbeat = table.heartbeat(runnerId, this.now(), leaseTtlMs);
    const results = await Promise.allSettled([
      heartbeat,
      ...[...this.held.values()].map(async (fence) => {
        const sentAt = this.monotonicNow();
        const renewed = await this.renewOnce(fence).catch(() => this.renewOnce(fence));
        if (this.held.get(fence.shard) !== fence) return;
        if (renewed) {
          this.confirm(fence, sentAt);
          return;
        }
        if (this.releasing.has(fence.shard)) return;
        this.forget(fence);
        listener.onReleased(fence, 'lost').catch((error) => this.options.onError?.(error));
      }),
    ]);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  /** (`confirmedAt` then counts from the first attempt's sending: earlier, so the deadline errs early.) */
  private renewOnce(fence: Fence): Promise<boolean> {
    return this.options.table.renew(fence, this.now(), this.options.leaseTtlMs);
  }

  /** The lease is ours until `sentAt` + TTL by any other runner's count: stop using it before. */
  private confirm(fence: Fence, sentAt: number): void {
    this.confirmedAt.set(fence.shard, Math.max(sentAt, this.confirmedAt.get(fence.shard) ?? sentAt));
    clearTimeout(this.deadlines.get(fence.shard));
    const until =
      (this.confirmedAt.get(fence.shard) ?? sentAt) + this.options.leaseTtlMs - this.safetyMarginMs;
    const timer = setTimeout(() => this.expire(fence), Math.max(0, until - this.monotonicNow()));
    timer.unref();
    this.deadlines.set(fence.shard, timer);
  }

  /** No renewal confirmed in time: the shard is given up here before anyone else may take it. */
  private expire(fence: Fence): void {
    if (this.held.get(fence.shard) !== fence) return;
    this.forget(fence);
    this.options.listener.onReleased(fence, 'expired').catch((error) => this.options.onError?.(error));
  }

  private forget(fence: Fence): void {
    if (this.held.get(fence.shard) !== fence) return;
    this.held.delete(fence.shard);
    this.confirmedAt.delete(fence.shard);
    this.releasing.delete(fence.shard);
    clearTimeout(this.deadlines.get(fence.shard));
    this.deadlines.delete(fence.shard);
  }

  private async observeLeases(): Promise<void> {
    const leases = await this.options.table.observe(this.options.shardCount);
    const readAt = this.monotonicNow();
    const seen = new Set<number>();
    for (const lease of leases) {
      seen.add(lease.shard);
      const previous = this.observed.get(lease.shard)?.lease;
      const same =
        previous?.owner === lease.owner &&
        previous.version === lease.version &&
        previous.token === lease.token;
      if (!same) this.observed.set(lease.shard, { lease, since: readAt });
    }
    for (const shard of this.observed.keys()) if (!seen.has(shard)) this.observed.delete(shard);
  }

  /** Free, or silent for a whole TTL by this runner's clock (then the version it must still find). */
  private takeable(shard: number): { now: true; abandoned?: LeaseObservation } | { inMs: number } {
    const observed = this.observed.get(shard);
    if (!observed?.lease.owner) return { now: true };
    const silentFor = this.monotonicNow() - observed.since;
    // Ours too, once given up: whoever takes it (this runner after a blip) waits the same TTL.
    if (silentFor >= this.options.leaseTtlMs) {
      return { now: true, abandoned: observed.lease };
    }
    return { inMs: this.options.leaseTtlMs - silentFor };
  }

  private async rebalance(): Promise<void> {
    if (this.stopping) return;
    // A round that fails (DynamoDB unreachable) is retried a beat later, never in a tight loop.
    this.nextBalancingDelayMs = this.intervalMs;
    const { table, runnerId, leaseTtlMs, listener, shardCount } = this.options;
    const others = this.liveOthers(await table.members());
    await this.observeLeases();
    const mine = new Set(
      assignShards(shardCount, [...others.map((other) => other.runnerId), runnerId]).get(runnerId),
    );

    await Promise.all(
      [...this.held.values()]
        .filter((fence) => !mine.has(fence.shard))
        .map(async (fence) => {
          this.releasing.add(fence.shard);
          await listener.onReleased(fence, 'rebalance');
          await table.release(fence);
          this.forget(fence);
        }),
    );

    const waits: number[] = [];
    await Promise.all(
      [...mine]
        .filter((shard) => !this.held.has(shard))
        .map(async (shard) => {
          if (this.stopping) return;
          const takeable = this.takeable(shard);
          if ('inMs' in takeable) {
            waits.push(takeable.inMs + EXPIRY_MARGIN_MS);
            return;
          }
          const sentAt = this.monotonicNow();
          const fence = await table.acquire(shard, runnerId, this.now(), leaseTtlMs, takeable.abandoned);
          if (!fence) return;
          this.held.set(shard, fence);
          this.confirm(fence, sentAt);
          await listener.onAcquired(fence);
        }),
    );
    const contended = [...mine].some((shard) => !this.held.has(shard));
    this.contendedRounds = contended ? this.contendedRounds + 1 : 0;
    this.nextBalancingDelayMs = Math.min(this.balancingDelay(others), ...waits);
  }

  /** The other runners heard from within a TTL, each with when it will count as gone unless heard. */
  private liveOthers(members: readonly RunnerMembership[]): { runnerId: string; goneInMs: number }[] {
    const now = this.monotonicNow();
    const live: { runnerId: string; goneInMs: number }[] = [];
    for (const { runnerId, beats } of members) {
      if (runnerId === this.options.runnerId) continue;
      const previous = this.heartbeats.get(runnerId);
      const since = previous?.beats === beats ? previous.since : now;
      this.heartbeats.set(runnerId, { beats, since });
      const goneInMs = since + this.options.leaseTtlMs - now;
      if (goneInMs > 0) live.push({ runnerId, goneInMs });
    }
    return live;
  }

  private balancingDelay(others: readonly { goneInMs: number }[]): number {
    let delay = this.intervalMs;
    if (this.contendedRounds > 0) {
      delay = Math.min(delay, CONTENDED_RETRY_MS * 2 ** (this.contendedRounds - 1));
    }
    for (const { goneInMs } of others) delay = Math.min(delay, goneInMs + EXPIRY_MARGIN_MS);
    return delay;
  }
}
