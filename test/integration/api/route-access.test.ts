// Every route of the route table, checked the same way: who may call it, what another tenant's ids
// get, what a bad body gets, and that a refused request writes nothing.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type RouteSpec } from '#functions/http/routes.ts';
import { tenantPartition } from '#shared/aws/dynamo/platform-keys.ts';
import type { ApiKeyScope } from '#shared/domain/api-key.ts';
import { newId } from '#shared/domain/ids.ts';
import { queuedOutboundMessage } from '#shared/domain/message.ts';
import { platformRepositories } from '../support/platform.ts';
import type { ApiClient } from './support/api-client.ts';
import { type ApiWorld, startApiWorld } from './support/api-world.ts';

const platform = platformRepositories();
let world: ApiWorld;
/** Tenant A's real ids, which tenant B must never reach. */
let owned: Record<string, string>;
let a: { tenantId: string; client: ApiClient };
let b: { tenantId: string; client: ApiClient };

/** A body each route accepts (for routes that need one). */
const VALID_BODIES: Record<string, unknown> = {
  createTenant: { name: 'Clínica' },
  createApiKey: { name: 'k', scopes: ['channels:read'] },
  createOwnApiKey: { name: 'k', scopes: ['channels:read'] },
  createChannel: { name: 'Recepção' },
  connectChannel: { method: 'qr' },
  sendMessage: { to: '+5511999990000', type: 'text', text: { body: 'Olá' } },
  checkContacts: { phoneNumbers: ['+5511999990000'] },
  startMediaUpload: { mimeType: 'image/png', size: 10 },
  createWebhook: { url: 'https://93.184.215.14/hooks', events: ['*'] },
  updateWebhook: { description: 'CRM' },
  recoverDeliveries: { since: '2026-01-01T00:00:00.000Z' },
};

function pathOf(route: RouteSpec, ids: Record<string, string>): string {
  return route.path.replaceAll(/\{(\w+)\}/g, (_, name: string) => ids[name] ?? 'missing');
}

function call(client: ApiClient, route: RouteSpec, ids: Record<string, string>, body?: unknown) {
  const path = pathOf(route, ids);
  if (route.operationId === 'uploadMedia') {
    return client.request('POST', path, {
      rawBody: Buffer.from('png'),
      headers: { 'content-type': 'image/png' },
    });
  }
  const payload = body ?? VALID_BODIES[route.operationId];
  return client.request(route.method, path, payload === undefined ? {} : { body: payload });
}

/** The tenant's items, except the rate limiter's counters (every request counts). */
async function itemsOf(tenantId: string): Promise<unknown[]> {
  const result = await platform.client.send(
    new QueryCommand({
      TableName: platform.resources.platformTable,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': tenantPartition(tenantId) },
      ConsistentRead: true,
    }),
  );
  return (result.Items ?? []).filter((item) => !String(item.sk).startsWith('RATE#'));
}

beforeAll(async () => {
  world = await startApiWorld();
  a = await world.newTenant();
  b = await world.newTenant();
  const channel = (await a.client.post('/v1/channels', { name: 'A' })).body;
  const stored = await platform.channels.get(a.tenantId, channel.id);
  const messageId = newId('message');
  await platform.messages.put(
    queuedOutboundMessage(
      {
        type: 'send',
        commandId: newId('command'),
        tenantId: a.tenantId,
        channelId: channel.id,
        issuedAt: new Date().toISOString(),
        messageId,
        message: { to: '+5511999990000', type: 'text', text: { body: 'segredo de A' } },
      },
      new Date(),
    ),
  );
  const checkId = newId('command');
  await platform.contactChecks.start(a.tenantId, checkId, channel.id);
  const media = await a.client.request('POST', '/v1/media', {
    rawBody: Buffer.from('png'),
    headers: { 'content-type': 'image/png' },
  });
  const key = (await world.admin.get(`/v1/tenants/${a.tenantId}/api-keys`)).body.items[0];
  const webhook = await a.client.post('/v1/webhooks', VALID_BODIES.createWebhook);
  const delivery = await a.client.post(`/v1/webhooks/${webhook.body.id}/test`);
  owned = {
    tenantId: a.tenantId,
    keyId: key.id,
    channelId: channel.id,
    messageId,
    checkId,
    mediaId: media.body.mediaId,
    webhookId: webhook.body.id,
    deliveryId: delivery.body.id,
  };
  expect(stored?.status).toBe('disconnected');
  expect([webhook.status, delivery.status]).toEqual([201, 202]);
});
afterAll(() => world?.front.stop());

const secured = ROUTES.filter((route) => route.access.kind !== 'public');
const tenantRoutes = ROUTES.filter((route) => route.access.kind === 'tenant');
const adminRoutes = ROUTES.filter((route) => route.access.kind === 'admin');

describe('the route table', () => {
  it('is covered: a real id of tenant A for every path parameter, a valid body for every body it requires', () => {
    const params = new Set(
      ROUTES.flatMap((route) => [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1])),
    );
    expect([...params].sort()).toEqual(Object.keys(owned).sort());
    const needBodies = ROUTES.filter((route) => route.request?.body && !route.request.bodyOptional);
    expect(
      needBodies.filter((route) => !(route.operationId in VALID_BODIES)).map((route) => route.operationId),
    ).toEqual([]);
  });
});

describe('every secured route', () => {
  it.each(secured.map((route) => [route.operationId, route] as const))(
    '%s: 401 without a key',
    async (_, route) => {
      const response = await call(world.anonymous, route, owned);
      expect(response.status).toBe(401);
      expect(response.body.error).toMatchObject({ code: 'unauthenticated', requestId: expect.any(String) });
    },
  );

  it.each(tenantRoutes.map((route) => [route.operationId, route] as const))(
    '%s: 403 for a tenant key without its scope, and for the admin key',
    async (_, route) => {
      const needed = route.access.kind === 'tenant' ? route.access.scope : '*';
      const other: ApiKeyScope = needed === 'channels:read' ? 'privacy:manage' : 'channels:read';
      const limited = await world.newTenant([other]);
      const response = await call(limited.client, route, owned);
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe('insufficient_scope');
      expect((await call(world.admin, route, owned)).status).toBe(403);
    },
  );

  it.each(adminRoutes.map((route) => [route.operationId, route] as const))(
    '%s: 403 for a tenant key with every scope',
    async (_, route) => {
      const response = await call(b.client, route, owned);
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe('admin_only');
    },
  );

  it.each(
    tenantRoutes.filter((route) => route.request?.params).map((route) => [route.operationId, route] as const),
  )("%s: another tenant's ids answer 404, as absent ones do, and change nothing", async (_, route) => {
    const before = await itemsOf(a.tenantId);
    const theirs = await call(b.client, route, owned);
    // Well-formed and absent: the prefix of the real id, then a ULID's worth (a delivery's, two).
    const absentIds = Object.fromEntries(
      Object.entries(owned).map(([name, id]) => [
        name,
        `${id.slice(0, 4)}${'01JDQ7Z8K3M4N5P6Q7R8S9T0VW'.repeat(2).slice(0, id.length - 4)}`,
      ]),
    );
    const absent = await call(b.client, route, absentIds);
    expect(theirs.status).toBe(404);
    expect(absent.status).toBe(404);
    expect(theirs.body.error.code).toBe(absent.body.error.code);
    expect(JSON.stringify(theirs.body)).not.toContain('segredo de A');
    expect(await itemsOf(a.tenantId)).toEqual(before);
  });

  it.each(ROUTES.filter((route) => route.request?.body).map((route) => [route.operationId, route] as const))(
    '%s: a bad body is 400 naming its fields, and nothing is written',
    async (_, route) => {
      const client = route.access.kind === 'admin' ? world.admin : a.client;
      const before = await itemsOf(a.tenantId);
      const bad = { name: 42, method: 'fax', to: 'nobody', phoneNumbers: 'x', size: -1, unknown: true };
      // `{}` is a valid body where every field is optional (a body that may be left out).
      for (const body of route.request?.bodyOptional ? [bad] : [{}, bad]) {
        const response = await call(client, route, owned, body);
        expect(response.status).toBe(400);
        expect(response.body.error.code).toBe('validation_failed');
        expect(response.body.error.fields.length).toBeGreaterThan(0);
        for (const field of response.body.error.fields) expect(field.field).toMatch(/^body/);
      }
      expect(await itemsOf(a.tenantId)).toEqual(before);
    },
  );
});

describe('lists', () => {
  it('pages through every item once with an opaque cursor that works only for its own list', async () => {
    const { client, tenantId } = await world.newTenant();
    const created: string[] = [];
    for (let index = 0; index < 5; index++) {
      created.push((await client.post('/v1/channels', { name: `Canal ${index}` })).body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await client.get(
        `/v1/channels?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      seen.push(...page.body.items.map((channel) => channel.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(created);
    expect(pages).toBe(3);

    const first = (await client.get('/v1/channels?limit=2')).body.nextCursor;
    const foreign = await b.client.get(`/v1/channels?cursor=${encodeURIComponent(first)}`);
    expect(foreign).toMatchObject({ status: 400, body: { error: { code: 'invalid_cursor' } } });
    const messagesCursor = await client.get(
      `/v1/channels/${created[0]}/messages?cursor=${encodeURIComponent(first)}`,
    );
    expect(messagesCursor.status).toBe(400);
    for (const limit of ['0', '101', 'x', '2.5']) {
      const response = await client.get(`/v1/channels?limit=${limit}`);
      expect(response.status).toBe(400);
      expect(response.body.error.fields[0].field).toBe('query.limit');
    }
    expect((await world.admin.get(`/v1/tenants/${tenantId}`)).status).toBe(200);
  });
});

describe('filtered lists', () => {
  it('fills a page past items the filter leaves out, and ends only when nothing follows', async () => {
    const { client } = await world.newTenant();
    const deleted = [];
    for (const name of ['a', 'b', 'c']) deleted.push((await client.post('/v1/channels', { name })).body.id);
    const live = (await client.post('/v1/channels', { name: 'live' })).body.id;
    for (const id of deleted) expect((await client.delete(`/v1/channels/${id}`)).status).toBe(202);
    const page = await client.get('/v1/channels?limit=1');
    expect(page.body.items.map((channel: { id: string }) => channel.id)).toEqual([live]);
    expect(page.body.nextCursor).toBeNull();
  });
});

describe('keys', () => {
  it('stops a revoked key once the authorizer cache expires', async () => {
    const quick = await startApiWorld({}, { authorizerCacheSeconds: 1 });
    try {
      const { tenantId, client } = await quick.newTenant();
      expect((await client.get('/v1/channels')).status).toBe(200);
      const key = (await quick.admin.get(`/v1/tenants/${tenantId}/api-keys`)).body.items[0];
      expect(
        (await quick.admin.delete(`/v1/tenants/${tenantId}/api-keys/${key.id}`)).body.revokedAt,
      ).toBeTruthy();
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect((await client.get('/v1/channels')).status).toBe(401);
      expect((await quick.admin.delete(`/v1/tenants/${tenantId}/api-keys/${key.id}`)).status).toBe(404);
    } finally {
      await quick.front.stop();
    }
  });

  it('stops every key of a tenant being erased', async () => {
    const quick = await startApiWorld({}, { authorizerCacheSeconds: 1 });
    try {
      const { tenantId, client } = await quick.newTenant();
      const erased = await quick.admin.delete(`/v1/tenants/${tenantId}`);
      expect(erased).toMatchObject({ status: 202, body: { status: 'erasing' } });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect((await client.get('/v1/channels')).status).toBe(401);
    } finally {
      await quick.front.stop();
    }
  });
});
