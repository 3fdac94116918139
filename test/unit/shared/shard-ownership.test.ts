import { describe, expect, it } from 'vitest';
import { type LeaseRecord, shardOwnershipOverview } from '#shared/domain/shard-ownership.ts';

const lease = (shard: number, owner: string | null, token = 1, renewals = 5): LeaseRecord => ({
  shard,
  owner,
  token,
  renewals,
  expiresAtMs: owner === null ? null : 1_700_000_030_000 + shard,
});

describe('the shard ownership overview', () => {
  it('lists each member with the shards its leases name, and the shards nobody holds', () => {
    const overview = shardOwnershipOverview(
      {
        leases: [
          lease(3, 'runner-b', 7, 40),
          lease(0, 'runner-a'),
          lease(1, null, 2),
          lease(2, 'runner-a', 3),
        ],
        members: [
          { runnerId: 'runner-b', beats: 12, heartbeatAtMs: 1_700_000_000_000 },
          { runnerId: 'runner-a', beats: 30, heartbeatAtMs: null },
        ],
      },
      6,
    );
    expect(overview).toEqual({
      runners: [
        {
          runnerId: 'runner-a',
          member: true,
          beats: 30,
          heartbeatAtMs: null,
          shards: [
            { shard: 0, token: 1, renewals: 5, expiresAtMs: 1_700_000_030_000 },
            { shard: 2, token: 3, renewals: 5, expiresAtMs: 1_700_000_030_002 },
          ],
        },
        {
          runnerId: 'runner-b',
          member: true,
          beats: 12,
          heartbeatAtMs: 1_700_000_000_000,
          shards: [{ shard: 3, token: 7, renewals: 40, expiresAtMs: 1_700_000_030_003 }],
        },
      ],
      // 1 was released (its lease names nobody), 4 and 5 were never taken (no lease item).
      unownedShards: [1, 4, 5],
    });
  });

  it('shows an owner that is no member (it left without releasing) after the members, without counters', () => {
    const overview = shardOwnershipOverview(
      {
        leases: [lease(0, 'gone'), lease(1, 'alive')],
        members: [{ runnerId: 'alive', beats: 1, heartbeatAtMs: 1 }],
      },
      2,
    );
    expect(overview.runners.map(({ runnerId, member, beats }) => ({ runnerId, member, beats }))).toEqual([
      { runnerId: 'alive', member: true, beats: 1 },
      { runnerId: 'gone', member: false, beats: null },
    ]);
    expect(overview.runners[1]?.shards.map((held) => held.shard)).toEqual([0]);
    expect(overview.unownedShards).toEqual([]);
  });

  it('lists a member that holds nothing, and every shard as unowned when no runner runs', () => {
    expect(
      shardOwnershipOverview({ leases: [], members: [{ runnerId: 'new', beats: 1, heartbeatAtMs: 5 }] }, 3),
    ).toEqual({
      runners: [{ runnerId: 'new', member: true, beats: 1, heartbeatAtMs: 5, shards: [] }],
      unownedShards: [0, 1, 2],
    });
  });

  it('ignores a lease outside the shard count', () => {
    expect(shardOwnershipOverview({ leases: [lease(9, 'x')], members: [] }, 2)).toEqual({
      runners: [],
      unownedShards: [0, 1],
    });
  });
});
