import { describe, expect, it } from 'vitest';
import { ChannelOwnership } from '#runner/commands/channel-ownership.ts';
import type { Channel } from '#shared/domain/channel.ts';
import type { ChannelRepository } from '#shared/ports.ts';

const channel: Channel = {
  id: 'chn_01KB0000000000000000000000',
  tenantId: 'ten_01KB0000000000000000000000',
  name: 'Recepção',
  status: 'open',
  statusReason: null,
  shard: 3,
  phoneNumber: null,
  lid: null,
  version: 1,
  createdAt: '2026-11-30T10:00:00.000Z',
  updatedAt: '2026-11-30T10:00:00.000Z',
  lastSeenAt: null,
  pairing: null,
  deletedAt: null,
};

/** The reads a real repository would answer, counted: the cache's behaviour is what is under test. */
function countingChannels(known: Channel[]) {
  const reads: string[] = [];
  let release: () => void = () => undefined;
  let gate: Promise<void> | undefined;
  const channels = {
    get: async (tenantId: string, channelId: string) => {
      reads.push(channelId);
      await gate;
      return known.find((c) => c.tenantId === tenantId && c.id === channelId) ?? null;
    },
  } as unknown as ChannelRepository;
  return {
    channels,
    reads,
    hold: () => {
      gate = new Promise((resolve) => {
        release = resolve;
      });
    },
    release: () => release(),
  };
}

describe('channel ownership', () => {
  it('refuses another tenant’s channel and another shard’s, and accepts the tenant’s own on its shard', async () => {
    const { channels } = countingChannels([channel]);
    const ownership = new ChannelOwnership(channels);
    expect(await ownership.verify({ tenantId: 'ten_other', channelId: channel.id }, 3)).toEqual({
      ok: false,
      reason: 'unknown_channel',
    });
    expect(await ownership.verify({ tenantId: channel.tenantId, channelId: channel.id }, 4)).toMatchObject({
      ok: false,
      reason: 'wrong_shard',
    });
    expect(await ownership.verify({ tenantId: channel.tenantId, channelId: channel.id }, 3)).toMatchObject({
      ok: true,
    });
  });

  it('reads a channel once for many commands at the same time, and remembers it', async () => {
    const { channels, reads, hold, release } = countingChannels([channel]);
    const ownership = new ChannelOwnership(channels);
    hold();
    const verdicts = Array.from({ length: 20 }, () =>
      ownership.verify({ tenantId: channel.tenantId, channelId: channel.id }, 3),
    );
    release();
    expect((await Promise.all(verdicts)).every((verdict) => verdict.ok)).toBe(true);
    await ownership.verify({ tenantId: channel.tenantId, channelId: channel.id }, 3);
    expect(reads).toEqual([channel.id]);
  });

  it('keeps the channels it found when a flood of unknown ids comes, and forgets a deleted one', async () => {
    const { channels, reads } = countingChannels([channel]);
    const ownership = new ChannelOwnership(channels, { absentCapacity: 10, capacity: 10 });
    await ownership.verify({ tenantId: channel.tenantId, channelId: channel.id }, 3);
    for (let i = 0; i < 100; i++)
      await ownership.verify({ tenantId: channel.tenantId, channelId: `forged-${i}` }, 3);
    reads.length = 0;
    await ownership.verify({ tenantId: channel.tenantId, channelId: channel.id }, 3);
    expect(reads).toEqual([]);

    ownership.forget(channel.tenantId, channel.id);
    await ownership.verify({ tenantId: channel.tenantId, channelId: channel.id }, 3);
    expect(reads).toEqual([channel.id]);
  });
});
