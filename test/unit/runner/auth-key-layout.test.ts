import { describe, expect, it } from 'vitest';
import {
  chunk,
  groupByBucket,
  PRE_KEYS_PER_BUCKET,
  partSk,
  preKeyBucketOf,
  preKeyBucketSk,
  sessionPk,
  splitIntoParts,
} from '#runner/auth/key-layout.ts';
import { deleteWrites, sealedWrites } from '#runner/auth/sealed-items.ts';

describe('session key layout', () => {
  it('puts a channel under one partition', () => {
    expect(sessionPk({ tenantId: 'ten_A', channelId: 'chn_1' })).toBe('SESSION#ten_A#chn_1');
  });

  it('packs Baileys’ first 812 pre-keys (ids 1–812) into 17 buckets of at most 50', () => {
    const ids = Array.from({ length: 812 }, (_, index) => String(index + 1));
    const buckets = groupByBucket(ids.map((id) => [id, id]));
    expect(PRE_KEYS_PER_BUCKET).toBe(50);
    expect([...buckets.keys()]).toEqual(Array.from({ length: 17 }, (_, bucket) => bucket));
    expect([...(buckets.get(0)?.keys() ?? [])]).toEqual(ids.slice(0, 49));
    expect(buckets.get(16)?.size).toBe(13);
    expect(Math.max(...[...buckets.values()].map((bucket) => bucket.size))).toBe(50);
    expect(preKeyBucketSk(3)).toBe('PREKEYS#000003');
  });

  it('refuses a pre-key id that is not a number', () => {
    expect(preKeyBucketOf('149')).toBe(2);
    expect(() => preKeyBucketOf('1e3')).toThrow('must be a number');
    expect(() => preKeyBucketOf('')).toThrow('must be a number');
  });

  it('chunks by count and by bytes', () => {
    const items = Array.from({ length: 250 }, (_, index) => index);
    expect(chunk(items, 99, Number.POSITIVE_INFINITY, () => 1).map((c) => c.length)).toEqual([99, 99, 52]);
    expect(chunk([3, 3, 3, 10, 1], 99, 6, (n) => n)).toEqual([[3, 3], [3], [10], [1]]);
    expect(chunk([], 99, 6, () => 1)).toEqual([]);
  });

  it('splits large sealed values into item-sized parts and deletes a shrunk value’s leftovers', () => {
    const big = Buffer.alloc(10, 1);
    expect(splitIntoParts(big, 4).map((part) => part.length)).toEqual([4, 4, 2]);
    expect(splitIntoParts(Buffer.alloc(0), 4)).toHaveLength(1);

    const large = sealedWrites('P', 'KEY#x', Buffer.alloc(800 * 1024));
    expect(large.parts).toBe(3);
    expect(large.writes.map((write) => ('put' in write ? write.put.sk : `-${write.delete.sk}`))).toEqual([
      'KEY#x',
      partSk('KEY#x', 1),
      partSk('KEY#x', 2),
    ]);
    expect(large.writes[0]).toMatchObject({ put: { sk: 'KEY#x', parts: 3 } });

    const shrunk = sealedWrites('P', 'KEY#x', Buffer.alloc(10), 3);
    expect(shrunk.writes.map((write) => ('put' in write ? write.put.sk : `-${write.delete.sk}`))).toEqual([
      'KEY#x',
      '-KEY#x#P1',
      '-KEY#x#P2',
    ]);
    expect(deleteWrites('P', 'KEY#x', 2)).toEqual([
      { delete: { pk: 'P', sk: 'KEY#x' } },
      { delete: { pk: 'P', sk: 'KEY#x#P1' } },
    ]);
  });
});
