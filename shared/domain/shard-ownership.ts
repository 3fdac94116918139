// Who holds which shard, as the lease and membership records say (runner/leases/: items of the
// sessions table), put together for people: the operator's dashboard. Runners decide nothing from
// this view; they watch versions on their own monotonic clocks (docs/architecture.md, "One socket per
// channel, without trusting clocks"). So it keeps the clock-free counters (`beats`, `renewals`) and
// says whose clock each time comes from.

/** A shard's lease item. */
export interface LeaseRecord {
  readonly shard: number;
  /** null: free (never taken, or released). */
  readonly owner: string | null;
  /** The fencing token: grows by one at every acquisition, never reset. */
  readonly token: number;
  /** Grows at every acquisition and renewal: the version a would-be taker watches. */
  readonly renewals: number;
  /** The holder's wall clock at its last renewal, plus the TTL; no runner decides by it. */
  readonly expiresAtMs: number | null;
}

/** A runner's membership item: written at every heartbeat, deleted when the runner leaves. */
export interface MembershipRecord {
  readonly runnerId: string;
  /** Grows at every heartbeat: how others tell a live runner from a silent one. */
  readonly beats: number;
  /** The runner's wall clock at its latest heartbeat (null in items written before it was recorded). */
  readonly heartbeatAtMs: number | null;
}

export interface ShardOwnershipRecords {
  readonly leases: readonly LeaseRecord[];
  readonly members: readonly MembershipRecord[];
}

export interface HeldShard {
  readonly shard: number;
  readonly token: number;
  readonly renewals: number;
  /** By the holder's clock. */
  readonly expiresAtMs: number | null;
}

export interface RunnerOwnership {
  readonly runnerId: string;
  /**
   * False for a runner that leases still name but that is no member: it left without releasing, or
   * its membership expired (a day after its last heartbeat). Its shards go once no renewal comes.
   */
  readonly member: boolean;
  readonly beats: number | null;
  /** By the runner's own clock. */
  readonly heartbeatAtMs: number | null;
  readonly shards: readonly HeldShard[];
}

export interface ShardOwnershipOverview {
  /** Members first by id, then owners that are not members, by id. */
  readonly runners: readonly RunnerOwnership[];
  /** Shards of `0 … shardCount − 1` whose lease names no owner (or that have no lease item yet). */
  readonly unownedShards: readonly number[];
}

export function shardOwnershipOverview(
  records: ShardOwnershipRecords,
  shardCount: number,
): ShardOwnershipOverview {
  const held = new Map<string, HeldShard[]>();
  const owned = new Set<number>();
  for (const lease of [...records.leases].sort((a, b) => a.shard - b.shard)) {
    if (lease.owner === null || lease.shard < 0 || lease.shard >= shardCount) continue;
    owned.add(lease.shard);
    const { shard, token, renewals, expiresAtMs } = lease;
    held.set(lease.owner, [...(held.get(lease.owner) ?? []), { shard, token, renewals, expiresAtMs }]);
  }
  const byId = (a: { runnerId: string }, b: { runnerId: string }) => a.runnerId.localeCompare(b.runnerId);
  const members = [...records.members].sort(byId).map(
    (member): RunnerOwnership => ({
      runnerId: member.runnerId,
      member: true,
      beats: member.beats,
      heartbeatAtMs: member.heartbeatAtMs,
      shards: held.get(member.runnerId) ?? [],
    }),
  );
  const memberIds = new Set(members.map((member) => member.runnerId));
  const strangers = [...held.keys()]
    .filter((owner) => !memberIds.has(owner))
    .sort()
    .map(
      (owner): RunnerOwnership => ({
        runnerId: owner,
        member: false,
        beats: null,
        heartbeatAtMs: null,
        shards: held.get(owner) ?? [],
      }),
    );
  const unownedShards = Array.from({ length: shardCount }, (_, shard) => shard).filter(
    (shard) => !owned.has(shard),
  );
  return { runners: [...members, ...strangers], unownedShards };
}
