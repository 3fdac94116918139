import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '#shared/domain/errors.ts';
import { createChannel, getChannel } from '#shared/use-cases/channels.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import { platformRepositories } from './support/platform.ts';

const platform = platformRepositories();
const deps = { channels: platform.channels, shardCount: platform.resources.shardCount };

async function newTenant(name: string) {
  return createTenant(platform, { name });
}

describe('channels', () => {
  it('creates a disconnected channel on a shard and reads it back', async () => {
    const tenant = await newTenant('Create');
    const channel = await createChannel(deps, tenant.id, { name: 'Recepção' });
    expect(channel).toMatchObject({
      tenantId: tenant.id,
      name: 'Recepção',
      status: 'disconnected',
      version: 1,
    });
    expect(channel.shard).toBeGreaterThanOrEqual(0);
    expect(channel.shard).toBeLessThan(platform.resources.shardCount);
    expect(await getChannel(deps, tenant.id, channel.id)).toEqual(channel);
  });

  it('lists a tenant’s channels in pages of the asked size, oldest first', async () => {
    const tenant = await newTenant('Pages');
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await createChannel(deps, tenant.id, { name: `Line ${i}` }));

    const first = await platform.channels.list(tenant.id, { limit: 2 });
    const second = await platform.channels.list(tenant.id, { limit: 2, cursor: first.nextCursor ?? '' });
    const third = await platform.channels.list(tenant.id, { limit: 2, cursor: second.nextCursor ?? '' });
    expect([first, second, third].map((page) => page.items.map((channel) => channel.id))).toEqual([
      [created[0]?.id, created[1]?.id],
      [created[2]?.id, created[3]?.id],
      [created[4]?.id],
    ]);
    expect(third.nextCursor).toBeNull();
  });

  it('keeps a channel invisible to another tenant', async () => {
    const clinicA = await newTenant('Clinic A');
    const clinicB = await newTenant('Clinic B');
    const channel = await createChannel(deps, clinicA.id, { name: 'A only' });
    await createChannel(deps, clinicA.id, { name: 'A too' });

    expect(await platform.channels.get(clinicB.id, channel.id)).toBeNull();
    await expect(getChannel(deps, clinicB.id, channel.id)).rejects.toMatchObject({
      code: 'channel_not_found',
      httpStatus: 404,
    });
    expect((await platform.channels.list(clinicB.id, {})).items).toEqual([]);

    const pageOfA = await platform.channels.list(clinicA.id, { limit: 1 });
    await expect(
      platform.channels.list(clinicB.id, { limit: 1, cursor: pageOfA.nextCursor ?? '' }),
    ).rejects.toMatchObject({
      code: 'invalid_cursor',
      httpStatus: 400,
    });
    await expect(
      platform.channels.transition(clinicB.id, channel.id, {
        from: 'disconnected',
        expectedVersion: 1,
        to: 'connecting',
        at: new Date().toISOString(),
      }),
    ).rejects.toThrow(NotFoundError);
    expect((await getChannel(deps, clinicA.id, channel.id)).status).toBe('disconnected');
  });

  it('applies a state transition once and rejects the stale second writer', async () => {
    const tenant = await newTenant('Transitions');
    const channel = await createChannel(deps, tenant.id, { name: 'Contended' });
    const read = { from: channel.status, expectedVersion: channel.version };

    const connecting = await platform.channels.transition(tenant.id, channel.id, {
      ...read,
      to: 'connecting',
      at: '2026-11-29T10:00:00.000Z',
    });
    expect(connecting).toMatchObject({
      status: 'connecting',
      version: 2,
      updatedAt: '2026-11-29T10:00:00.000Z',
    });

    const stale = platform.channels.transition(tenant.id, channel.id, {
      ...read,
      to: 'connecting',
      at: '2026-11-29T10:00:01.000Z',
    });
    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    await expect(stale).rejects.toMatchObject({ code: 'channel_state_conflict', httpStatus: 409 });
    await expect(stale).rejects.toThrow(/it is connecting at version 2, not disconnected at version 1/);
    expect(await getChannel(deps, tenant.id, channel.id)).toEqual(connecting);
  });

  it('records the number and LID when the channel opens, and refuses impossible jumps', async () => {
    const tenant = await newTenant('Open');
    const channel = await createChannel(deps, tenant.id, { name: 'Main line' });
    await expect(
      platform.channels.transition(tenant.id, channel.id, {
        from: 'disconnected',
        expectedVersion: 1,
        to: 'open',
        at: 'x',
      }),
    ).rejects.toMatchObject({ code: 'invalid_channel_transition' });

    const connecting = await platform.channels.transition(tenant.id, channel.id, {
      from: 'disconnected',
      expectedVersion: 1,
      to: 'connecting',
      at: '2026-11-29T10:00:00.000Z',
    });
    const open = await platform.channels.transition(tenant.id, channel.id, {
      from: connecting.status,
      expectedVersion: connecting.version,
      to: 'open',
      details: {
        phoneNumber: '+5511987654321',
        lid: '123456789012345@lid',
        lastSeenAt: '2026-11-29T10:00:02.000Z',
      },
      at: '2026-11-29T10:00:02.000Z',
    });
    expect(open).toMatchObject({
      status: 'open',
      version: 3,
      phoneNumber: '+5511987654321',
      lid: '123456789012345@lid',
      lastSeenAt: '2026-11-29T10:00:02.000Z',
    });
  });

  it('cannot create a channel for an absent tenant or one being erased', async () => {
    await expect(
      createChannel(deps, 'ten_01JDZ8K4F0Q7W6X5V4T3S2R1QP', { name: 'Orphan' }),
    ).rejects.toMatchObject({
      code: 'tenant_not_found',
    });
    const tenant = await newTenant('Erasing');
    await platform.tenants.setStatus(tenant.id, 'erasing');
    await expect(createChannel(deps, tenant.id, { name: 'Late' })).rejects.toMatchObject({
      code: 'tenant_not_found',
    });
    expect((await platform.channels.list(tenant.id, {})).items).toEqual([]);
  });

  it('lists a shard’s channels across tenants for the runner that owns it', async () => {
    const clinicA = await newTenant('Shard A');
    const clinicB = await newTenant('Shard B');
    const channels = [
      ...(await Promise.all([0, 1, 2].map((i) => createChannel(deps, clinicA.id, { name: `A${i}` })))),
      ...(await Promise.all([0, 1, 2].map((i) => createChannel(deps, clinicB.id, { name: `B${i}` })))),
    ];
    for (const channel of channels) {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await platform.channels.listByShard(channel.shard, {
          limit: 100,
          ...(cursor ? { cursor } : {}),
        });
        ids.push(...page.items.map((item) => item.id));
        for (const item of page.items) expect(item.shard).toBe(channel.shard);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(ids).toContain(channel.id);
    }
  });

  it('keeps a deleted channel on its shard’s list until its deletion is complete, then never again', async () => {
    const tenant = await newTenant('Deletion');
    const channel = await createChannel(deps, tenant.id, { name: 'Apagado' });
    const shardIds = async () => {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await platform.channels.listByShard(channel.shard, {
          limit: 100,
          ...(cursor ? { cursor } : {}),
        });
        ids.push(...page.items.map((item) => item.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return ids;
    };
    const at = '2026-11-29T10:00:00.000Z';

    // Not deleted: nothing to complete, the channel stays where it is.
    expect(await platform.channels.completeDeletion(tenant.id, channel.id, at)).toBe(false);
    expect(await platform.channels.completeDeletion(tenant.id, 'chn_01JDZ8K4F0Q7W6X5V4T3S2R1QP', at)).toBe(
      false,
    );
    expect(await shardIds()).toContain(channel.id);

    // Deleted: hidden from the tenant, still listed for the runner that must erase its session.
    await platform.channels.markDeleted(tenant.id, channel.id, at);
    expect((await platform.channels.list(tenant.id, {})).items).toEqual([]);
    expect((await platform.channels.get(tenant.id, channel.id))?.deletedAt).toBe(at);
    expect(await shardIds()).toContain(channel.id);

    // Erased: off the shard's list; a second completion (a retry, another path) is harmless.
    expect(await platform.channels.completeDeletion(tenant.id, channel.id, at)).toBe(true);
    expect(await shardIds()).not.toContain(channel.id);
    const done = await platform.channels.get(tenant.id, channel.id);
    expect(await platform.channels.completeDeletion(tenant.id, channel.id, at)).toBe(true);
    expect(await platform.channels.get(tenant.id, channel.id)).toEqual(done);
    expect(done).toMatchObject({ id: channel.id, deletedAt: at, shard: channel.shard });
    await expect(getChannel(deps, tenant.id, channel.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});
