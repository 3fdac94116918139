import type { ChannelStatus } from '#shared/domain/channel.ts';
import type { Fence } from '#shared/domain/fence.ts';
import { ChannelOwnership } from './commands/channel-ownership.ts';
import type { LeaseTable } from './leases/lease-table.ts';
import { type ReleaseReason, ShardLeaseManager } from './leases/shard-lease-manager.ts';
import { Semaphore } from './semaphore.ts';
import { ShardWorker, type ShardWorkerDeps } from './shard-worker.ts';

/** What every shard worker shares, plus what the runner itself needs for its leases. */
export interface RunnerDeps extends Omit<ShardWorkerDeps, 'queueUrl' | 'limiter' | 'ownership'> {
  readonly runnerId: string;
  readonly leaseTable: LeaseTable;
  readonly leaseTtlMs: number;
  readonly commandQueueUrls: readonly string[];
  readonly maxConcurrentConnects: number;
}

/**
 * One runner process: holds its fair share of shard leases and, for each shard held, a worker with
 * the shard's sessions and command consumer. `stop()` is the SIGTERM path: stop taking commands,
 * close the sockets without logging out, release the leases at once.
 */
export class Runner {
  private readonly workers = new Map<number, ShardWorker>();
  /** Queues of released shards whose long poll is still out. */
  private readonly polling = new Set<Promise<void>>();
  private readonly leases: ShardLeaseManager;
  private readonly limiter: Semaphore;
  private readonly ownership: ChannelOwnership;
  private stopping = false;

  constructor(private readonly deps: RunnerDeps) {
    this.limiter = new Semaphore(deps.maxConcurrentConnects);
    this.ownership = new ChannelOwnership(deps.channels);
    this.leases = new ShardLeaseManager({
      table: deps.leaseTable,
      runnerId: deps.runnerId,
      shardCount: deps.commandQueueUrls.length,
      leaseTtlMs: deps.leaseTtlMs,
      listener: {
        onAcquired: (fence) => this.onAcquired(fence),
        onReleased: (fence, reason) => this.onReleased(fence, reason),
      },
      onError: (error) => deps.logger.error('lease round failed', { error: String(error) }),
    });
  }

  get heldShards(): number[] {
    return this.leases.heldShards;
  }

  sessionsByState(): Partial<Record<ChannelStatus, number>> {
    const counts: Partial<Record<ChannelStatus, number>> = {};
    for (const worker of this.workers.values()) {
      for (const session of worker.sessions) counts[session.status] = (counts[session.status] ?? 0) + 1;
    }
    return counts;
  }

  health() {
    return {
      healthy: !this.stopping,
      runnerId: this.deps.runnerId,
      shards: this.heldShards,
      sessions: this.sessionsByState(),
      connectsRunning: this.limiter.running,
      connectsQueued: this.limiter.queued,
      counters: this.deps.metrics?.totals() ?? {},
    };
  }

  start(): void {
    this.leases.start();
  }

  /** Runs one lease round now (tests and start-up use it to converge without waiting a beat). */
  tick(): Promise<void> {
    return this.leases.tick();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.leases.stop();
    // Leases are gone already; a long poll still out must end (and give back what it brought).
    await Promise.all(this.polling);
  }

  private async onAcquired(fence: Fence): Promise<void> {
    this.deps.metrics?.count('LeasesAcquired');
    this.deps.logger.info('shard acquired', { shard: fence.shard, fence: fence.token });
    const queueUrl = this.deps.commandQueueUrls[fence.shard];
    if (!queueUrl) throw new RangeError(`no command queue for shard ${fence.shard}`);
    const worker = new ShardWorker(fence, {
      ...this.deps,
      queueUrl,
      limiter: this.limiter,
      ownership: this.ownership,
      leaseConfirmed: () => this.leases.isConfirmed(fence),
    });
    this.workers.set(fence.shard, worker);
    // Restoring a shard's sessions can take a while; the lease round must not wait for it.
    worker
      .start()
      .catch((error) =>
        this.deps.logger.error('shard start failed', { shard: fence.shard, error: String(error) }),
      );
  }

  /**
   * A shard handed back (rebalance, shutdown) drains its commands, then closes its sockets. One this
   * runner can no longer prove it holds (lost, expired) closes its sockets first, at once: another
   * runner may be logging its channels in. The latter can overtake the former (DynamoDB unreachable
   * during a drain).
   */
  private async onReleased(fence: Fence, reason: ReleaseReason): Promise<void> {
    const gone = reason === 'lost' || reason === 'expired';
    this.deps.metrics?.count(gone ? 'LeasesLost' : 'LeasesReleased');
    const log = gone ? this.deps.logger.warn : this.deps.logger.info;
    log.call(this.deps.logger, 'shard released', { shard: fence.shard, fence: fence.token, reason });
    const worker = this.workers.get(fence.shard);
    if (worker?.fence !== fence) return;
    if (gone) await worker.abandon();
    else await worker.stop();
    if (this.workers.get(fence.shard) === worker) this.workers.delete(fence.shard);
    const polling = worker.finished().finally(() => this.polling.delete(polling));
    this.polling.add(polling);
  }
}
