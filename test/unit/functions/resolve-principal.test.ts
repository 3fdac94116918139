import { describe, expect, it } from 'vitest';
import { resolvePrincipal } from '#functions/authorizer/resolve-principal.ts';
import { type ApiKey, issueApiKeySecret } from '#shared/domain/api-key.ts';
import { UnauthenticatedError } from '#shared/domain/errors.ts';
import { newId } from '#shared/domain/ids.ts';
import type { Tenant } from '#shared/domain/tenant.ts';

const ADMIN = 'adm_0123456789abcdefghijklmnopqrstuvwxyzABCDEF';

function world(adminKey: () => Promise<string>) {
  const tenantId = newId('tenant');
  const keyId = newId('apiKey');
  const { key, secretHash } = issueApiKeySecret(tenantId, keyId);
  const now = new Date().toISOString();
  const tenant: Tenant = {
    id: tenantId,
    name: 'C',
    status: 'active',
    retentionDays: 90,
    createdAt: now,
    updatedAt: now,
  };
  const apiKey: ApiKey = {
    id: keyId,
    tenantId,
    name: 'k',
    scopes: ['channels:read'],
    secretHash,
    createdAt: now,
    revokedAt: null,
  };
  const deps = {
    adminKey,
    tenants: { get: async (id: string) => (id === tenantId ? tenant : null) },
    apiKeys: { get: async (t: string, k: string) => (t === tenantId && k === keyId ? apiKey : null) },
  } as unknown as Parameters<typeof resolvePrincipal>[0];
  return { deps, key, tenantId, keyId };
}

describe('resolvePrincipal', () => {
  it('resolves a tenant key without reading the admin key, even when that read fails', async () => {
    const { deps, key, tenantId, keyId } = world(() => Promise.reject(new Error('ThrottlingException')));
    expect(await resolvePrincipal(deps, `Bearer ${key}`)).toEqual({
      kind: 'tenant',
      tenantId,
      keyId,
      scopes: ['channels:read'],
    });
  });

  it('resolves the admin key, and refuses anything else alike', async () => {
    const { deps, key } = world(async () => ADMIN);
    expect(await resolvePrincipal(deps, `Bearer ${ADMIN}`)).toEqual({ kind: 'admin' });
    const wrongSecret = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    for (const header of [
      undefined,
      '',
      'Basic x',
      `Bearer ${ADMIN}x`,
      `Bearer ${wrongSecret}`,
      `bearer ${key}`,
    ]) {
      await expect(resolvePrincipal(deps, header)).rejects.toBeInstanceOf(UnauthenticatedError);
    }
  });
});
