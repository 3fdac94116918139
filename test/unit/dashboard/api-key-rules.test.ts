import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ApiKey, Scope } from '../../../dashboard/src/api/models.ts';
import { SCOPES } from '../../../dashboard/src/api/models.ts';
import {
  grantableScopes,
  keyIdOf,
  revocability,
  scopesBeyond,
} from '../../../dashboard/src/api-key-rules.ts';
import {
  API_KEY_SCOPES,
  issueApiKeySecret,
  parsePresentedKey,
  scopesBeyond as platformScopesBeyond,
} from '../../../shared/domain/api-key.ts';
import { newId } from '../../../shared/domain/ids.ts';

const key = (id: string, scopes: Scope[], revokedAt: string | null = null): ApiKey => ({
  id,
  tenantId: 'ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW',
  name: id,
  scopes,
  createdAt: '2026-12-01T09:30:00.000Z',
  revokedAt,
});

describe("the dashboard's reading of the API's key rules", () => {
  it("finds a key's id in the key as the platform issues it, and nothing in what is not one", () => {
    for (let each = 0; each < 20; each++) {
      const keyId = newId('apiKey');
      const { key: presented } = issueApiKeySecret(newId('tenant'), keyId);
      expect(keyIdOf(presented)).toBe(keyId);
      expect(keyIdOf(presented)).toBe(parsePresentedKey(presented)?.keyId);
    }
    expect(keyIdOf('adm_abc')).toBeNull();
    expect(keyIdOf('cwa_this-key-does-not-exist')).toBeNull();
  });

  it('knows every scope the platform has', () => {
    expect([...SCOPES].sort()).toEqual([...API_KEY_SCOPES].sort());
  });

  it('finds the same scopes beyond a holder as the API does, for any holder and request', () => {
    const scopes = fc.subarray([...SCOPES]);
    fc.assert(
      fc.property(scopes, scopes, (held, requested) => {
        expect(scopesBeyond({ keyId: 'key_x', scopes: held }, requested)).toEqual(
          platformScopesBeyond({ scopes: held }, requested),
        );
      }),
    );
  });

  it('offers a key only the scopes it holds; `*` only to a `*` key; everything to the operator', () => {
    expect(grantableScopes(null)).toEqual(SCOPES);
    expect(grantableScopes({ keyId: 'key_a', scopes: ['*'] })).toEqual(SCOPES);
    expect(grantableScopes({ keyId: 'key_a', scopes: ['keys:manage', 'channels:read'] })).toEqual([
      'channels:read',
      'keys:manage',
    ]);
    const everyNamed = SCOPES.filter((scope) => scope !== '*');
    expect(grantableScopes({ keyId: 'key_a', scopes: everyNamed })).not.toContain('*');
  });

  it('says why a key may not be revoked: itself (409), scopes the holder lacks (403), revoked already', () => {
    const holder = { keyId: 'key_me', scopes: ['keys:manage', 'channels:read'] as Scope[] };
    expect(revocability(holder, key('key_me', ['keys:manage', 'channels:read']))).toEqual({ kind: 'self' });
    expect(revocability(holder, key('key_all', ['*']))).toEqual({ kind: 'beyond', scopes: ['*'] });
    expect(revocability(holder, key('key_send', ['channels:read', 'messages:send']))).toEqual({
      kind: 'beyond',
      scopes: ['messages:send'],
    });
    expect(revocability(holder, key('key_read', ['channels:read']))).toEqual({ kind: 'allowed' });
    expect(revocability(holder, key('key_old', ['channels:read'], '2026-12-01T10:00:00.000Z'))).toEqual({
      kind: 'revoked',
    });
    // The operator revokes any live key.
    expect(revocability(null, key('key_all', ['*']))).toEqual({ kind: 'allowed' });
  });
});
