// Key layout of the platform table. Every item of a tenant lives in the tenant's partition, so a
// query can only ever see one tenant's data. The one index (gsi1) serves three cross-tenant views that
// never reach a tenant: the operator's tenant list, a runner's channels of a shard and the events of
// a shard's messages still to be published (the outbox).

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
/** Maps WhatsApp's message id to ours, for receipts and reactions that only carry WhatsApp's. */
export const waMessageKey = (tenantId: string, channelId: string, waMessageId: string) => ({
  pk: tenantPartition(tenantId),
  sk: `WAMSG#${channelId}#${waMessageId}`,
});

export const contactCheckKey = (tenantId: string, checkId: string) => ({
  pk: tenantPartition(tenantId),
  sk: `CHECK#${checkId}`,
});

export const SK_PREFIX = {
  apiKey: 'APIKEY#',
  channel: 'CHANNEL#',
  messagesOf: (channelId: string) => `MSG#${channelId}#`,
} as const;

export const ALL_TENANTS_PARTITION = 'TENANTS';
export const shardPartition = (shard: number): string => `SHARD#${shard}`;
/** A message's index entry while its event waits to be published (sorted by event id: by time). */
export const outboxPartition = (shard: number): string => `OUTBOX#${shard}`;

export const GSI1 = 'gsi1';
