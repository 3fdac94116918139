import { describe, expect, it } from 'vitest';
import { assignShards } from '#runner/leases/shard-assignment.ts';

describe('shard assignment', () => {
  it('gives every shard to exactly one runner, the counts differing by at most one', () => {
    for (const runners of [1, 2, 3, 5, 16, 20]) {
      const ids = Array.from({ length: runners }, (_, i) => `runner-${i}`);
      const assignment = assignShards(16, ids);
      const shards = [...assignment.values()].flat().sort((a, b) => a - b);
      expect(shards).toEqual(Array.from({ length: 16 }, (_, i) => i));
      const counts = [...assignment.values()].map((owned) => owned.length);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });

  it('is the same whatever order the runners are listed in, and ignores duplicates', () => {
    expect(assignShards(8, ['b', 'a', 'c', 'a'])).toEqual(assignShards(8, ['c', 'b', 'a']));
    expect(assignShards(4, ['b', 'a']).get('a')).toEqual([0, 2]);
  });

  it('assigns nothing when no runner is alive', () => {
    expect(assignShards(4, []).size).toBe(0);
  });
});
