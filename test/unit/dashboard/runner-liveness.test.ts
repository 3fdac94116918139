import { describe, expect, it } from 'vitest';
import type { Runners } from '../../../dashboard/src/api/models.ts';
import {
  LEASE_TTL_MS,
  leaseKey,
  livenessOf,
  observe,
  runnerKey,
  type Watches,
  watchCounter,
} from '../../../dashboard/src/runner-liveness.ts';

const TTL = LEASE_TTL_MS;

describe("a runner's liveness from its counter, read twice or more", () => {
  it('is not judged from one read: checking, with the verdict due a TTL after it', () => {
    const first = watchCounter(undefined, 7, 1_000);
    expect(livenessOf(first, 1_000)).toEqual({ state: 'checking', verdictInMs: TTL });
    expect(livenessOf(first, 1_000 + TTL - 1)).toEqual({ state: 'checking', verdictInMs: 1 });
  });

  it('is alive once the counter moved between two reads, and stays so while it keeps moving', () => {
    let watch = watchCounter(undefined, 7, 0);
    watch = watchCounter(watch, 8, 5_000);
    expect(livenessOf(watch, 5_000)).toEqual({ state: 'alive' });
    watch = watchCounter(watch, 8, 5_000 + TTL - 1);
    expect(livenessOf(watch, 5_000 + TTL - 1)).toEqual({ state: 'alive' });
  });

  it('is silent when the counter read the same for a whole TTL, moved before or not', () => {
    const never = watchCounter(watchCounter(undefined, 7, 0), 7, TTL);
    expect(livenessOf(never, TTL)).toEqual({ state: 'silent', forMs: TTL });
    let stopped = watchCounter(watchCounter(undefined, 7, 0), 8, 5_000);
    stopped = watchCounter(stopped, 8, 5_000 + TTL);
    expect(livenessOf(stopped, 5_000 + TTL + 2_000)).toEqual({ state: 'silent', forMs: TTL + 2_000 });
  });

  it('never calls a runner beating every TTL/3 silent, whatever the phase of the reads, and finds it alive within a beat', () => {
    for (let phase = 0; phase < 5_000; phase += 250) {
      let watch: ReturnType<typeof watchCounter> | undefined;
      let firstAlive: number | null = null;
      for (let now = phase; now < phase + 5 * TTL; now += 5_000) {
        const beats = Math.floor(now / (TTL / 3));
        watch = watchCounter(watch, beats, now);
        const liveness = livenessOf(watch, now);
        expect(liveness.state, `phase ${phase}, at ${now}`).not.toBe('silent');
        if (liveness.state === 'alive' && firstAlive === null) firstAlive = now;
      }
      expect(firstAlive, `phase ${phase}`).not.toBeNull();
      expect((firstAlive ?? 0) - phase).toBeLessThanOrEqual(TTL / 3 + 5_000);
    }
  });

  it('calls a runner that stopped beating silent no sooner than a TTL after its last beat was read, and no later than one read after', () => {
    let watch: ReturnType<typeof watchCounter> | undefined;
    const lastBeatAt = 40_000;
    let silentAt: number | null = null;
    let lastMoveReadAt = 0;
    for (let now = 0; now < 200_000 && silentAt === null; now += 5_000) {
      const beats = Math.floor(Math.min(now, lastBeatAt) / 10_000);
      const before = watch?.value;
      watch = watchCounter(watch, beats, now);
      if (before !== undefined && before !== beats) lastMoveReadAt = now;
      if (livenessOf(watch, now).state === 'silent') silentAt = now;
    }
    expect(silentAt).not.toBeNull();
    expect((silentAt ?? 0) - lastMoveReadAt).toBeGreaterThanOrEqual(TTL);
    expect((silentAt ?? 0) - lastMoveReadAt).toBeLessThan(TTL + 5_000);
  });
});

describe('watching the runners view', () => {
  const answer = (runners: Runners['runners']): Runners => ({
    cluster: 'main',
    shardCount: 4,
    observedAt: '2026-12-01T09:30:00.000Z',
    runners,
    unownedShards: [],
  });
  const lease = (shard: number, renewals: number) => ({
    shard,
    token: 1,
    renewals,
    expiresAtOwnerClock: '2026-12-01T09:30:30.000Z',
  });

  it("watches each member's beats and each lease's renewals, and forgets what left the answer", () => {
    let watches: Watches = new Map();
    watches = observe(
      watches,
      answer([
        {
          runnerId: 'a',
          member: true,
          beats: 3,
          lastHeartbeatAtRunnerClock: null,
          shards: [lease(0, 5), lease(1, 9)],
        },
        {
          runnerId: 'gone',
          member: false,
          beats: null,
          lastHeartbeatAtRunnerClock: null,
          shards: [lease(2, 4)],
        },
      ]),
      0,
    );
    expect([...watches.keys()].sort()).toEqual(
      [runnerKey('a'), leaseKey('a', 0), leaseKey('a', 1), leaseKey('gone', 2)].sort(),
    );
    watches = observe(
      watches,
      answer([
        { runnerId: 'a', member: true, beats: 4, lastHeartbeatAtRunnerClock: null, shards: [lease(0, 5)] },
        { runnerId: 'b', member: true, beats: 1, lastHeartbeatAtRunnerClock: null, shards: [lease(1, 10)] },
      ]),
      5_000,
    );
    expect(livenessOf(watches.get(runnerKey('a')) ?? fail(), 5_000).state).toBe('alive');
    expect(livenessOf(watches.get(leaseKey('a', 0)) ?? fail(), 5_000).state).toBe('checking');
    // Shard 1 changed hands: its renewals under the new holder are watched from this read on.
    expect(livenessOf(watches.get(leaseKey('b', 1)) ?? fail(), 5_000).state).toBe('checking');
    expect(watches.has(leaseKey('a', 1))).toBe(false);
    expect(watches.has(leaseKey('gone', 2))).toBe(false);
  });
});

function fail(): never {
  throw new Error('no watch');
}
