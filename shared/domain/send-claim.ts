import { createHash } from 'node:crypto';
import type { OutboundMessage } from './outbound-message.ts';

/** How long the same `Idempotency-Key` and request return the first response (API.md: 24 h). */
export const IDEMPOTENCY_WINDOW_SECONDS = 24 * 3600;

/**
 * How long a send's claim on its key lasts: the window, and an hour more, so that a request retried
 * at the window's end (counted by the client from its first try, which reached us a little later)
 * still finds it. Past it the key may send anew, as Powertools' own record has expired by then.
 */
export const SEND_CLAIM_TTL_SECONDS = IDEMPOTENCY_WINDOW_SECONDS + 3600;

/**
 * What a send under a tenant's `Idempotency-Key` created, stored with its `queued` message in one
 * write: if the request runs again (its Lambda timed out after queuing the command, before its
 * response was kept), the re-execution finds this and reuses the same message and command instead
 * of making new ones; another request under the same key is told apart by its digest.
 */
export interface SendClaim {
  readonly tenantId: string;
  /** The client's `Idempotency-Key` (stored only as its SHA-256, in the item's key). */
  readonly requestKey: string;
  /** The request it was claimed for: its channel and message (`sendRequestDigest`). */
  readonly requestDigest: string;
  readonly channelId: string;
  readonly messageId: string;
  readonly commandId: string;
  readonly issuedAt: string;
  /** When the claim lapses, in seconds since the epoch (the table's TTL attribute). */
  readonly expiresAt: number;
}

/**
 * The digest of a send request: its channel and its message as validated, with object keys sorted,
 * so the same request hashes the same however its JSON was ordered.
 */
export function sendRequestDigest(channelId: string, message: OutboundMessage): string {
  return createHash('sha256').update(canonicalJson({ channelId, message })).digest('hex');
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}
