import { performance } from 'node:perf_hooks';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaseTable, leaseCallTimeoutMs } from '#runner/leases/lease-table.ts';
import { type ReleaseReason, ShardLeaseManager } from '#runner/leases/shard-lease-manager.ts';
import { createDynamoClient } from '#shared/aws/clients.ts';
import { fenceCheck } from '#shared/aws/dynamo/fence-check.ts';
import { loadAwsConfig } from '#shared/config.ts';
import type { Fence } from '#shared/domain/fence.ts';
import { startDynamoProxy } from '../support/dynamo-proxy.ts';
import { emulatorEnvironment, platformRepositories } from '../support/platform.ts';

const { client, resources } = platformRepositories();
const TTL_MS = 15_000;

/** A lease table whose membership reads, or every call, can be made to fail, as when DynamoDB cannot be reached. */
class FlakyLeaseTable extends LeaseTable {
  failing = false;
  unreachable = false;

  private reach(): void {
    if (this.unreachable) throw new Error('DynamoDB unreachable');
  }

  override async members() {
    this.reach();
    if (this.failing) throw new Error('DynamoDB unreachable');
    return super.members();
  }

  override async acquire(...args: Parameters<LeaseTable['acquire']>) {
    this.reach();
    return super.acquire(...args);
  }

  override async observe(shardCount: number) {
    this.reach();
    return super.observe(shardCount);
  }

  override async renew(fence: Fence, now: number, ttlMs: number) {
    this.reach();
    return super.renew(fence, now, ttlMs);
  }

  override async heartbeat(runnerId: string, now: number, ttlMs: number) {
    this.reach();
    return super.heartbeat(runnerId, now, ttlMs);
  }
}

/** Each test runs its own runner cluster, so tests share the sessions table without meeting. */
function harness(shardCount: number) {
  let clock = Date.now();
  const events: { runner: string; shard: number; kind: 'acquired' | ReleaseReason; token: number }[] = [];
  const table = new FlakyLeaseTable(client, resources.sessionsTable, crypto.randomUUID());
  const runner = (runnerId: string, clockSkewMs = 0) =>
    new ShardLeaseManager({
      table,
      runnerId,
      shardCount,
      leaseTtlMs: TTL_MS,
      now: () => clock + clockSkewMs,
      monotonicNow: () => clock,
      listener: {
        onAcquired: async (fence) =>
          void events.push({ runner: runnerId, shard: fence.shard, kind: 'acquired', token: fence.token }),
        onReleased: async (fence, reason) =>
          void events.push({ runner: runnerId, shard: fence.shard, kind: reason, token: fence.token }),
      },
    });
  /** Two runners that have split the shards between them (a beat each, twice). */
  const splitPair = async () => {
    const a = runner('runner-a');
    const b = runner('runner-b');
    await a.tick();
    await b.tick();
    await a.tick();
    await b.tick();
    return { a, b };
  };
  return { runner, splitPair, events, table, advance: (ms: number) => (clock += ms) };
}

async function writeWithFence(tableName: string, fence: Fence): Promise<boolean> {
  try {
    await client.send(
      new TransactWriteCommand({
        TransactItems: [
          fenceCheck(tableName, fence),
          {
            Put: { TableName: tableName, Item: { pk: `TEST#${fence.cluster}`, sk: `WRITE#${fence.token}` } },
          },
        ],
      }),
    );
    return true;
  } catch {
    return false;
  }
}

describe('shard leases', () => {
  it('gives a lone runner every shard, each with a first token', async () => {
    const { runner } = harness(4);
    const solo = runner('runner-a');
    await solo.tick();
    expect(solo.heldShards).toEqual([0, 1, 2, 3]);
    expect([0, 1, 2, 3].map((shard) => solo.fenceOf(shard)?.token)).toEqual([1, 1, 1, 1]);
  });

  it('splits the shards fairly when a second runner joins, handing over without waiting for expiry', async () => {
    const { runner, events } = harness(16);
    const a = runner('runner-a');
    const b = runner('runner-b');
    await a.tick();
    expect(a.heldShards).toHaveLength(16);

    await b.tick(); // b joins; its shards are still a's
    expect(b.heldShards).toEqual([]);
    await a.tick(); // a sees b and hands back b's half
    await b.tick(); // b takes them
    expect(a.heldShards).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    expect(b.heldShards).toEqual([1, 3, 5, 7, 9, 11, 13, 15]);
    expect(
      events
        .filter((e) => e.kind === 'rebalance')
        .map((e) => e.shard)
        .sort((x, y) => x - y),
    ).toEqual([1, 3, 5, 7, 9, 11, 13, 15]);
    expect(b.fenceOf(1)?.token).toBe(2);
  });

  it('lets the survivor take a dead runner’s shards after the TTL, and fences the dead one out', async () => {
    const { splitPair, advance } = harness(4);
    const { a, b } = await splitPair();
    const deadFence = b.fenceOf(1) as Fence;
    expect(await writeWithFence(resources.sessionsTable, deadFence)).toBe(true);

    // b stops beating (kill -9). Before the TTL nothing moves; after it, a takes everything.
    advance(TTL_MS / 2);
    await a.tick();
    expect(a.heldShards).toEqual([0, 2]);
    advance(TTL_MS);
    await a.tick();
    expect(a.heldShards).toEqual([0, 1, 2, 3]);
    expect(a.fenceOf(1)?.token).toBe(deadFence.token + 1);

    expect(await writeWithFence(resources.sessionsTable, deadFence)).toBe(false);
    expect(await writeWithFence(resources.sessionsTable, a.fenceOf(1) as Fence)).toBe(true);
  });

  it('never trusts another runner’s clock: a lease is taken after a TTL of silence by the taker’s own', async () => {
    const { runner, advance, events } = harness(4);
    // b's clock is an hour slow: every expiry it writes is long past by a's clock.
    const a = runner('runner-a');
    const b = runner('runner-b', -3_600_000);
    await a.tick();
    await b.tick();
    await a.tick();
    await b.tick();
    expect(b.heldShards).toEqual([1, 3]);

    // b alive and renewing: however many TTLs pass, a never takes b's shards.
    for (let beat = 0; beat < 6; beat++) {
      advance(TTL_MS / 3);
      await b.tick();
      await a.tick();
    }
    expect(a.heldShards).toEqual([0, 2]);
    expect(events.filter((e) => e.runner === 'runner-b' && e.kind === 'lost')).toEqual([]);

    // b dies: a takes its shards only once it has seen them unchanged for a whole TTL.
    advance(TTL_MS - 1);
    await a.tick();
    expect(a.heldShards).toEqual([0, 2]);
    advance(2 + 250);
    await a.tick();
    expect(a.heldShards).toEqual([0, 1, 2, 3]);
  });

  it('looks again just after a silent runner’s membership expires, not up to a beat later', async () => {
    const { splitPair, advance } = harness(4);
    const { a } = await splitPair();
    await a.tick(); // a reads b's leases as b last renewed them
    const beat = TTL_MS / 3;
    expect(a.nextBalancingInMs).toBe(beat);

    // b stops beating (kill -9); a's round finds b's membership expiring within a beat.
    advance(TTL_MS - 4_000);
    await a.tick();
    expect(a.heldShards).toEqual([0, 2]);
    expect(a.nextBalancingInMs).toBe(4_000 + 250);
    advance(4_000 + 250);
    await a.tick();
    expect(a.heldShards).toEqual([0, 1, 2, 3]);
    expect(a.nextBalancingInMs).toBe(beat);
  });

  it('waits a whole beat after a balancing round that failed, not the short wait it had planned', async () => {
    const { splitPair, advance, table } = harness(4);
    const { a } = await splitPair();
    await a.tick();
    advance(TTL_MS - 4_000);
    await a.tick();
    expect(a.nextBalancingInMs).toBe(4_000 + 250);

    table.failing = true;
    await expect(a.tick()).rejects.toThrow('DynamoDB unreachable');
    expect(a.nextBalancingInMs).toBe(TTL_MS / 3);
  });

  it('tries a shard its previous owner still holds again within a second, backing off while it stays held', async () => {
    const { runner } = harness(4);
    const a = runner('runner-a');
    const b = runner('runner-b');
    await a.tick();
    const delays: number[] = [];
    for (let round = 0; round < 4; round++) {
      await b.tick(); // b's shards are still a's
      delays.push(b.nextBalancingInMs);
    }
    expect(b.heldShards).toEqual([]);
    expect(delays).toEqual([1_000, 2_000, 4_000, TTL_MS / 3]);

    await a.tick(); // a hands them over
    await b.tick();
    expect(b.heldShards).toEqual([1, 3]);
    expect(b.nextBalancingInMs).toBe(TTL_MS / 3);
  });

  it('tells a runner whose lease was taken that it lost the shard', async () => {
    const { runner, advance, events } = harness(2);
    const slow = runner('runner-a');
    const fast = runner('runner-z');
    await slow.tick();
    await fast.tick(); // z joins
    await slow.tick(); // a hands z its half
    await fast.tick(); // z takes it, and reads a's lease as a last renewed it
    const [shardOfA] = slow.heldShards;
    advance(TTL_MS + 1);
    await fast.tick(); // a silent for a TTL by z's clock: z takes a's lease too
    expect(fast.heldShards).toEqual([0, 1]);
    advance(1);
    await slow.tick();
    const lostByA = events.filter((e) => e.runner === 'runner-a' && e.kind === 'lost').map((e) => e.shard);
    expect(lostByA).toEqual([shardOfA]);
    expect(slow.heldShards).toEqual([]);

    // a is alive again, so the next beats hand it its fair share back.
    await fast.tick();
    await slow.tick();
    expect(slow.heldShards.length + fast.heldShards.length).toBe(2);
    expect(slow.heldShards).toHaveLength(1);
  });

  it('releases everything at once on shutdown so the other runner takes over on its next beat', async () => {
    const { splitPair, events } = harness(4);
    const { a, b } = await splitPair();
    await b.stop();
    expect(
      events
        .filter((e) => e.runner === 'runner-b' && e.kind === 'shutdown')
        .map((e) => e.shard)
        .sort((x, y) => x - y),
    ).toEqual([1, 3]);
    await a.tick();
    expect(a.heldShards).toEqual([0, 1, 2, 3]);
  });
});

/** Real clocks and timers, short leases: what a runner process does, sped up. */
describe('shard leases on real time', () => {
  const ttlMs = 3_000;
  const started: ShardLeaseManager[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((manager) => manager.stop().catch(() => undefined)));
  });

  function cluster(shardCount: number) {
    const name = crypto.randomUUID();
    const tables = new Map<string, FlakyLeaseTable>();
    const events: { runner: string; shard: number; kind: 'acquired' | ReleaseReason; at: number }[] = [];
    const manager = (runnerId: string, drainMs = 0, through: DynamoDBDocumentClient = client) => {
      // A table client of its own, so a test can cut one runner off.
      const table = new FlakyLeaseTable(through, resources.sessionsTable, name, leaseCallTimeoutMs(ttlMs));
      tables.set(runnerId, table);
      const leases = new ShardLeaseManager({
        table,
        runnerId,
        shardCount,
        leaseTtlMs: ttlMs,
        heartbeatMs: 1_000,
        observeEveryMs: 200,
        listener: {
          onAcquired: async (fence) =>
            void events.push({
              runner: runnerId,
              shard: fence.shard,
              kind: 'acquired',
              at: performance.now(),
            }),
          onReleased: async (fence, reason) => {
            events.push({ runner: runnerId, shard: fence.shard, kind: reason, at: performance.now() });
            if (reason === 'shutdown') await new Promise((resolve) => setTimeout(resolve, drainMs));
          },
        },
      });
      started.push(leases);
      return leases;
    };
    const cutOff = (runnerId: string) => {
      const table = tables.get(runnerId);
      if (table) table.unreachable = true;
    };
    return { cutOff, events, manager };
  }

  it('gives a shard up by its own clock before another runner can take it, when DynamoDB stops answering', async () => {
    const { cutOff, events, manager } = cluster(2);
    const a = manager('runner-a');
    a.start();
    await until(() => a.heldShards.length === 2, 'a holding both shards');
    const b = manager('runner-b');
    b.start();
    await until(() => a.heldShards.length === 1 && b.heldShards.length === 1, 'the split');
    const [shardOfA] = a.heldShards;

    cutOff('runner-a');
    await until(() => b.heldShards.length === 2, 'b taking a’s shard', 20_000);
    const expired = events.find((e) => e.runner === 'runner-a' && e.kind === 'expired');
    const taken = events.findLast(
      (e) => e.runner === 'runner-b' && e.kind === 'acquired' && e.shard === shardOfA,
    );
    expect(expired?.shard).toBe(shardOfA);
    // a stopped using it at TTL − margin after its last renewal; b took it a TTL after it last changed.
    expect((taken?.at ?? 0) - (expired?.at ?? Number.POSITIVE_INFINITY)).toBeGreaterThan(0);
    expect(a.heldShards).toEqual([]);
  }, 30_000);

  it('rides out renewals that stall: a slow call costs a round, never the lease', async () => {
    let stallNext = 0;
    const proxy = await startDynamoProxy(emulatorEnvironment().AWS_ENDPOINT_URL as string, (request) => {
      const renewal =
        request.operation === 'UpdateItem' && request.body.includes('SET expiresAtMs = :expires, renewals');
      if (renewal && stallNext > 0) {
        stallNext--;
        return 'hold';
      }
      return 'forward';
    });
    try {
      const { events, manager } = cluster(2);
      const through = createDynamoClient(
        loadAwsConfig({ ...emulatorEnvironment(), AWS_ENDPOINT_URL_DYNAMODB: proxy.url }),
      );
      const a = manager('runner-a', 0, through);
      a.start();
      await until(() => a.heldShards.length === 2, 'a holding both shards');
      // A whole round's renewals stall (each call, and its retry, until the call timeout).
      stallNext = 4;
      await until(() => stallNext === 0, 'the stalled renewals');
      await new Promise((resolve) => setTimeout(resolve, 2 * ttlMs));
      expect(events.filter((e) => e.kind === 'expired' || e.kind === 'lost')).toEqual([]);
      expect(a.heldShards).toEqual([0, 1]);
    } finally {
      proxy.dropHeld();
      await proxy.close();
    }
  }, 30_000);

  it('keeps renewing its leases through a drain longer than the TTL', async () => {
    const { events, manager } = cluster(2);
    const a = manager('runner-a', 2 * ttlMs);
    a.start();
    await until(() => a.heldShards.length === 2, 'a holding both shards');
    const b = manager('runner-b');
    b.start();
    await until(() => a.heldShards.length === 1 && b.heldShards.length === 1, 'the split');
    const drainStart = performance.now();
    const stopped = started.indexOf(a);
    started.splice(stopped, 1);
    await a.stop();
    expect(performance.now() - drainStart).toBeGreaterThan(2 * ttlMs);

    expect(
      events.filter((e) => e.runner === 'runner-a' && (e.kind === 'expired' || e.kind === 'lost')),
    ).toEqual([]);
    // b took a's shard only after a handed it over, not while a was draining it.
    await until(() => b.heldShards.length === 2, 'b taking the shard a handed over');
    const handedOverAt = drainStart + 2 * ttlMs;
    const takenByB = events.filter((e) => e.runner === 'runner-b' && e.kind === 'acquired').map((e) => e.at);
    expect(Math.max(...takenByB)).toBeGreaterThan(handedOverAt);
  }, 30_000);
});

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
