import { describe, expect, it } from 'vitest';
import {
  hasScope,
  issueApiKeySecret,
  parsePresentedKey,
  scopesBeyond,
  secretMatches,
  validateNewApiKey,
} from '#shared/domain/api-key.ts';
import { ValidationError } from '#shared/domain/errors.ts';
import { newId } from '#shared/domain/ids.ts';

describe('API keys', () => {
  const tenantId = newId('tenant');
  const keyId = newId('apiKey');

  it('presents a key that names its tenant and key and verifies only with its own secret', () => {
    const { key, secretHash } = issueApiKeySecret(tenantId, keyId);
    expect(key).toMatch(/^cwa_[0-9A-Z]{52}[A-Za-z0-9_-]{43}$/);
    expect(secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(secretHash).not.toContain(key.slice(-43));

    const parsed = parsePresentedKey(key);
    expect(parsed).toEqual({ tenantId, keyId, secret: key.slice(-43) });
    expect(secretMatches(key.slice(-43), secretHash)).toBe(true);

    const other = issueApiKeySecret(tenantId, keyId);
    expect(secretMatches(other.key.slice(-43), secretHash)).toBe(false);
  });

  it('rejects anything not shaped like a key', () => {
    for (const presented of ['', 'cwa_', 'Bearer x', `cwa_${'A'.repeat(52)}short`, `xyz_${'A'.repeat(95)}`]) {
      expect(parsePresentedKey(presented)).toBeNull();
    }
  });

  it('grants a scope when listed or when the key has *', () => {
    expect(hasScope({ scopes: ['channels:read'] }, 'channels:read')).toBe(true);
    expect(hasScope({ scopes: ['channels:read'] }, 'messages:send')).toBe(false);
    expect(hasScope({ scopes: ['*'] }, 'privacy:manage')).toBe(true);
  });

  it('lets a key hand out only scopes it holds itself, and only a * key grant *', () => {
    const limited = { scopes: ['keys:manage', 'channels:read'] as const };
    expect(scopesBeyond(limited, ['channels:read'])).toEqual([]);
    expect(scopesBeyond(limited, ['keys:manage', 'channels:read'])).toEqual([]);
    expect(scopesBeyond(limited, ['channels:read', 'channels:write', 'messages:read'])).toEqual([
      'channels:write',
      'messages:read',
    ]);
    // `*` covers scopes added later: holding every scope there is today is not holding `*`.
    const everyScopeByName = {
      scopes: [
        'channels:read',
        'channels:write',
        'messages:send',
        'messages:read',
        'webhooks:manage',
        'privacy:manage',
        'keys:manage',
      ] as const,
    };
    expect(scopesBeyond(everyScopeByName, ['*'])).toEqual(['*']);
    expect(scopesBeyond({ scopes: ['*'] }, ['*', 'privacy:manage'])).toEqual([]);
  });

  it('names the failing fields of a bad key request', () => {
    const attempt = () => validateNewApiKey({ name: ' ', scopes: ['channels:read', 'root'] });
    expect(attempt).toThrow(ValidationError);
    try {
      attempt();
    } catch (error) {
      expect((error as ValidationError).fields.map((f) => f.field)).toEqual(['name', 'scopes']);
      expect((error as ValidationError).fields[1]?.message).toContain('unknown: root');
    }
  });

  it('deduplicates scopes', () => {
    expect(validateNewApiKey({ name: 'crm', scopes: ['*', '*'] }).scopes).toEqual(['*']);
  });
});
