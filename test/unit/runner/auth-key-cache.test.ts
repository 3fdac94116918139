import { describe, expect, it } from 'vitest';
import { ExpiringKeyCache } from '#runner/auth/key-cache.ts';
import { assembleSealed, CorruptSessionError } from '#runner/auth/sealed-items.ts';
import { SessionTable, type StoredItem } from '#runner/auth/session-table.ts';

describe('key cache', () => {
  it('forgets entries after the TTL and on flush', () => {
    let now = 0;
    const cache = new ExpiringKeyCache(1_000, () => now);
    cache.set('session.a', 'A');
    cache.set('session.b', null);
    expect(cache.get('session.a')).toBe('A');
    expect(cache.get('session.b')).toBeNull();
    now = 999;
    expect(cache.get('session.a')).toBe('A');
    now = 1_000;
    expect(cache.get('session.a')).toBeUndefined();
    cache.set('session.c', 'C');
    cache.flushAll();
    expect(cache.get('session.c')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('sweeps expired entries as it grows', () => {
    let now = 0;
    const cache = new ExpiringKeyCache(10, () => now);
    for (let index = 0; index < 999; index++) cache.set(`old.${index}`, index);
    now = 20;
    cache.set('new.0', 0);
    expect(cache.size).toBe(1);
  });
});

describe('assembling values stored in parts', () => {
  it('joins the parts in order, and reports a value missing a part without failing the others', async () => {
    const item = (sk: string, v: number[], parts?: number): [string, StoredItem] => [
      SessionTable.keyOf({ pk: 'P', sk }),
      { pk: 'P', sk, v: Buffer.from(v), ...(parts ? { parts } : {}) },
    ];
    const stored = new Map([item('A#P1', [2]), item('A#P2', [3]), item('B#P1', [5])]);
    const table = { getMany: async () => stored } as unknown as SessionTable;
    const values = await assembleSealed(
      table,
      new Map([item('A', [1], 3), item('B', [4], 3), item('C', [6])]),
    );
    expect(values.get(SessionTable.keyOf({ pk: 'P', sk: 'A' }))).toEqual({
      sealed: Buffer.from([1, 2, 3]),
      parts: 3,
    });
    expect(values.get(SessionTable.keyOf({ pk: 'P', sk: 'B' }))).toBeInstanceOf(CorruptSessionError);
    expect(values.get(SessionTable.keyOf({ pk: 'P', sk: 'C' }))).toEqual({
      sealed: Buffer.from([6]),
      parts: 1,
    });
  });
});
