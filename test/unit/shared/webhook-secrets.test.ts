import { describe, expect, it } from 'vitest';
import { newId } from '#shared/domain/ids.ts';
import type { WebhookSecretCipher, WebhookSecretOwner } from '#shared/ports.ts';
import {
  issueSecret,
  OPENED_SECRET_CACHE_MS,
  openSigningSecrets,
  withOpenedSecretsCache,
} from '#shared/use-cases/webhook-secrets.ts';
import { MemorySecretCipher } from '#test/support/webhook-fakes.ts';

// A webhook's secrets sealed for their owner, and the dispatcher's cache of what it opened.

/** The in-memory key, counting what is asked of it, refusing while `refusal` is set. */
function countingCipher() {
  const memory = new MemorySecretCipher();
  const calls = { open: 0 };
  let refusal: Error | null = null;
  const cipher: WebhookSecretCipher = {
    seal: (owner, secret) => memory.seal(owner, secret),
    open: async (owner, sealed) => {
      calls.open++;
      if (refusal) throw refusal;
      return memory.open(owner, sealed);
    },
  };
  return {
    cipher,
    calls,
    refuse: (error: Error | null) => {
      refusal = error;
    },
  };
}

const ownerOf = (tenantId = newId('tenant')): WebhookSecretOwner => ({
  tenantId,
  webhookId: newId('webhook'),
});

describe('issuing a secret', () => {
  it('gives it in clear once and keeps it sealed for its webhook alone', async () => {
    const { cipher } = countingCipher();
    const owner = ownerOf();
    const now = new Date('2030-01-01T00:00:00.000Z');
    const { secret, kept } = await issueSecret(cipher, owner, now);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(kept).toEqual({ sealed: expect.any(String), createdAt: now.toISOString(), expiresAt: null });
    expect(kept.sealed).not.toContain(secret);
    expect(Buffer.from(kept.sealed, 'base64').toString('latin1')).not.toContain(secret.slice(6));
    expect(await cipher.open(owner, kept.sealed)).toBe(secret);
    await expect(cipher.open({ ...owner, webhookId: newId('webhook') }, kept.sealed)).rejects.toThrow();
    await expect(cipher.open({ ...owner, tenantId: newId('tenant') }, kept.sealed)).rejects.toThrow();
  });

  it('opens the secrets that sign at a time: the current one and those in their overlap, newest first', async () => {
    const { cipher } = countingCipher();
    const owner = ownerOf();
    const now = new Date('2030-01-01T00:00:00.000Z');
    const current = await issueSecret(cipher, owner, now);
    const previous = await issueSecret(cipher, owner, now);
    const ended = await issueSecret(cipher, owner, now);
    const webhook = {
      tenantId: owner.tenantId,
      id: owner.webhookId,
      secrets: [
        current.kept,
        { ...previous.kept, expiresAt: '2030-01-01T01:00:00.000Z' },
        { ...ended.kept, expiresAt: '2030-01-01T00:00:00.000Z' },
      ],
    };
    expect(await openSigningSecrets(cipher, webhook, now)).toEqual([current.secret, previous.secret]);
    expect(await openSigningSecrets(cipher, webhook, new Date('2030-01-01T02:00:00.000Z'))).toEqual([
      current.secret,
    ]);
  });
});

describe('the cache of opened secrets', () => {
  it('opens a secret once for its lifetime, then asks the key again', async () => {
    const { cipher, calls } = countingCipher();
    let clock = 0;
    const cached = withOpenedSecretsCache(cipher, { now: () => clock });
    const owner = ownerOf();
    const { secret, kept } = await issueSecret(cipher, owner, new Date());
    const opened = await Promise.all([cached.open(owner, kept.sealed), cached.open(owner, kept.sealed)]);
    expect(opened).toEqual([secret, secret]);
    clock += OPENED_SECRET_CACHE_MS - 1;
    expect(await cached.open(owner, kept.sealed)).toBe(secret);
    expect(calls.open).toBe(1);
    clock += 1;
    expect(await cached.open(owner, kept.sealed)).toBe(secret);
    expect(calls.open).toBe(2);
  });

  it('serves a ciphertext to its own owner only: copied to another webhook, the key refuses it', async () => {
    const { cipher, calls } = countingCipher();
    const cached = withOpenedSecretsCache(cipher);
    const owner = ownerOf();
    const { secret, kept } = await issueSecret(cipher, owner, new Date());
    expect(await cached.open(owner, kept.sealed)).toBe(secret);
    const sameTenant = { ...owner, webhookId: newId('webhook') };
    await expect(cached.open(sameTenant, kept.sealed)).rejects.toThrow();
    await expect(cached.open(ownerOf(), kept.sealed)).rejects.toThrow();
    expect(calls.open).toBe(3);
  });

  it('keeps no failure: once the key answers again, the secret opens', async () => {
    const { cipher, calls, refuse } = countingCipher();
    const cached = withOpenedSecretsCache(cipher);
    const owner = ownerOf();
    const { secret, kept } = await issueSecret(cipher, owner, new Date());
    refuse(Object.assign(new Error('KMS is throttling'), { name: 'ThrottlingException' }));
    await expect(cached.open(owner, kept.sealed)).rejects.toMatchObject({ name: 'ThrottlingException' });
    refuse(null);
    expect(await cached.open(owner, kept.sealed)).toBe(secret);
    expect(calls.open).toBe(2);
  });

  it('keeps at most its number of secrets, the oldest going first', async () => {
    const { cipher, calls } = countingCipher();
    const cached = withOpenedSecretsCache(cipher, { maxEntries: 2 });
    const issued = await Promise.all(
      [ownerOf(), ownerOf(), ownerOf()].map(async (owner) => ({
        owner,
        ...(await issueSecret(cipher, owner, new Date())),
      })),
    );
    for (const { owner, kept } of issued) await cached.open(owner, kept.sealed);
    expect(calls.open).toBe(3);
    const [oldest, , newest] = issued;
    if (!oldest || !newest) throw new Error('three issued');
    await cached.open(newest.owner, newest.kept.sealed);
    expect(calls.open).toBe(3);
    expect(await cached.open(oldest.owner, oldest.kept.sealed)).toBe(oldest.secret);
    expect(calls.open).toBe(4);
  });
});
