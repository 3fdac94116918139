import { describe, expect, it } from 'vitest';
import {
  assertTransition,
  CHANNEL_STATUSES,
  canTransition,
  shardFor,
  validateChannelName,
} from '#shared/domain/channel.ts';
import { ConflictError, ValidationError } from '#shared/domain/errors.ts';
import { newId } from '#shared/domain/ids.ts';

describe('channel status machine', () => {
  it('follows the session life: connecting, a pairing method, open, reconnecting, logged out', () => {
    const path = ['disconnected', 'connecting', 'qr', 'open', 'reconnecting', 'open', 'logged_out'] as const;
    const steps = path.slice(1).map((to, i) => [path[i] ?? 'disconnected', to] as const);
    for (const [from, to] of steps) expect(canTransition(from, to)).toBe(true);
    expect(canTransition('connecting', 'pairing_code')).toBe(true);
  });

  it('refuses jumps that skip the session, as a 409', () => {
    expect(canTransition('disconnected', 'open')).toBe(false);
    expect(canTransition('logged_out', 'open')).toBe(false);
    expect(() => assertTransition('chn_x', 'logged_out', 'open')).toThrow(ConflictError);
    try {
      assertTransition('chn_x', 'logged_out', 'open');
    } catch (error) {
      expect((error as ConflictError).code).toBe('invalid_channel_transition');
      expect((error as ConflictError).httpStatus).toBe(409);
    }
  });

  it('lets every status be left again (no dead ends)', () => {
    for (const status of CHANNEL_STATUSES) {
      expect(CHANNEL_STATUSES.some((next) => next !== status && canTransition(status, next))).toBe(true);
    }
  });
});

describe('shards', () => {
  it('assigns the same shard to the same id and spreads ids over every shard', () => {
    const ids = Array.from({ length: 1600 }, () => newId('channel'));
    const counts = new Array<number>(16).fill(0);
    for (const id of ids) {
      const shard = shardFor(id, 16);
      expect(shardFor(id, 16)).toBe(shard);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    expect(Math.min(...counts)).toBeGreaterThan(50);
    expect(Math.max(...counts)).toBeLessThan(160);
  });

  it('rejects a shard count that is not a positive integer', () => {
    expect(() => shardFor('chn_x', 0)).toThrow(RangeError);
  });
});

describe('channel names', () => {
  it('trims and bounds the name', () => {
    expect(validateChannelName('  Recepção  ')).toBe('Recepção');
    expect(() => validateChannelName('   ')).toThrow(ValidationError);
    expect(() => validateChannelName('x'.repeat(101))).toThrow(ValidationError);
  });
});
