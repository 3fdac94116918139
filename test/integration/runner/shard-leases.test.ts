import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { type Fence, fenceCheck } from '#runner/leases/fence.ts';
import { LeaseTable } from '#runner/leases/lease-table.ts';
import { type ReleaseReason, ShardLeaseManager } from '#runner/leases/shard-lease-manager.ts';
import { platformRepositories } from '../support/platform.ts';

const { client, resources } = platformRepositories();
const TTL_MS = 15_000;

/** Lease table whose membership reads can be made to fail, as when DynamoDB cannot be reached. */
class FlakyLeaseTable extends LeaseTable {
  failing = false;

  override async liveRunners(now: number) {
    if (this.failing) throw new Error('DynamoDB unreachable');
    return super.liveRunners(now);
  }
}

/** Each test runs its own runner cluster, so tests share the sessions table without meeting. */
function harness(shardCount: number) {
  let clock = Date.now();
  const events: { runner: string; shard: number; kind: 'acquired' | ReleaseReason; token: number }[] = [];
  const table = new FlakyLeaseTable(client, resources.sessionsTable, crypto.randomUUID());
  const runner = (runnerId: string) =>
    new ShardLeaseManager({
      table,
      runnerId,
      shardCount,
      leaseTtlMs: TTL_MS,
      now: () => clock,
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

  it('looks again just after a silent runner’s membership expires, not up to a beat later', async () => {
    const { splitPair, advance } = harness(4);
    const { a } = await splitPair();
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
    await slow.tick();
    advance(TTL_MS + 1);
    const fast = runner('runner-z');
    await fast.tick(); // a looks dead (no heartbeat within the TTL): z takes both expired leases
    expect(fast.heldShards).toEqual([0, 1]);
    advance(1);
    await slow.tick();
    const lostByA = events.filter((e) => e.runner === 'runner-a' && e.kind === 'lost').map((e) => e.shard);
    expect(lostByA.sort()).toEqual([0, 1]);
    expect(slow.heldShards).toEqual([]);

    // a is alive again, so the next beats hand it its fair share back.
    await fast.tick();
    await slow.tick();
    expect(slow.heldShards).toEqual([0]);
    expect(fast.heldShards).toEqual([1]);
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
