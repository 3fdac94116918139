import { createHash } from 'node:crypto';

// Key layout of the platform table. Every item of a tenant lives in the tenant's partition, so a
// query can only ever see one tenant's data. Two indexes serve cross-tenant views that never reach a
// tenant: gsi1 the operator's tenant list and a runner's channels of a shard, the sparse, keys-only
// `outbox` index the messages of a shard whose event is still to be published.

export const tenantPartition = (tenantId: string): string => `TENANT#${tenantId}`;

export const tenantKey = (tenantId: string) => ({ pk: tenantPartition(tenantId), sk: 'TENANT' });
export const apiKeyKey = (tenantId: string, keyId: string) => ({
  pk: tenantPartition(tenantId),
  sk: `APIKEY#${keyId}`,
});
export const channelKey = (tenantId: string, channelId: string) => ({
  pk: tenantPartition(tenantId),
  sk: `CHANNEL#${channelId}`,
});

export const messageKey = (tenantId: string, channelId: string, messageId: string) => ({
  pk: tenantPartition(tenantId),
  sk: `MSG#${channelId}#${messageId}`,
});
/**
 * WhatsApp's ids are a few dozen characters, but the sender's client picks them: one too long for a
 * sort key (1 KB) would make its message impossible to record, so a long one is keyed by its digest.
 */
const WA_MESSAGE_ID_IN_KEY_MAX = 128;

/** Maps WhatsApp's message id to ours, for receipts and reactions that only carry WhatsApp's. */
export const waMessageKey = (tenantId: string, channelId: string, waMessageId: string) => ({
  pk: tenantPartition(tenantId),
  sk: `WAMSG#${channelId}#${
    waMessageId.length <= WA_MESSAGE_ID_IN_KEY_MAX
      ? waMessageId
      : `sha256:${createHash('sha256').update(waMessageId).digest('hex')}`
  }`,
});

/**
 * A send's claim on a tenant's `Idempotency-Key` (`SendClaim`), keyed by the key's SHA-256: a key is
 * up to 255 characters of the client's choosing, and need not be kept as sent.
 */
export const sendClaimKey = (tenantId: string, requestKey: string) => ({
  pk: tenantPartition(tenantId),
  sk: `SEND_REQUEST#${createHash('sha256').update(requestKey).digest('hex')}`,
});

export const contactCheckKey = (tenantId: string, checkId: string) => ({
  pk: tenantPartition(tenantId),
  sk: `CHECK#${checkId}`,
});

export const webhookKey = (tenantId: string, webhookId: string) => ({
  pk: tenantPartition(tenantId),
  sk: `WEBHOOK#${webhookId}`,
});
/** How many webhooks the tenant has: the item a create and a delete change with the webhook's. */
export const webhookCountKey = (tenantId: string) => ({ pk: tenantPartition(tenantId), sk: 'WEBHOOKS' });
/** A webhook's deliveries sort by their ids, which begin with their event's: by event time. */
export const deliveryKey = (tenantId: string, webhookId: string, deliveryId: string) => ({
  pk: tenantPartition(tenantId),
  sk: `DLV#${webhookId}#${deliveryId}`,
});
/** The webhook fan-out's cursor in a channel's event order (shared/domain/event-sequence.ts). */
export const eventSequenceCursorKey = (tenantId: string, channelId: string) => ({
  pk: tenantPartition(tenantId),
  sk: `EVSEQ#${channelId}`,
});
export const EVENT_LOG_PREFIX = 'EVLOG#';
/** An event in its tenant's log, at its position (arrival time and id: shared/domain/event-log.ts). */
export const eventLogKey = (tenantId: string, position: string) => ({
  pk: tenantPartition(tenantId),
  sk: `${EVENT_LOG_PREFIX}${position}`,
});
/** An event id's first position in the log (what `after=<event id>` continues from); also its dedupe. */
export const eventIdKey = (tenantId: string, eventId: string) => ({
  pk: tenantPartition(tenantId),
  sk: `EVID#${eventId}`,
});

export const SK_PREFIX = {
  apiKey: 'APIKEY#',
  channel: 'CHANNEL#',
  messagesOf: (channelId: string) => `MSG#${channelId}#`,
  webhook: 'WEBHOOK#',
  deliveriesOf: (webhookId: string) => `DLV#${webhookId}#`,
} as const;

export const ALL_TENANTS_PARTITION = 'TENANTS';
export const shardPartition = (shard: number): string => `SHARD#${shard}`;
/** A message's outbox entry while its event waits to be published (sorted by event id: by time). */
export const outboxPartition = (shard: number): string => `OUTBOX#${shard}`;

export const GSI1 = 'gsi1';
/** Keys only (`outboxpk`, `outboxsk` = the event id, and the message's `pk`/`sk`). */
export const OUTBOX_INDEX = 'outbox';

/** The tenant, channel and message a message item's key names (the inverse of `messageKey`). */
export function messageOfKey(key: { pk: string; sk: string }) {
  const tenant = /^TENANT#(.+)$/.exec(key.pk);
  const message = /^MSG#([^#]+)#(.+)$/.exec(key.sk);
  if (!tenant?.[1] || !message?.[1] || !message[2]) throw new RangeError(`not a message key: ${key.sk}`);
  return { tenantId: tenant[1], channelId: message[1], messageId: message[2] };
}
