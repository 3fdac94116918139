import { describe, expect, it } from 'vitest';
import {
  acceptsCommand,
  assertTransition,
  CHANNEL_STATUSES,
  canTransition,
  isDeleted,
  shardDutyFor,
  shardFor,
  tallyChannels,
  validateChannelName,
} from '#shared/domain/channel.ts';
import { channelCommandSchema } from '#shared/domain/commands.ts';
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

describe('what a deleted channel is for the runner', () => {
  const deletedAt = '2026-11-29T10:00:00.000Z';

  it('never resumes a deleted channel, whatever its status: its deletion is finished instead', () => {
    for (const status of CHANNEL_STATUSES) {
      expect(isDeleted({ deletedAt })).toBe(true);
      expect(shardDutyFor({ status, deletedAt })).toBe('finish_deletion');
    }
  });

  it('resumes a channel that had paired, and leaves the others alone', () => {
    const duties = Object.fromEntries(
      CHANNEL_STATUSES.map((status) => [status, shardDutyFor({ status, deletedAt: null })]),
    );
    expect(duties).toEqual({
      disconnected: 'none',
      connecting: 'resume',
      qr: 'none',
      pairing_code: 'none',
      open: 'resume',
      reconnecting: 'resume',
      logged_out: 'none',
      failed: 'resume',
    });
  });

  it('takes only the delete command for a deleted channel, any command for another', () => {
    const types = channelCommandSchema.options.map((option) => option.shape.type.value);
    expect(types.filter((type) => acceptsCommand({ deletedAt }, type))).toEqual(['delete']);
    expect(types.filter((type) => acceptsCommand({ deletedAt: null }, type))).toEqual(types);
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

describe('channel counts', () => {
  it('counts per tenant and status, by tenant and then in the status machine’s order', () => {
    expect(
      tallyChannels([
        { tenantId: 'ten_B', status: 'open' },
        { tenantId: 'ten_A', status: 'open' },
        { tenantId: 'ten_A', status: 'disconnected' },
        { tenantId: 'ten_A', status: 'open' },
        { tenantId: 'ten_B', status: 'qr' },
      ]),
    ).toEqual([
      { tenantId: 'ten_A', status: 'disconnected', count: 1 },
      { tenantId: 'ten_A', status: 'open', count: 2 },
      { tenantId: 'ten_B', status: 'qr', count: 1 },
      { tenantId: 'ten_B', status: 'open', count: 1 },
    ]);
    expect(tallyChannels([])).toEqual([]);
  });
});
