// A tenant managing its own keys with a key of its own (scope `keys:manage`): the operator's use
// cases for a tenant's keys (./tenants.ts), behind the rules that keep a key from reaching past
// itself. A key issues only scopes it holds, revokes only keys whose scopes it holds, and never
// revokes itself (the request that did would be the last it could make).
import { type ApiKey, type ApiKeyScope, scopesBeyond, validateNewApiKey } from '../domain/api-key.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../domain/errors.ts';
import type { Page, PageRequest } from '../domain/pagination.ts';
import { issueApiKey, listApiKeys, revokeApiKey, type TenantDependencies } from './tenants.ts';

/** The key a request was made with, as the authorizer resolved it. */
export interface CallingKey {
  readonly tenantId: string;
  readonly keyId: string;
  readonly scopes: readonly ApiKeyScope[];
}

export function listOwnApiKeys(
  deps: TenantDependencies,
  caller: CallingKey,
  request: PageRequest,
): Promise<Page<ApiKey>> {
  return listApiKeys(deps, caller.tenantId, request);
}

/** A new key of the caller's tenant, with no scope the caller lacks (403 `scope_not_held`). */
export async function issueOwnApiKey(
  deps: TenantDependencies,
  caller: CallingKey,
  input: { name: string; scopes: readonly string[] },
): Promise<{ apiKey: ApiKey; key: string }> {
  const { scopes } = validateNewApiKey(input);
  refuseBeyond(caller, scopes, 'grant');
  return issueApiKey(deps, caller.tenantId, input);
}

/**
 * Revokes another key of the caller's tenant. Not the caller's own (409 `revoking_own_key`), and not
 * one holding a scope the caller lacks (403 `scope_not_held`): a key limited to managing keys must
 * not take away the tenant's broader ones. Absent, another tenant's or revoked already: 404.
 */
export async function revokeOwnApiKey(
  deps: TenantDependencies,
  caller: CallingKey,
  keyId: string,
): Promise<ApiKey> {
  if (keyId === caller.keyId) {
    throw new ConflictError(
      'revoking_own_key',
      'A key cannot revoke itself: revoke it with another key of the tenant that holds its scopes, or ask the operator',
    );
  }
  const target = await deps.apiKeys.get(caller.tenantId, keyId);
  if (!target || target.revokedAt !== null) throw new NotFoundError('api_key', keyId);
  refuseBeyond(caller, target.scopes, 'revoke a key with');
  return revokeApiKey(deps, caller.tenantId, keyId);
}

function refuseBeyond(caller: CallingKey, scopes: readonly ApiKeyScope[], action: string): void {
  const beyond = scopesBeyond(caller, scopes);
  if (beyond.length > 0) {
    throw new ForbiddenError(
      `This key cannot ${action} scopes it does not hold itself: ${beyond.join(', ')}`,
      'scope_not_held',
    );
  }
}
