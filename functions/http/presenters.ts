import type { ApiKey } from '#shared/domain/api-key.ts';
import {
  type Channel,
  type ChannelCounts,
  type ChannelSummary,
  currentPairing,
} from '#shared/domain/channel.ts';
import type { PlatformEvent } from '#shared/domain/events.ts';
import { type Message, typedContent } from '#shared/domain/message.ts';
import type { Page } from '#shared/domain/pagination.ts';
import type { Tenant } from '#shared/domain/tenant.ts';
import type { Delivery, Webhook } from '#shared/domain/webhook.ts';
import type { RunnersView } from '#shared/use-cases/operations.ts';

// Domain records as the API shows them: no internal fields (versions, shards, hashes), secrets only
// where the contract shows them once, and a channel's pairing secret only while it is valid.

export function tenantView(tenant: Tenant) {
  const { id, name, status, retentionDays, createdAt, updatedAt } = tenant;
  return { id, name, status, retentionDays, createdAt, updatedAt };
}

export function apiKeyView(apiKey: ApiKey) {
  const { id, tenantId, name, scopes, createdAt, revokedAt } = apiKey;
  return { id, tenantId, name, scopes, createdAt, revokedAt };
}

/** What every answer shows of a channel; its pairing secrets and bookkeeping come apart or never. */
function channelFields(channel: ChannelSummary) {
  const { id, name, status, statusReason, phoneNumber, lid, lastSeenAt, createdAt, updatedAt } = channel;
  return { id, name, status, statusReason, phoneNumber, lid, lastSeenAt, createdAt, updatedAt };
}

export function channelView(channel: Channel, now: Date = new Date()) {
  const pairing = currentPairing(channel, now);
  return {
    ...channelFields(channel),
    ...(pairing?.method === 'qr' ? { qr: pairing.qr, pairingExpiresAt: pairing.expiresAt } : {}),
    ...(pairing?.method === 'pairing_code'
      ? { pairingCode: pairing.pairingCode, pairingExpiresAt: pairing.expiresAt }
      : {}),
  };
}

/** A channel of any tenant, for the operator: whose it is and its shard; never a pairing secret. */
export function adminChannelView(channel: ChannelSummary) {
  return { ...channelFields(channel), tenantId: channel.tenantId, shard: channel.shard };
}

export function channelCountsView(counts: ChannelCounts) {
  const { counted, complete } = counts;
  return {
    counts: counts.counts.map(({ tenantId, status, count }) => ({ tenantId, status, count })),
    counted,
    complete,
  };
}

/** Times as ISO strings named for the clock they were read from: the holder's, the runner's, ours. */
export function runnersView(view: RunnersView) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    cluster: view.cluster,
    shardCount: view.shardCount,
    observedAt: view.observedAt.toISOString(),
    runners: view.runners.map((runner) => ({
      runnerId: runner.runnerId,
      member: runner.member,
      beats: runner.beats,
      lastHeartbeatAtRunnerClock: iso(runner.heartbeatAtMs),
      shards: runner.shards.map(({ shard, token, renewals, expiresAtMs }) => ({
        shard,
        token,
        renewals,
        expiresAtOwnerClock: iso(expiresAtMs),
      })),
    })),
    unownedShards: [...view.unownedShards],
  };
}

export function messageView(message: Message) {
  const { id, channelId, direction, contact, type, status, statusHistory, createdAt } = message;
  const error = statusHistory.findLast((change) => change.error)?.error;
  return {
    id,
    channelId,
    direction,
    // As `message.received` names the patient (`receivedMessageData`): null when no name is known.
    contact: { phoneNumber: contact.phoneNumber, lid: contact.lid, name: contact.name ?? null },
    type,
    ...typedContent(message),
    status,
    statusHistory,
    ...(status === 'failed' && error ? { error } : {}),
    createdAt,
  };
}

/** An event as webhooks deliver it: its envelope, nothing the log keeps beside it. */
export function eventView(event: PlatformEvent) {
  const { id, type, createdAt, tenantId, channelId, data } = event;
  return { id, type, createdAt, tenantId, channelId, data };
}

/** A webhook without its secrets: they are shown once, by the answer that made them. */
export function webhookView(webhook: Webhook) {
  const {
    id,
    url,
    description,
    events,
    channelIds,
    status,
    disabledReason,
    failingSince,
    createdAt,
    updatedAt,
  } = webhook;
  return {
    id,
    url,
    description,
    events,
    channelIds,
    status,
    disabledReason,
    failingSince,
    createdAt,
    updatedAt,
  };
}

/** A delivery with its tries, naming its event by id and type (the payload is what was POSTed). */
export function deliveryView(delivery: Delivery) {
  const { id, webhookId, event, status, attemptCount, attempts, nextAttemptAt, createdAt, updatedAt } =
    delivery;
  return {
    id,
    webhookId,
    eventId: event.id,
    eventType: event.type,
    status,
    attemptCount,
    attempts: attempts.map(({ at, statusCode, latencyMs, error, responseExcerpt }) => ({
      at,
      statusCode,
      latencyMs,
      error,
      responseExcerpt,
    })),
    nextAttemptAt,
    createdAt,
    updatedAt,
  };
}

export function pageView<T, V>(page: Page<T>, view: (item: T) => V) {
  return { items: page.items.map(view), nextCursor: page.nextCursor };
}
