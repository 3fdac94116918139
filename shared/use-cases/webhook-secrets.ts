import { newSecretValue, signingSecrets, type Webhook, type WebhookSecret } from '../domain/webhook.ts';
import type { WebhookSecretCipher, WebhookSecretOwner } from '../ports.ts';

// A webhook's signing secrets in clear and sealed (docs/architecture.md, "Webhook secrets"). A new
// secret is sealed for its webhook before anything keeps it; the clear one goes back to the caller
// to be shown once. The dispatcher opens the secrets that sign a try, every try, through a short
// cache of its own (`withOpenedSecretsCache`).

/** A new secret for `owner`: in clear (to show once) and as its webhook keeps it (sealed). */
export async function issueSecret(
  cipher: WebhookSecretCipher,
  owner: WebhookSecretOwner,
  now: Date,
): Promise<{ readonly secret: string; readonly kept: WebhookSecret }> {
  const secret = newSecretValue();
  const sealed = await cipher.seal(owner, secret);
  return { secret, kept: { sealed, createdAt: now.toISOString(), expiresAt: null } };
}

/** The secrets that sign a request sent at `now`, opened, newest first. */
export function openSigningSecrets(
  cipher: WebhookSecretCipher,
  webhook: Pick<Webhook, 'tenantId' | 'id' | 'secrets'>,
  now: Date,
): Promise<string[]> {
  const owner = { tenantId: webhook.tenantId, webhookId: webhook.id };
  return Promise.all(signingSecrets(webhook, now).map((secret) => cipher.open(owner, secret.sealed)));
}

/** How long the dispatcher keeps an opened secret: a few minutes of deliveries on one KMS call. */
export const OPENED_SECRET_CACHE_MS = 5 * 60_000;
/** Opened secrets kept at most (20 webhooks of 5 secrets each for 10 busy tenants): the oldest go first. */
export const OPENED_SECRET_CACHE_ENTRIES = 1_000;

export interface OpenedSecretsCacheOptions {
  readonly ttlMs?: number;
  readonly maxEntries?: number;
  readonly now?: () => number;
}

/**
 * The cipher, with what it opened kept in memory for `ttlMs`, by owner and ciphertext. By owner too:
 * keyed by the ciphertext alone, a ciphertext copied into another webhook's item would be served
 * from here without KMS checking it against that webhook. A rotation makes a new ciphertext and ends
 * the old ones in the webhook's item: what is cached for a ciphertext no longer listed is never
 * asked for again, and is dropped when it expires. A failed opening is not kept.
 */
export function withOpenedSecretsCache(
  cipher: WebhookSecretCipher,
  options: OpenedSecretsCacheOptions = {},
): WebhookSecretCipher {
  const ttlMs = options.ttlMs ?? OPENED_SECRET_CACHE_MS;
  const maxEntries = options.maxEntries ?? OPENED_SECRET_CACHE_ENTRIES;
  const now = options.now ?? Date.now;
  // In the order they were opened: the first entries are the first to expire.
  const opened = new Map<string, { readonly at: number; readonly secret: Promise<string> }>();

  const forgetExpired = (at: number) => {
    for (const [key, entry] of opened) {
      if (at - entry.at < ttlMs) break;
      opened.delete(key);
    }
  };

  return {
    seal: (owner, secret) => cipher.seal(owner, secret),
    open(owner, sealed) {
      const at = now();
      forgetExpired(at);
      const key = `${owner.tenantId}\u0000${owner.webhookId}\u0000${sealed}`;
      const cached = opened.get(key);
      if (cached) return cached.secret;
      const secret = cipher.open(owner, sealed);
      opened.set(key, { at, secret });
      secret.catch(() => {
        if (opened.get(key)?.secret === secret) opened.delete(key);
      });
      for (const oldest of opened.keys()) {
        if (opened.size <= maxEntries) break;
        opened.delete(oldest);
      }
      return secret;
    },
  };
}
