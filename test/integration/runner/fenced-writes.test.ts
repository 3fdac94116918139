// Channel-status and message writes for a shard carry the shard's fence: once another runner holds
// the shard, a write with the old token is refused in its own transaction and nothing of it lands;
// and a runner that cannot prove its lease refuses its own writes before they leave.
import { describe, expect, it } from 'vitest';
import { fencedChannels, fencedMessages, LeaseUnconfirmedError } from '#runner/leases/fenced-writes.ts';
import { LeaseTable } from '#runner/leases/lease-table.ts';
import { type Fence, StaleFenceError } from '#shared/domain/fence.ts';
import { newId } from '#shared/domain/ids.ts';
import { queuedOutboundMessage } from '#shared/domain/message.ts';
import { createChannel } from '#shared/use-cases/channels.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import { platformRepositories } from '../support/platform.ts';

const platform = platformRepositories();

async function channelAndTwoFences() {
  const tenant = await createTenant(platform, { name: 'Fenced' });
  const channel = await createChannel(
    { channels: platform.channels, shardCount: platform.resources.shardCount },
    tenant.id,
    { name: 'Recepção' },
  );
  const leases = new LeaseTable(platform.client, platform.resources.sessionsTable, crypto.randomUUID());
  const old = (await leases.acquire(channel.shard, 'runner-old', Date.now(), 30_000)) as Fence;
  await leases.release(old);
  const current = (await leases.acquire(channel.shard, 'runner-new', Date.now(), 30_000)) as Fence;
  return { channel, old, current };
}

const send = (tenantId: string, channelId: string) =>
  queuedOutboundMessage(
    {
      commandId: newId('command'),
      tenantId,
      channelId,
      issuedAt: new Date().toISOString(),
      type: 'send',
      messageId: newId('message'),
      message: { to: '+5511987654321', type: 'text', text: { body: 'Olá' } },
    },
    new Date(),
  );

describe('fenced platform writes', () => {
  it('refuse a channel transition from a runner whose token is not the lease’s any more', async () => {
    const { channel, old, current } = await channelAndTwoFences();
    const transition = {
      from: channel.status,
      expectedVersion: channel.version,
      to: 'connecting' as const,
      at: new Date().toISOString(),
    };
    await expect(
      platform.channels.transition(channel.tenantId, channel.id, transition, { fence: old }),
    ).rejects.toBeInstanceOf(StaleFenceError);
    expect(await platform.channels.get(channel.tenantId, channel.id)).toEqual(channel);

    const moved = await platform.channels.transition(channel.tenantId, channel.id, transition, {
      fence: current,
    });
    expect(moved).toMatchObject({ status: 'connecting', version: channel.version + 1 });
    expect(await platform.channels.get(channel.tenantId, channel.id)).toEqual(moved);
  });

  it('still tells a stale status apart from a stale fence', async () => {
    const { channel, current } = await channelAndTwoFences();
    const stale = { from: channel.status, expectedVersion: channel.version + 5, to: 'connecting' as const };
    await expect(
      platform.channels.transition(
        channel.tenantId,
        channel.id,
        { ...stale, at: new Date().toISOString() },
        { fence: current },
      ),
    ).rejects.toMatchObject({ code: 'channel_state_conflict' });
  });

  it('refuse a message record from a stale token, leaving neither the message nor its index', async () => {
    const { channel, old, current } = await channelAndTwoFences();
    const message = send(channel.tenantId, channel.id);
    await expect(platform.messages.put(message, { fence: old })).rejects.toBeInstanceOf(StaleFenceError);
    expect(await platform.messages.get(channel.tenantId, channel.id, message.id)).toBeNull();
    expect(
      await platform.messages.resolveWaMessageId(channel.tenantId, channel.id, message.waMessageId),
    ).toBeNull();

    expect(await platform.messages.put(message, { fence: current })).toBe(true);
    expect(await platform.messages.put(message, { fence: current })).toBe(false);
  });

  it('refuse to take a deleted channel off its shard’s list from a stale token; the current one can, once', async () => {
    const { channel, old, current } = await channelAndTwoFences();
    const at = new Date().toISOString();
    await platform.channels.markDeleted(channel.tenantId, channel.id, at);
    const marked = await platform.channels.get(channel.tenantId, channel.id);
    const channels = fencedChannels(platform.channels, old, () => true);
    await expect(channels.completeDeletion(channel.tenantId, channel.id, at)).rejects.toBeInstanceOf(
      StaleFenceError,
    );
    expect(await platform.channels.get(channel.tenantId, channel.id)).toEqual(marked);

    const owner = fencedChannels(platform.channels, current, () => true);
    expect(await owner.completeDeletion(channel.tenantId, channel.id, at)).toBe(true);
    const completed = await platform.channels.get(channel.tenantId, channel.id);
    expect(completed?.version).toBe((marked?.version ?? 0) + 1);
    expect(await owner.completeDeletion(channel.tenantId, channel.id, at)).toBe(true);
    expect(await platform.channels.get(channel.tenantId, channel.id)).toEqual(completed);
    await expect(
      fencedChannels(platform.channels, current, () => false).completeDeletion(
        channel.tenantId,
        channel.id,
        at,
      ),
    ).rejects.toBeInstanceOf(LeaseUnconfirmedError);
  });

  it('are refused before they leave while the runner cannot prove its lease, status advances included', async () => {
    const { channel, current } = await channelAndTwoFences();
    let confirmed = false;
    const messages = fencedMessages(platform.messages, current, () => confirmed);
    const channels = fencedChannels(platform.channels, current, () => confirmed);
    const message = send(channel.tenantId, channel.id);

    await expect(messages.put(message)).rejects.toBeInstanceOf(LeaseUnconfirmedError);
    await expect(
      channels.transition(channel.tenantId, channel.id, {
        from: channel.status,
        expectedVersion: channel.version,
        to: 'connecting',
        at: new Date().toISOString(),
      }),
    ).rejects.toBeInstanceOf(LeaseUnconfirmedError);
    expect(await platform.messages.get(channel.tenantId, channel.id, message.id)).toBeNull();

    confirmed = true;
    expect(await messages.put(message)).toBe(true);
    confirmed = false;
    await expect(
      messages.advanceStatus(channel.tenantId, channel.id, message.id, {
        status: 'sent',
        at: new Date().toISOString(),
      }),
    ).rejects.toBeInstanceOf(LeaseUnconfirmedError);
    expect((await platform.messages.get(channel.tenantId, channel.id, message.id))?.status).toBe('queued');
  });
});
