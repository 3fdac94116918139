import { createHash, timingSafeEqual } from 'node:crypto';
import { parsePresentedKey } from '#shared/domain/api-key.ts';
import { UnauthenticatedError } from '#shared/domain/errors.ts';
import { authenticateTenantKey, type TenantDependencies } from '#shared/use-cases/tenants.ts';
import type { Principal } from '../http/principal.ts';

export interface PrincipalDependencies extends TenantDependencies {
  /** The operator's key (Secrets Manager in AWS, the environment locally). */
  adminKey(): Promise<string>;
}

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/**
 * Who an `Authorization` header speaks for: the admin, a tenant key with its scopes, or nobody
 * (`UnauthenticatedError`, the same for every reason, so a caller learns nothing from it).
 */
export async function resolvePrincipal(
  deps: PrincipalDependencies,
  authorization: string | undefined,
): Promise<Principal> {
  const presented = authorization ? BEARER.exec(authorization.trim())?.[1] : undefined;
  if (!presented) throw new UnauthenticatedError();
  // A tenant key says so by its form: its check never waits on (or fails with) the admin secret.
  if (!isPresentedTenantKey(presented)) {
    if (sameSecret(presented, await deps.adminKey())) return { kind: 'admin' };
    throw new UnauthenticatedError();
  }
  const apiKey = await authenticateTenantKey(deps, presented);
  return { kind: 'tenant', tenantId: apiKey.tenantId, keyId: apiKey.id, scopes: apiKey.scopes };
}

function isPresentedTenantKey(presented: string): boolean {
  return parsePresentedKey(presented) !== null;
}

/** Compared as digests, so neither the time taken nor an early length check tells how close it was. */
function sameSecret(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
