// The webhook and delivery repositories on the emulator: what the API and the dispatcher both rely on.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { encodeCursor } from '#shared/aws/dynamo/cursor.ts';
import { webhookCountKey } from '#shared/aws/dynamo/platform-keys.ts';
import { DynamoWebhookRepository } from '#shared/aws/dynamo/webhook-repository.ts';
import { platformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import {
  DELIVERY_RETENTION_DAYS,
  type Delivery,
  type DeliveryAttempt,
  deliveryIdOf,
  MAX_ATTEMPTS_KEPT,
  newDelivery,
  type Webhook,
} from '#shared/domain/webhook.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import { platformRepositories } from './support/platform.ts';

const platform = platformRepositories();

function webhookOf(tenantId: string, overrides: Partial<Webhook> = {}): Webhook {
  const now = new Date().toISOString();
  return {
    id: newId('webhook'),
    tenantId,
    url: 'https://93.184.215.14/hooks',
    description: null,
    events: ['*'],
    channelIds: null,
    status: 'enabled',
    disabledReason: null,
    // The repository keeps a secret as it is handed one: sealed (opaque here).
    secrets: [{ sealed: 'c2VhbGVkIHNlY3JldA==', createdAt: now, expiresAt: null }],
    failingSince: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

function deliveryOf(webhook: Webhook, at: Date): Delivery {
  const event = platformEvent(
    'webhook.test',
    { tenantId: webhook.tenantId, channelId: null },
    { message: 'test', webhookId: webhook.id },
    at,
  );
  return {
    id: deliveryIdOf(event.id, webhook.id),
    tenantId: webhook.tenantId,
    webhookId: webhook.id,
    event,
    status: 'pending',
    attemptCount: 0,
    roundAttemptCount: 0,
    generation: 0,
    claimedUntil: null,
    attempts: [],
    nextAttemptAt: at.toISOString(),
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
  };
}

const failed = (at: Date, statusCode = 500): DeliveryAttempt => ({
  at: at.toISOString(),
  statusCode,
  latencyMs: 12,
  error: `http_${statusCode}`,
  responseExcerpt: 'oops',
});

async function tenant() {
  return (await createTenant(platform, { name: 'Webhooks' })).id;
}

describe('webhooks', () => {
  it('creates, reads, lists oldest first, updates on its version and deletes', async () => {
    const tenantId = await tenant();
    const first = webhookOf(tenantId, { description: 'CRM', channelIds: [newId('channel')] });
    const second = webhookOf(tenantId);
    await platform.webhooks.create(first);
    await platform.webhooks.create(second);
    expect(await platform.webhooks.get(tenantId, first.id)).toEqual(first);
    expect(await platform.webhooks.get(await tenant(), first.id)).toBeNull();

    const page = await platform.webhooks.list(tenantId, { limit: 1 });
    expect(page.items.map((webhook) => webhook.id)).toEqual([first.id]);
    const next = await platform.webhooks.list(tenantId, { limit: 1, cursor: page.nextCursor ?? '' });
    expect(next).toEqual({ items: [second], nextCursor: null });
    expect((await platform.webhooks.listAll(tenantId)).map((webhook) => webhook.id)).toEqual([
      first.id,
      second.id,
    ]);

    const updated = await platform.webhooks.update(tenantId, first.id, 1, {
      status: 'disabled',
      disabledReason: 'by_clinic',
      description: null,
      updatedAt: '2030-01-01T00:00:00.000Z',
    });
    expect(updated).toEqual({
      ...first,
      status: 'disabled',
      disabledReason: 'by_clinic',
      description: null,
      version: 2,
      updatedAt: '2030-01-01T00:00:00.000Z',
    });
    await expect(platform.webhooks.update(tenantId, first.id, 1, { url: 'https://x' })).rejects.toMatchObject(
      {
        code: 'webhook_version_conflict',
        httpStatus: 409,
      },
    );
    await expect(platform.webhooks.update(tenantId, newId('webhook'), 1, {})).rejects.toMatchObject({
      code: 'webhook_not_found',
    });

    await platform.webhooks.delete(tenantId, first.id);
    expect(await platform.webhooks.get(tenantId, first.id)).toBeNull();
    await expect(platform.webhooks.delete(tenantId, first.id)).rejects.toMatchObject({
      code: 'webhook_not_found',
    });
  });

  it('holds a tenant to its limit even when creates race, and frees a place on delete', async () => {
    const tenantId = await tenant();
    const repository = new DynamoWebhookRepository(platform.client, platform.resources.platformTable, {
      maxPerTenant: 3,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => repository.create(webhookOf(tenantId))),
    );
    const won = results.filter((result) => result.status === 'fulfilled');
    expect(won).toHaveLength(3);
    for (const result of results) {
      if (result.status === 'rejected')
        expect(result.reason).toMatchObject({ code: 'webhook_limit_reached', httpStatus: 409 });
    }
    const stored = await repository.listAll(tenantId);
    expect(stored).toHaveLength(3);
    await repository.delete(tenantId, stored[0]?.id ?? '');
    await repository.create(webhookOf(tenantId));
    await expect(repository.create(webhookOf(tenantId))).rejects.toMatchObject({
      code: 'webhook_limit_reached',
    });
    const counter = await platform.client.send(
      new GetCommand({ TableName: platform.resources.platformTable, Key: webhookCountKey(tenantId) }),
    );
    expect(counter.Item?.count).toBe(3);
  });

  it('adds nothing to a tenant that is absent', async () => {
    await expect(platform.webhooks.create(webhookOf(newId('tenant')))).rejects.toMatchObject({
      code: 'tenant_not_found',
    });
  });
});

describe('deliveries', () => {
  it('stores a delivery once, with a TTL, and reads it back', async () => {
    const webhook = webhookOf(await tenant());
    const delivery = deliveryOf(webhook, new Date());
    expect(await platform.deliveries.create(delivery)).toBe(true);
    expect(await platform.deliveries.create(delivery)).toBe(false);
    expect(await platform.deliveries.get(webhook.tenantId, webhook.id, delivery.id)).toEqual(delivery);
    expect(await platform.deliveries.get(await tenant(), webhook.id, delivery.id)).toBeNull();
    const raw = await platform.client.send(
      new GetCommand({
        TableName: platform.resources.platformTable,
        Key: { pk: `TENANT#${webhook.tenantId}`, sk: `DLV#${webhook.id}#${delivery.id}` },
      }),
    );
    expect(raw.Item?.expiresAt).toBe(
      Math.floor(Date.parse(delivery.createdAt) / 1000) + DELIVERY_RETENTION_DAYS * 86_400,
    );
  });

  it('expires a delivery no later than its tenant keeps the event, and a reopen never extends it', async () => {
    const webhook = webhookOf(await tenant());
    const delivery = deliveryOf(webhook, new Date());
    expect(await platform.deliveries.create(delivery, { retentionDays: 1 })).toBe(true);
    const expiresAt = async () =>
      (
        await platform.client.send(
          new GetCommand({
            TableName: platform.resources.platformTable,
            Key: { pk: `TENANT#${webhook.tenantId}`, sk: `DLV#${webhook.id}#${delivery.id}` },
          }),
        )
      ).Item?.expiresAt;
    const expected = Math.floor(Date.parse(delivery.event.createdAt) / 1000) + 86_400;
    expect(await expiresAt()).toBe(expected);
    await platform.deliveries.reopen(
      webhook.tenantId,
      webhook.id,
      delivery.id,
      new Date(Date.now() + 10 * 86_400_000).toISOString(),
    );
    expect(await expiresAt()).toBe(expected);
  });

  it('keeps no pairing secret: a QR’s or a pairing code’s delivery is stored with its expiry only', async () => {
    const webhook = webhookOf(await tenant());
    const at = new Date();
    for (const event of [
      platformEvent(
        'channel.qr',
        { tenantId: webhook.tenantId, channelId: newId('channel') },
        { qr: '2@secret-qr', expiresAt: '2030-01-01T00:01:00.000Z' },
        at,
      ),
      platformEvent(
        'channel.pairing_code',
        { tenantId: webhook.tenantId, channelId: newId('channel') },
        { pairingCode: 'K7QF-2MXD', phoneNumber: '+5511977770001', expiresAt: '2030-01-01T00:03:00.000Z' },
        at,
      ),
    ]) {
      const delivery = newDelivery(event, webhook.id, at);
      await platform.deliveries.create(delivery);
      const raw = await platform.client.send(
        new GetCommand({
          TableName: platform.resources.platformTable,
          Key: { pk: `TENANT#${webhook.tenantId}`, sk: `DLV#${webhook.id}#${delivery.id}` },
        }),
      );
      expect(JSON.stringify(raw.Item)).not.toMatch(/secret-qr|K7QF|5511977770001/);
      expect((await platform.deliveries.get(webhook.tenantId, webhook.id, delivery.id))?.event).toEqual({
        ...event,
        data: { expiresAt: event.data.expiresAt },
      });
    }
  });

  it('lists newest first, by status and since, in pages', async () => {
    const webhook = webhookOf(await tenant());
    const base = Date.parse('2030-05-01T10:00:00.000Z');
    const deliveries: Delivery[] = [];
    for (let index = 0; index < 6; index++) {
      const delivery = deliveryOf(webhook, new Date(base + index * 60_000));
      await platform.deliveries.create(delivery);
      deliveries.push(delivery);
    }
    // Another webhook's deliveries share the partition and never show.
    await platform.deliveries.create(deliveryOf({ ...webhook, id: newId('webhook') }, new Date(base)));
    for (const index of [1, 3, 4]) {
      const delivery = deliveries[index] as Delivery;
      await platform.deliveries.recordAttempt(webhook.tenantId, webhook.id, delivery.id, failed(new Date()), {
        status: 'dead',
        nextAttemptAt: null,
      });
    }
    const ids = (page: { items: Delivery[] }) => page.items.map((delivery) => delivery.id);
    const newestFirst = deliveries.map((delivery) => delivery.id).reverse();

    const all = await platform.deliveries.list(webhook.tenantId, webhook.id, {});
    expect(ids(all)).toEqual(newestFirst);
    const dead = await platform.deliveries.list(webhook.tenantId, webhook.id, { status: 'dead' });
    expect(ids(dead)).toEqual([4, 3, 1].map((index) => deliveries[index]?.id));
    const since = new Date(base + 3 * 60_000).toISOString();
    const recent = await platform.deliveries.list(webhook.tenantId, webhook.id, { since });
    expect(ids(recent)).toEqual(newestFirst.slice(0, 3));
    const recentDead = await platform.deliveries.list(webhook.tenantId, webhook.id, {
      since,
      status: 'dead',
    });
    expect(ids(recentDead)).toEqual([4, 3].map((index) => deliveries[index]?.id));

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await platform.deliveries.list(webhook.tenantId, webhook.id, {
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...ids(page));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(newestFirst);

    // A cursor from the unfiltered list already past `since`: nothing of the range is left.
    const deep = await platform.deliveries.list(webhook.tenantId, webhook.id, { limit: 4 });
    expect(
      await platform.deliveries.list(webhook.tenantId, webhook.id, {
        since,
        cursor: deep.nextCursor ?? '',
      }),
    ).toEqual({ items: [], nextCursor: null });
    // Another webhook's list refuses this one's cursor.
    await expect(
      platform.deliveries.list(webhook.tenantId, newId('webhook'), { cursor: deep.nextCursor ?? '' }),
    ).rejects.toMatchObject({ code: 'invalid_cursor' });
  });

  it('refuses a forged cursor (above the range, or not a delivery key) with invalid_cursor, never a 5xx', async () => {
    const webhook = webhookOf(await tenant());
    const delivery = deliveryOf(webhook, new Date('2030-05-01T10:00:00.000Z'));
    await platform.deliveries.create(delivery);
    const pk = `TENANT#${webhook.tenantId}`;
    const prefix = `DLV#${webhook.id}#`;
    const since = '2030-05-01T00:00:00.000Z';
    for (const sk of [`${prefix}\u00ff`, `${prefix}~~`, `${prefix}dlv_x`, `${prefix}${delivery.id}X`]) {
      for (const filter of [{ since }, {}]) {
        await expect(
          platform.deliveries.list(webhook.tenantId, webhook.id, {
            ...filter,
            cursor: encodeCursor({ pk, sk }),
          }),
        ).rejects.toMatchObject({ code: 'invalid_cursor', httpStatus: 400 });
      }
    }
    // A genuine delivery key still pages on.
    await expect(
      platform.deliveries.list(webhook.tenantId, webhook.id, {
        since,
        cursor: encodeCursor({ pk, sk: `${prefix}${delivery.id}` }),
      }),
    ).resolves.toEqual({ items: [], nextCursor: null });
  });

  it('claims a try for one job at a time, records it only at that try, and a reopen starts a new round', async () => {
    const webhook = webhookOf(await tenant());
    const delivery = deliveryOf(webhook, new Date());
    await platform.deliveries.create(delivery);
    const ids = [webhook.tenantId, webhook.id, delivery.id] as const;
    const t0 = Date.parse('2030-01-01T00:00:00.000Z');
    const iso = (ms: number) => new Date(t0 + ms).toISOString();
    const first = { attemptCount: 0, generation: 0 };
    const claims = await Promise.all([
      platform.deliveries.claimTry(...ids, first, iso(0), iso(60_000)),
      platform.deliveries.claimTry(...ids, first, iso(0), iso(60_000)),
    ]);
    expect(claims.map((claim) => claim.claimed).sort()).toEqual([false, true]);
    const refused = claims.find((claim) => !claim.claimed);
    expect(refused?.delivery?.claimedUntil).toBe(iso(60_000));
    // Past its claim (the worker died), the try may be claimed again.
    expect((await platform.deliveries.claimTry(...ids, first, iso(61_000), iso(121_000))).claimed).toBe(true);
    // Not at another try.
    expect(
      (
        await platform.deliveries.claimTry(
          ...ids,
          { attemptCount: 1, generation: 0 },
          iso(200_000),
          iso(260_000),
        )
      ).claimed,
    ).toBe(false);

    const recorded = await platform.deliveries.recordAttempt(
      ...ids,
      failed(new Date()),
      { status: 'pending', nextAttemptAt: iso(300_000) },
      first,
    );
    expect(recorded).toMatchObject({ attemptCount: 1, claimedUntil: null, generation: 0 });
    // The same try recorded twice (a duplicate job): refused, nothing written.
    await expect(
      platform.deliveries.recordAttempt(
        ...ids,
        failed(new Date()),
        { status: 'pending', nextAttemptAt: null },
        first,
      ),
    ).rejects.toMatchObject({ code: 'delivery_moved_on', httpStatus: 409 });

    const reopened = await platform.deliveries.reopen(...ids, iso(400_000));
    expect(reopened).toMatchObject({ generation: 1, attemptCount: 1 });
    // A try of the earlier round neither claims nor records.
    const stale = { attemptCount: 1, generation: 0 };
    expect((await platform.deliveries.claimTry(...ids, stale, iso(400_000), iso(460_000))).claimed).toBe(
      false,
    );
    await expect(
      platform.deliveries.recordAttempt(
        ...ids,
        failed(new Date()),
        { status: 'dead', nextAttemptAt: null },
        stale,
      ),
    ).rejects.toMatchObject({ code: 'delivery_moved_on' });
    expect(
      (
        await platform.deliveries.claimTry(
          ...ids,
          { attemptCount: 1, generation: 1 },
          iso(400_000),
          iso(460_000),
        )
      ).claimed,
    ).toBe(true);
    // A reopen releases a claim: the try of the earlier round can no longer be recorded anyway.
    expect((await platform.deliveries.reopen(...ids, iso(401_000))).claimedUntil).toBeNull();
  });

  it('records tries atomically, keeping the latest MAX_ATTEMPTS_KEPT, and reopens for a new round', async () => {
    const webhook = webhookOf(await tenant());
    const delivery = deliveryOf(webhook, new Date());
    await platform.deliveries.create(delivery);
    const tries = MAX_ATTEMPTS_KEPT + 5;
    const record = (index: number) =>
      platform.deliveries.recordAttempt(
        webhook.tenantId,
        webhook.id,
        delivery.id,
        failed(new Date(Date.parse('2030-01-01T00:00:00.000Z') + index * 1000), 500 + index),
        { status: 'pending', nextAttemptAt: '2030-01-02T00:00:00.000Z' },
      );
    for (let index = 0; index < tries - 3; index++) await record(index);
    // Concurrent records (a job handled twice at once, say) each land once.
    await Promise.all([tries - 3, tries - 2, tries - 1].map(record));
    const recorded = await platform.deliveries.get(webhook.tenantId, webhook.id, delivery.id);
    expect(recorded).toMatchObject({ attemptCount: tries, roundAttemptCount: tries, status: 'pending' });
    expect(recorded?.attempts).toHaveLength(MAX_ATTEMPTS_KEPT);
    expect(new Set(recorded?.attempts.map((attempt) => attempt.statusCode)).size).toBe(MAX_ATTEMPTS_KEPT);

    const dead = await platform.deliveries.recordAttempt(
      webhook.tenantId,
      webhook.id,
      delivery.id,
      failed(new Date()),
      { status: 'dead', nextAttemptAt: null },
    );
    expect(dead).toMatchObject({ status: 'dead', nextAttemptAt: null, attemptCount: tries + 1 });

    const at = new Date().toISOString();
    const reopened = await platform.deliveries.reopen(webhook.tenantId, webhook.id, delivery.id, at, {
      onlyFrom: 'dead',
    });
    expect(reopened).toMatchObject({
      status: 'pending',
      nextAttemptAt: at,
      roundAttemptCount: 0,
      attemptCount: tries + 1,
    });
    expect(reopened.attempts).toEqual(dead.attempts);
    await expect(
      platform.deliveries.reopen(webhook.tenantId, webhook.id, delivery.id, at, { onlyFrom: 'dead' }),
    ).rejects.toMatchObject({ code: 'delivery_not_dead', httpStatus: 409 });
    // Without `onlyFrom`, a pending delivery whose job was lost is reopened too.
    await expect(
      platform.deliveries.reopen(webhook.tenantId, webhook.id, delivery.id, at),
    ).resolves.toMatchObject({ status: 'pending' });
    await expect(
      platform.deliveries.reopen(webhook.tenantId, webhook.id, anotherIdLike(delivery.id), at),
    ).rejects.toMatchObject({ code: 'delivery_not_found' });
    await expect(
      platform.deliveries.recordAttempt(webhook.tenantId, newId('webhook'), delivery.id, failed(new Date()), {
        status: 'dead',
        nextAttemptAt: null,
      }),
    ).rejects.toMatchObject({ code: 'delivery_not_found' });
  });
});

/** The same id with its last letter changed: an id of the same shape that names nothing. */
function anotherIdLike(id: string): string {
  return `${id.slice(0, -1)}${id.endsWith('Z') ? 'Y' : 'Z'}`;
}
