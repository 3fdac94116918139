import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ValidationError } from './errors.ts';
import { idBody, isId } from './ids.ts';

export const API_KEY_SCOPES = [
  'channels:read',
  'channels:write',
  'messages:send',
  'messages:read',
  'webhooks:manage',
  'privacy:manage',
  /** The tenant's own keys: list, issue (with scopes the key holds itself), revoke. */
  'keys:manage',
  '*',
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** A stored key: the secret itself is never kept, only its SHA-256. */
export interface ApiKey {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly scopes: readonly ApiKeyScope[];
  readonly secretHash: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/**
 * A presented key is `cwa_` + the tenant's ULID + the key's ULID + 43 characters of secret
 * (32 random bytes, base64url). Carrying the tenant and key ids lets authentication read exactly
 * one tenant-scoped item; the secret is compared by hash in constant time.
 */
const KEY_PREFIX = 'cwa_';
const PRESENTED_KEY = new RegExp(
  `^${KEY_PREFIX}([0-9A-HJKMNP-TV-Z]{26})([0-9A-HJKMNP-TV-Z]{26})([A-Za-z0-9_-]{43})$`,
);

export interface PresentedKey {
  readonly tenantId: string;
  readonly keyId: string;
  readonly secret: string;
}

export function issueApiKeySecret(tenantId: string, keyId: string): { key: string; secretHash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { key: `${KEY_PREFIX}${idBody(tenantId)}${idBody(keyId)}${secret}`, secretHash: hashSecret(secret) };
}

/** Returns null for anything that is not shaped like one of our keys (the caller answers 401). */
export function parsePresentedKey(presented: string): PresentedKey | null {
  const match = PRESENTED_KEY.exec(presented);
  if (!match) return null;
  const [, tenantBody, keyBody, secret] = match as unknown as [string, string, string, string];
  return { tenantId: `ten_${tenantBody}`, keyId: `key_${keyBody}`, secret };
}

export function secretMatches(secret: string, secretHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(secretHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

export function hasScope(key: Pick<ApiKey, 'scopes'>, needed: ApiKeyScope): boolean {
  return key.scopes.includes('*') || key.scopes.includes(needed);
}

/**
 * The scopes of `requested` that `holder` does not hold itself. A key hands out no more than it has:
 * `*` covers every scope, those added later too, so only a `*` key may grant `*`.
 */
export function scopesBeyond(
  holder: Pick<ApiKey, 'scopes'>,
  requested: readonly ApiKeyScope[],
): ApiKeyScope[] {
  if (holder.scopes.includes('*')) return [];
  return requested.filter((scope) => !holder.scopes.includes(scope));
}

export function validateNewApiKey(input: { name: string; scopes: readonly string[] }): {
  name: string;
  scopes: ApiKeyScope[];
} {
  const issues = [];
  const name = input.name.trim();
  if (name.length < 1 || name.length > 100) {
    issues.push({ field: 'name', message: 'name must have 1 to 100 characters' });
  }
  const unknown = input.scopes.filter((scope) => !(API_KEY_SCOPES as readonly string[]).includes(scope));
  if (input.scopes.length === 0 || unknown.length > 0) {
    issues.push({
      field: 'scopes',
      message: `scopes must be a non-empty list of ${API_KEY_SCOPES.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`,
    });
  }
  if (issues.length > 0) throw new ValidationError('The API key is not valid', issues);
  return { name, scopes: [...new Set(input.scopes)] as ApiKeyScope[] };
}

export function isApiKeyId(value: string): boolean {
  return isId('apiKey', value);
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
