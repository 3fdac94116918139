import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { apiKeyKey } from '#shared/aws/dynamo/platform-keys.ts';
import { NotFoundError, UnauthenticatedError } from '#shared/domain/errors.ts';
import type { Page, PageRequest } from '#shared/domain/pagination.ts';
import type { Tenant } from '#shared/domain/tenant.ts';
import { authenticateTenantKey, createTenant, getTenant, issueApiKey } from '#shared/use-cases/tenants.ts';
import { platformRepositories } from './support/platform.ts';

const platform = platformRepositories();

async function allPages<T>(
  list: (request: PageRequest) => Promise<Page<T>>,
  limit: number,
): Promise<Page<T>[]> {
  const pages: Page<T>[] = [];
  let cursor: string | undefined;
  do {
    const page = await list({ limit, ...(cursor ? { cursor } : {}) });
    pages.push(page);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return pages;
}

describe('tenants', () => {
  it('creates a tenant and reads it back with its defaults', async () => {
    const tenant = await createTenant(platform, { name: '  Clínica Sorriso ' });
    expect(tenant).toMatchObject({ name: 'Clínica Sorriso', status: 'active', retentionDays: 90 });
    expect(await getTenant(platform, tenant.id)).toEqual(tenant);
    await expect(getTenant(platform, 'ten_01JDZ8K4F0Q7W6X5V4T3S2R1QP')).rejects.toThrow(NotFoundError);
  });

  it('lists tenants oldest first across pages, each exactly once', async () => {
    const created: Tenant[] = [];
    for (let i = 0; i < 5; i++)
      created.push(await createTenant(platform, { name: `Paged ${i}`, retentionDays: 30 }));
    const pages = await allPages((request) => platform.tenants.list(request), 2);
    for (const page of pages) expect(page.items.length).toBeLessThanOrEqual(2);
    expect(pages.at(-1)?.nextCursor).toBeNull();
    const ids = pages.flatMap((page) => page.items.map((tenant) => tenant.id));
    const ours = ids.filter((id) => created.some((tenant) => tenant.id === id));
    expect(ours).toEqual(created.map((tenant) => tenant.id));
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('API keys', () => {
  it('authenticates a key issued for the tenant and stores only its hash', async () => {
    const tenant = await createTenant(platform, { name: 'Keys' });
    const { apiKey, key } = await issueApiKey(platform, tenant.id, {
      name: 'crm',
      scopes: ['channels:read'],
    });
    expect(await authenticateTenantKey(platform, key)).toEqual(apiKey);

    const stored = await platform.client.send(
      new GetCommand({ TableName: platform.resources.platformTable, Key: apiKeyKey(tenant.id, apiKey.id) }),
    );
    expect(JSON.stringify(stored.Item)).not.toContain(key.slice(-43));
    expect(stored.Item?.secretHash).toBe(apiKey.secretHash);
  });

  it('refuses a tampered secret, a revoked key and a key of an erased tenant with the same 401', async () => {
    const tenant = await createTenant(platform, { name: 'Revocation' });
    const first = await issueApiKey(platform, tenant.id, { name: 'a', scopes: ['*'] });
    const second = await issueApiKey(platform, tenant.id, { name: 'b', scopes: ['*'] });
    const tampered = `${first.key.slice(0, -1)}${first.key.endsWith('A') ? 'B' : 'A'}`;
    await expect(authenticateTenantKey(platform, tampered)).rejects.toThrow(UnauthenticatedError);

    const revoked = await platform.apiKeys.revoke(tenant.id, first.apiKey.id, '2026-11-29T00:00:00.000Z');
    expect(revoked.revokedAt).toBe('2026-11-29T00:00:00.000Z');
    await expect(authenticateTenantKey(platform, first.key)).rejects.toThrow(UnauthenticatedError);
    await expect(
      platform.apiKeys.revoke(tenant.id, first.apiKey.id, '2026-11-29T00:00:01.000Z'),
    ).rejects.toThrow(NotFoundError);

    await platform.tenants.setStatus(tenant.id, 'erasing');
    await expect(authenticateTenantKey(platform, second.key)).rejects.toThrow(UnauthenticatedError);
  });

  it('pages through a tenant’s keys and never issues one to an absent tenant', async () => {
    const tenant = await createTenant(platform, { name: 'Many keys' });
    const issued = [];
    for (let i = 0; i < 3; i++)
      issued.push((await issueApiKey(platform, tenant.id, { name: `k${i}`, scopes: ['*'] })).apiKey);
    const pages = await allPages((request) => platform.apiKeys.list(tenant.id, request), 2);
    expect(pages.map((page) => page.items.length)).toEqual([2, 1]);
    expect(pages.flatMap((page) => page.items)).toEqual(issued);

    await expect(
      issueApiKey(platform, 'ten_01JDZ8K4F0Q7W6X5V4T3S2R1QP', { name: 'ghost', scopes: ['*'] }),
    ).rejects.toMatchObject({ code: 'tenant_not_found', httpStatus: 404 });
  });
});
