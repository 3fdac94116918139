// A tenant managing its own keys over real HTTP (`GET/POST /v1/api-keys`, `DELETE /v1/api-keys/{id}`,
// scope `keys:manage`): a key issues and revokes only within its own scopes, never revokes itself,
// and a refused request writes nothing.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SK_PREFIX, tenantPartition } from '#shared/aws/dynamo/platform-keys.ts';
import { platformRepositories } from '../support/platform.ts';
import type { ApiClient } from './support/api-client.ts';
import { type ApiWorld, startApiWorld } from './support/api-world.ts';

const platform = platformRepositories();
let world: ApiWorld;

beforeAll(async () => {
  // A 1 s authorizer cache: a revoked key stops within the test.
  world = await startApiWorld({}, { authorizerCacheSeconds: 1 });
});
afterAll(() => world?.front.stop());

/** The tenant's key items as stored (secret hashes included), for "nothing was written". */
async function storedKeys(tenantId: string): Promise<unknown[]> {
  const result = await platform.client.send(
    new QueryCommand({
      TableName: platform.resources.platformTable,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPartition(tenantId), ':prefix': SK_PREFIX.apiKey },
      ConsistentRead: true,
    }),
  );
  return result.Items ?? [];
}

/** A tenant whose first key has every scope, and a second key issued by the operator with `scopes`. */
async function tenantWithKey(scopes: string[]) {
  const owner = await world.newTenant(['*']);
  const issued = await world.admin.post(`/v1/tenants/${owner.tenantId}/api-keys`, {
    name: 'manager',
    scopes,
  });
  expect(issued.status).toBe(201);
  return {
    tenantId: owner.tenantId,
    owner: owner.client,
    ownerKeyId: (await world.admin.get(`/v1/tenants/${owner.tenantId}/api-keys`)).body.items[0].id as string,
    manager: world.anonymous.as(issued.body.key),
    managerKeyId: issued.body.id as string,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a key with keys:manage', () => {
  it('issues a key with scopes it holds, which works at once, and lists the tenant’s keys without secrets', async () => {
    const { tenantId, manager, managerKeyId, ownerKeyId } = await tenantWithKey([
      'keys:manage',
      'channels:read',
    ]);
    const created = await manager.post('/v1/api-keys', { name: ' reader ', scopes: ['channels:read'] });
    expect(created).toMatchObject({
      status: 201,
      body: { tenantId, name: 'reader', scopes: ['channels:read'], revokedAt: null },
    });
    expect(created.body.key).toMatch(/^cwa_/);
    const reader = world.anonymous.as(created.body.key);
    expect((await reader.get('/v1/channels')).status).toBe(200);
    expect((await reader.post('/v1/channels', { name: 'x' })).body.error.code).toBe('insufficient_scope');

    const listed = await manager.get('/v1/api-keys?limit=100');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((key: { id: string }) => key.id)).toEqual([
      ownerKeyId,
      managerKeyId,
      created.body.id,
    ]);
    for (const key of listed.body.items) {
      expect(Object.keys(key).sort()).toEqual(['createdAt', 'id', 'name', 'revokedAt', 'scopes', 'tenantId']);
    }
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key.slice(-43));
    // The same keys the operator sees.
    expect((await world.admin.get(`/v1/tenants/${tenantId}/api-keys?limit=100`)).body).toEqual(listed.body);
  });

  it('refuses to grant a scope it lacks, * included, with 403 scope_not_held, writing nothing', async () => {
    const { tenantId, manager } = await tenantWithKey(['keys:manage', 'channels:read']);
    const before = await storedKeys(tenantId);
    for (const scopes of [['channels:write'], ['channels:read', 'messages:send'], ['*']]) {
      const refused = await manager.post('/v1/api-keys', { name: 'more', scopes });
      expect(refused.status, scopes.join()).toBe(403);
      expect(refused.body.error.code).toBe('scope_not_held');
      expect(refused.body.error.message).toContain(
        scopes.filter((scope) => scope !== 'channels:read').join(', '),
      );
    }
    expect(await storedKeys(tenantId)).toEqual(before);
  });

  it('cannot grant *, even holding every scope there is by name; a * key can', async () => {
    const everyScope = [
      'channels:read',
      'channels:write',
      'messages:send',
      'messages:read',
      'webhooks:manage',
      'privacy:manage',
      'keys:manage',
    ];
    const { owner, manager } = await tenantWithKey(everyScope);
    expect((await manager.post('/v1/api-keys', { name: 'all', scopes: everyScope })).status).toBe(201);
    expect((await manager.post('/v1/api-keys', { name: 'root', scopes: ['*'] })).body.error.code).toBe(
      'scope_not_held',
    );
    const root = await owner.post('/v1/api-keys', { name: 'root', scopes: ['*'] });
    expect(root).toMatchObject({ status: 201, body: { scopes: ['*'] } });
  });

  it('cannot revoke itself: 409 revoking_own_key, and the key keeps working', async () => {
    const { tenantId, manager, managerKeyId } = await tenantWithKey(['keys:manage']);
    const refused = await manager.delete(`/v1/api-keys/${managerKeyId}`);
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'revoking_own_key' } } });
    await sleep(1_100);
    expect((await manager.get('/v1/api-keys')).status).toBe(200);
    expect(
      (await storedKeys(tenantId)).every((item) => (item as { revokedAt?: string }).revokedAt === undefined),
    ).toBe(true);
  });

  it('cannot revoke a key holding a scope it lacks (the tenant’s * key): 403 scope_not_held', async () => {
    const { tenantId, owner, ownerKeyId, manager } = await tenantWithKey(['keys:manage', 'channels:read']);
    const before = await storedKeys(tenantId);
    const refused = await manager.delete(`/v1/api-keys/${ownerKeyId}`);
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'scope_not_held' } } });
    expect(refused.body.error.message).toContain('*');
    expect(await storedKeys(tenantId)).toEqual(before);
    await sleep(1_100);
    expect((await owner.get('/v1/channels')).status).toBe(200);
  });

  it('revokes a key within its scopes: it stops within the cache, and revoking it again is 404', async () => {
    const { manager } = await tenantWithKey(['keys:manage', 'channels:read']);
    const issued = (await manager.post('/v1/api-keys', { name: 'temp', scopes: ['channels:read'] })).body;
    const temp: ApiClient = world.anonymous.as(issued.key);
    expect((await temp.get('/v1/channels')).status).toBe(200);
    const revoked = await manager.delete(`/v1/api-keys/${issued.id}`);
    expect(revoked).toMatchObject({ status: 200, body: { id: issued.id, revokedAt: expect.any(String) } });
    expect(revoked.body.key).toBeUndefined();
    await sleep(1_100);
    expect((await temp.get('/v1/channels')).status).toBe(401);
    expect(await manager.delete(`/v1/api-keys/${issued.id}`)).toMatchObject({
      status: 404,
      body: { error: { code: 'api_key_not_found' } },
    });
  });

  it('lets a key without keys:manage do none of it, and the admin key neither (it has the operator’s routes)', async () => {
    const { tenantId, manager, managerKeyId } = await tenantWithKey(['channels:read']);
    for (const response of [
      await manager.get('/v1/api-keys'),
      await manager.post('/v1/api-keys', { name: 'x', scopes: ['channels:read'] }),
      await manager.delete(`/v1/api-keys/${managerKeyId}`),
    ]) {
      expect(response).toMatchObject({ status: 403, body: { error: { code: 'insufficient_scope' } } });
    }
    expect((await world.admin.get('/v1/api-keys')).body.error.code).toBe('tenant_only');
    expect((await world.admin.get(`/v1/tenants/${tenantId}/api-keys`)).status).toBe(200);
  });
});
