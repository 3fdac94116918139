// What a key may do to its tenant's keys, as the API's rules say (docs/api.md, "A tenant's own keys"),
// so the page offers only what the API would allow and says why it does not offer the rest. The API
// stays the judge: these only shape the form, and its 403/409 are still shown in words.
import { type ApiKey, SCOPES, type Scope } from './api/models.ts';

/**
 * The key's id from the key itself: `cwa_` + the tenant's ULID + the key's ULID + 43 characters of
 * secret (docs/architecture.md, "API keys"). It finds the signed-in key in its tenant's list, and so
 * its scopes; null for anything else (the admin key).
 */
export function keyIdOf(presented: string): string | null {
  const match = /^cwa_[0-9A-HJKMNP-TV-Z]{26}([0-9A-HJKMNP-TV-Z]{26})[A-Za-z0-9_-]{43}$/.exec(presented);
  return match ? `key_${match[1]}` : null;
}

/** The key managing the list: the tenant's own (its id and scopes), or null for the operator. */
export type KeyHolder = { readonly keyId: string; readonly scopes: readonly Scope[] } | null;

/** The scopes `scopes` holds that the holder does not: `*` covers all, and only `*` covers `*`. */
export function scopesBeyond(holder: KeyHolder, scopes: readonly Scope[]): Scope[] {
  if (holder === null || holder.scopes.includes('*')) return [];
  return scopes.filter((scope) => !holder.scopes.includes(scope));
}

/** The scopes the holder may give a new key: every one for the operator or a `*` key, else its own. */
export function grantableScopes(holder: KeyHolder): Scope[] {
  return SCOPES.filter((scope) => scopesBeyond(holder, [scope]).length === 0);
}

export type Revocability =
  | { readonly kind: 'allowed' }
  | { readonly kind: 'revoked' }
  /** The key making the request: the API answers 409 `revoking_own_key`. */
  | { readonly kind: 'self' }
  /** It holds scopes the holder lacks: the API answers 403 `scope_not_held`. */
  | { readonly kind: 'beyond'; readonly scopes: readonly Scope[] };

export function revocability(holder: KeyHolder, key: ApiKey): Revocability {
  if (key.revokedAt !== null) return { kind: 'revoked' };
  if (holder !== null && key.id === holder.keyId) return { kind: 'self' };
  const beyond = scopesBeyond(holder, key.scopes);
  return beyond.length > 0 ? { kind: 'beyond', scopes: beyond } : { kind: 'allowed' };
}
