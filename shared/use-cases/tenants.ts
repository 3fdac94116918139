import {
  type ApiKey,
  issueApiKeySecret,
  parsePresentedKey,
  secretMatches,
  validateNewApiKey,
} from '../domain/api-key.ts';
import { NotFoundError, UnauthenticatedError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { Page, PageRequest } from '../domain/pagination.ts';
import { type NewTenant, type Tenant, validateNewTenant } from '../domain/tenant.ts';
import type { ApiKeyRepository, TenantRepository } from '../ports.ts';

export interface TenantDependencies {
  readonly tenants: TenantRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly now?: () => Date;
}

export async function createTenant(deps: TenantDependencies, input: NewTenant): Promise<Tenant> {
  const valid = validateNewTenant(input);
  const now = (deps.now?.() ?? new Date()).toISOString();
  const tenant: Tenant = { id: newId('tenant'), ...valid, status: 'active', createdAt: now, updatedAt: now };
  await deps.tenants.create(tenant);
  return tenant;
}

export async function getTenant(deps: TenantDependencies, tenantId: string): Promise<Tenant> {
  const tenant = await deps.tenants.get(tenantId);
  if (!tenant) throw new NotFoundError('tenant', tenantId);
  return tenant;
}

/** Issues a key; the returned `key` is the only time the secret exists outside the caller's hands. */
export async function issueApiKey(
  deps: TenantDependencies,
  tenantId: string,
  input: { name: string; scopes: readonly string[] },
): Promise<{ apiKey: ApiKey; key: string }> {
  const { name, scopes } = validateNewApiKey(input);
  await getTenant(deps, tenantId);
  const id = newId('apiKey');
  const { key, secretHash } = issueApiKeySecret(tenantId, id);
  const createdAt = (deps.now?.() ?? new Date()).toISOString();
  const apiKey: ApiKey = { id, tenantId, name, scopes, secretHash, createdAt, revokedAt: null };
  await deps.apiKeys.create(apiKey);
  return { apiKey, key };
}

/**
 * Resolves the tenant key presented in `Authorization: Bearer …`. Every failure is the same 401, so
 * a caller learns nothing about which tenants or keys exist.
 */
export async function authenticateTenantKey(deps: TenantDependencies, presented: string): Promise<ApiKey> {
  const parsed = parsePresentedKey(presented);
  if (!parsed) throw new UnauthenticatedError();
  const apiKey = await deps.apiKeys.get(parsed.tenantId, parsed.keyId);
  if (!apiKey || apiKey.revokedAt !== null || !secretMatches(parsed.secret, apiKey.secretHash)) {
    throw new UnauthenticatedError();
  }
  const tenant = await deps.tenants.get(apiKey.tenantId);
  if (tenant?.status !== 'active') throw new UnauthenticatedError();
  return apiKey;
}

export function listTenants(deps: TenantDependencies, request: PageRequest): Promise<Page<Tenant>> {
  return deps.tenants.list(request);
}

/**
 * Starts erasing a tenant: from now on its keys authenticate nothing. The erasure of its data is
 * the privacy issue's job; a second call finds the tenant erasing already and changes nothing.
 */
export async function eraseTenant(deps: TenantDependencies, tenantId: string): Promise<Tenant> {
  const tenant = await getTenant(deps, tenantId);
  if (tenant.status === 'erasing') return tenant;
  return deps.tenants.setStatus(tenantId, 'erasing');
}

export async function listApiKeys(
  deps: TenantDependencies,
  tenantId: string,
  request: PageRequest,
): Promise<Page<ApiKey>> {
  await getTenant(deps, tenantId);
  return deps.apiKeys.list(tenantId, request);
}

export async function revokeApiKey(
  deps: TenantDependencies,
  tenantId: string,
  keyId: string,
): Promise<ApiKey> {
  await getTenant(deps, tenantId);
  const revokedAt = (deps.now?.() ?? new Date()).toISOString();
  return deps.apiKeys.revoke(tenantId, keyId, revokedAt);
}
