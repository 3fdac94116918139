import { randomBytes } from 'node:crypto';
import { ValidationError } from './errors.ts';
import {
  EVENT_TYPES,
  type EventType,
  PAIRING_SECRET_EVENTS,
  type PlatformEvent,
  publicEventOf,
} from './events.ts';
import { idBody, isId } from './ids.ts';

// A clinic's webhook: where events go, which ones, and the secrets that sign them (Standard Webhooks).
// The rules of delivery — what a response means, when to try again, when to give up — live here so
// the dispatcher, the API and the tests read one definition.

/** `*` subscribes to every event type, including types added later. */
export const ALL_EVENTS = '*';
export type WebhookEventFilter = EventType | typeof ALL_EVENTS;

export const WEBHOOK_STATUSES = ['enabled', 'disabled'] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

/** Why a webhook stopped: the receiver answered 410, it failed for `DISABLE_AFTER_FAILING_MS`, or the clinic. */
export const WEBHOOK_DISABLED_REASONS = ['gone', 'failing', 'by_clinic'] as const;
export type WebhookDisabledReason = (typeof WEBHOOK_DISABLED_REASONS)[number];

/**
 * A signing secret as its webhook keeps it: sealed (ports.ts `WebhookSecretCipher`: KMS under the
 * webhook-secrets key, bound to this tenant and webhook), never in clear. In clear a secret is
 * `whsec_` + base64 of 32 random bytes (`newSecretValue`, Standard Webhooks' format, which the
 * `standardwebhooks` package takes as is): it is in the one answer that made it, and in the
 * dispatcher's memory while it signs. After a rotation the previous one stays valid until
 * `expiresAt`, and every request carries a signature with each valid secret.
 */
export interface WebhookSecret {
  /** The secret's ciphertext (base64): it opens only for its own tenant and webhook. */
  readonly sealed: string;
  readonly createdAt: string;
  /** null for the current secret. */
  readonly expiresAt: string | null;
}

export interface Webhook {
  readonly id: string;
  readonly tenantId: string;
  readonly url: string;
  readonly description: string | null;
  readonly events: readonly WebhookEventFilter[];
  /** null: events of every channel (and events of no channel); else only these channels' events. */
  readonly channelIds: readonly string[] | null;
  readonly status: WebhookStatus;
  readonly disabledReason: WebhookDisabledReason | null;
  /** Newest first, each sealed; never shown after creation or rotation. */
  readonly secrets: readonly WebhookSecret[];
  /** When the current run of failed deliveries began; null while deliveries succeed. */
  readonly failingSince: string | null;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const MAX_WEBHOOKS_PER_TENANT = 20;
export const MAX_WEBHOOK_URL_LENGTH = 2048;
export const MAX_CHANNEL_FILTER = 100;
export const MAX_DESCRIPTION_LENGTH = 500;
/**
 * Secrets valid at once (the current one and those still in their overlap): each signs every
 * request, and each is kept in the webhook's item. A rotation past it waits for an overlap to end.
 */
export const MAX_SIGNING_SECRETS = 5;
/** How long the previous secret keeps signing after a rotation, unless the clinic says otherwise. */
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 24 * 3600;
export const MAX_ROTATION_OVERLAP_SECONDS = 7 * 24 * 3600;

/** A new signing secret in clear, to be sealed before it is kept and shown once. */
export function newSecretValue(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The secrets that sign a request sent at `now`: the current one and any still in its overlap. */
export function signingSecrets(webhook: Pick<Webhook, 'secrets'>, now: Date): WebhookSecret[] {
  return webhook.secrets.filter(
    (secret) => secret.expiresAt === null || Date.parse(secret.expiresAt) > now.getTime(),
  );
}

/**
 * The secrets after a rotation at `now`: `fresh` (sealed for this webhook) the new current one, the
 * old current one valid for `overlapSeconds`.
 */
export function rotatedSecrets(
  webhook: Pick<Webhook, 'secrets'>,
  fresh: WebhookSecret,
  now: Date,
  overlapSeconds: number = DEFAULT_ROTATION_OVERLAP_SECONDS,
): WebhookSecret[] {
  if (
    !Number.isInteger(overlapSeconds) ||
    overlapSeconds < 0 ||
    overlapSeconds > MAX_ROTATION_OVERLAP_SECONDS
  ) {
    const message = `overlapSeconds must be an integer from 0 to ${MAX_ROTATION_OVERLAP_SECONDS}`;
    throw new ValidationError(message, [{ field: 'overlapSeconds', message }]);
  }
  const endsAt = new Date(now.getTime() + overlapSeconds * 1000).toISOString();
  const still = signingSecrets(webhook, now)
    .map((secret) => (secret.expiresAt === null ? { ...secret, expiresAt: endsAt } : secret))
    .filter((secret) => overlapSeconds > 0 || secret.expiresAt === null);
  return [{ ...fresh, expiresAt: null }, ...still];
}

/** Whether the webhook takes this event: enabled, the event's type subscribed, its channel included. */
export function webhookWants(
  webhook: Webhook,
  event: Pick<PlatformEvent, 'type' | 'channelId' | 'tenantId'>,
): boolean {
  if (webhook.status !== 'enabled' || webhook.tenantId !== event.tenantId) return false;
  if (!webhook.events.includes(ALL_EVENTS) && !webhook.events.includes(event.type)) return false;
  if (webhook.channelIds === null) return true;
  return event.channelId !== null && webhook.channelIds.includes(event.channelId);
}

/** The event types a webhook may name (`*` included). */
export const WEBHOOK_EVENT_FILTERS: readonly WebhookEventFilter[] = [ALL_EVENTS, ...EVENT_TYPES];

/** What a clinic sets on a webhook (its URL's scheme and address are checked apart: shared/net). */
export interface WebhookSettings {
  readonly url: string;
  readonly events: readonly WebhookEventFilter[];
  readonly channelIds: readonly string[] | null;
  readonly description: string | null;
}

/**
 * Checks the settings given (absent ones are not checked) and returns them normalized: lists
 * without repeats, a blank description as none. Every failing field is named (400).
 */
export function validateWebhookSettings<T extends Partial<Record<keyof WebhookSettings, unknown>>>(
  input: T,
): { [K in keyof T & keyof WebhookSettings]: WebhookSettings[K] } {
  const fields: { field: string; message: string }[] = [];
  const out: Record<string, unknown> = {};
  if ('url' in input && input.url !== undefined) {
    const url = input.url;
    if (typeof url !== 'string' || url.length > MAX_WEBHOOK_URL_LENGTH || !URL.canParse(url))
      fields.push({
        field: 'url',
        message: `must be an absolute URL of at most ${MAX_WEBHOOK_URL_LENGTH} characters`,
      });
    else out.url = url;
  }
  if ('events' in input && input.events !== undefined) {
    const events = input.events;
    if (!Array.isArray(events) || events.length === 0)
      fields.push({ field: 'events', message: 'must list at least one event type (or "*")' });
    else {
      events.forEach((event, index) => {
        if (!(WEBHOOK_EVENT_FILTERS as readonly unknown[]).includes(event))
          fields.push({
            field: `events.${index}`,
            message: `must be one of ${WEBHOOK_EVENT_FILTERS.join(', ')}`,
          });
      });
      out.events = [...new Set(events as WebhookEventFilter[])];
    }
  }
  if ('channelIds' in input && input.channelIds !== undefined) {
    const channelIds = input.channelIds;
    if (channelIds === null) out.channelIds = null;
    else if (!Array.isArray(channelIds) || channelIds.length === 0 || channelIds.length > MAX_CHANNEL_FILTER)
      fields.push({
        field: 'channelIds',
        message: `must be null (every channel) or list 1 to ${MAX_CHANNEL_FILTER} channel ids`,
      });
    else {
      channelIds.forEach((id, index) => {
        if (typeof id !== 'string' || !isId('channel', id))
          fields.push({ field: `channelIds.${index}`, message: 'must be a channel id' });
      });
      out.channelIds = [...new Set(channelIds as string[])];
    }
  }
  if ('description' in input && input.description !== undefined) {
    const description = input.description;
    if (
      description !== null &&
      (typeof description !== 'string' || description.length > MAX_DESCRIPTION_LENGTH)
    )
      fields.push({
        field: 'description',
        message: `must be at most ${MAX_DESCRIPTION_LENGTH} characters, or null`,
      });
    else
      out.description =
        typeof description === 'string' && description.trim() !== '' ? description.trim() : null;
  }
  if (fields.length > 0) {
    throw new ValidationError(`The webhook is not valid: ${fields.map((f) => f.field).join(', ')}`, fields);
  }
  return out as { [K in keyof T & keyof WebhookSettings]: WebhookSettings[K] };
}

// ---- Deliveries ------------------------------------------------------------------------------

/**
 * `pending`: not tried yet or waiting for its next try; `succeeded`; `dead`: every try of the
 * schedule failed (or the receiver said 410), kept for the clinic to redeliver.
 */
export const DELIVERY_STATUSES = ['pending', 'succeeded', 'dead'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliveryAttempt {
  readonly at: string;
  /** null when no response came (timeout, refused address, connection error). */
  readonly statusCode: number | null;
  readonly latencyMs: number;
  /** A machine-readable reason when the attempt failed (`timeout`, `http_500`, `address_refused`…). */
  readonly error: string | null;
  /** The start of the response body, at most `RESPONSE_EXCERPT_BYTES`. */
  readonly responseExcerpt: string | null;
}

/** One event for one webhook; its id is the `webhook-id` header, the same on every try. */
export interface Delivery {
  readonly id: string;
  readonly tenantId: string;
  readonly webhookId: string;
  readonly event: PlatformEvent;
  readonly status: DeliveryStatus;
  /** Tries made, including those of redeliveries. */
  readonly attemptCount: number;
  /**
   * Tries since the delivery was created or last reopened (a redelivery or a recovery restarts the
   * schedule): the failed tries `retryDelayMs` counts. `attemptCount` alone cannot tell, since a
   * reopened dead delivery has every try of its first round behind it.
   */
  readonly roundAttemptCount: number;
  /**
   * Rounds begun since creation: every reopen (a redelivery, a recovery) starts a new one, so a job
   * queued for an earlier round is recognisably stale. 0 until the first reopen.
   */
  readonly generation: number;
  /**
   * While a try is being made: until when it holds the delivery's current try (`claimTry`). No other
   * job may try the delivery before then; past it (its worker died) the try may be made again.
   */
  readonly claimedUntil: string | null;
  /** The latest tries, newest last, at most `MAX_ATTEMPTS_KEPT`. */
  readonly attempts: readonly DeliveryAttempt[];
  readonly nextAttemptAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const MAX_ATTEMPTS_KEPT = 20;
/**
 * Dead deliveries one recovery request reopens at most, so a request's work is bounded (Lambda's
 * 10 s); a reopened delivery is no longer dead, so the same request again takes the next ones.
 */
export const MAX_RECOVERED_PER_REQUEST = 100;
/**
 * A delivery is kept at most this long after it was created, then expires (DynamoDB TTL): it holds
 * the event, patient data among it, so it is kept only as long as a clinic needs to see a failure
 * and recover it — the whole retry schedule (about 3 days) fits many times over — and never longer
 * than its tenant keeps the event (`deliveryExpiry`). A reopen does not extend it.
 */
export const DELIVERY_RETENTION_DAYS = 30;
export const RESPONSE_EXCERPT_BYTES = 512;
/** A receiver that has not answered 2xx within this is a failed try. */
export const DELIVERY_TIMEOUT_MS = 15_000;
/**
 * How long a claimed try holds its delivery: longer than the send's deadline and the writes after
 * it, so two jobs never try one delivery at once; a worker that died mid-try frees it after this.
 */
export const DELIVERY_CLAIM_MS = 4 * DELIVERY_TIMEOUT_MS;
/** A webhook whose deliveries all failed for this long is disabled (and `webhook.disabled` recorded). */
export const DISABLE_AFTER_FAILING_MS = 5 * 24 * 3600_000;

/**
 * Delays before each retry (Standard Webhooks' schedule): a delivery is tried once, then after each
 * of these; after the last failure it is dead. The first try is not delayed.
 */
export const RETRY_SCHEDULE_SECONDS = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400] as const;
/** Jitter: each delay is drawn from ±this share around its nominal value. */
export const RETRY_JITTER = 0.1;

/**
 * When a delivery expires (epoch seconds, DynamoDB's TTL form): DELIVERY_RETENTION_DAYS after it
 * was created, or sooner when its tenant keeps events for less (`retentionDays`, counted from the
 * event's `createdAt`): a delivery never outlives the tenant's retention of the event it holds.
 */
export function deliveryExpiry(
  delivery: Pick<Delivery, 'createdAt' | 'event'>,
  retentionDays?: number | null,
): number {
  const byDelivery = Math.floor(Date.parse(delivery.createdAt) / 1000) + DELIVERY_RETENTION_DAYS * 86_400;
  if (retentionDays === undefined || retentionDays === null) return byDelivery;
  const byEvent = Math.floor(Date.parse(delivery.event.createdAt) / 1000) + retentionDays * 86_400;
  return Math.min(byDelivery, byEvent);
}

/** The delivery id for an event and a webhook: stable, so a retry or a duplicate event reuses it. */
export function deliveryIdOf(eventId: string, webhookId: string): string {
  return `dlv_${idBody(eventId)}${idBody(webhookId)}`;
}

/** A new delivery of an event to a webhook: pending, due at once, not tried yet. */
export function newDelivery(event: PlatformEvent, webhookId: string, now: Date): Delivery {
  const at = now.toISOString();
  return {
    id: deliveryIdOf(event.id, webhookId),
    tenantId: event.tenantId,
    webhookId,
    event,
    status: 'pending',
    attemptCount: 0,
    roundAttemptCount: 0,
    generation: 0,
    claimedUntil: null,
    attempts: [],
    nextAttemptAt: at,
    createdAt: at,
    updatedAt: at,
  };
}

/**
 * The event as a delivery keeps it, and sends it: the public envelope (no internal `sequence`). A QR
 * or a pairing code must not outlive its minutes (docs/architecture.md, "Pairing secrets do not
 * linger"), so a delivery of one keeps the envelope and the expiry only: it is tried from the event
 * in hand while valid, never sent again from storage.
 */
export function storedEventOf(event: PlatformEvent): PlatformEvent {
  const stored = publicEventOf(event);
  if (!isPairingSecretEvent(stored)) return stored;
  const { expiresAt } = stored.data as { expiresAt: string };
  return { ...stored, data: { expiresAt } } as unknown as PlatformEvent;
}

/** Whether a delivery can be tried again from what is stored (not a pairing secret's). */
export function isRedeliverable(delivery: Pick<Delivery, 'event'>): boolean {
  return !isPairingSecretEvent(delivery.event);
}

/** A QR or a pairing code (`PAIRING_SECRET_EVENTS`): sent while valid, never stored whole. */
export function isPairingSecretEvent(event: Pick<PlatformEvent, 'type'>): boolean {
  return (PAIRING_SECRET_EVENTS as readonly string[]).includes(event.type);
}

/** Whether a value has the form of `deliveryIdOf`'s ids (the event's ULID, then the webhook's). */
export function isDeliveryId(value: string): boolean {
  return /^dlv_[0-9A-HJKMNP-TV-Z]{52}$/.test(value);
}

/** The order group of a delivery: one webhook and one channel (events of no channel go together). */
export function deliveryOrderKey(webhookId: string, channelId: string | null): string {
  return `${webhookId}#${channelId ?? '-'}`;
}

/**
 * When the try after `failedTries` failures should run, in ms from now; null when the schedule is
 * over. `scale` shrinks the schedule (local runs and tests), `random` draws the jitter; a receiver's
 * `Retry-After` is honoured when longer than the schedule's delay.
 */
export function retryDelayMs(
  failedTries: number,
  options: { scale?: number; random?: () => number; retryAfterMs?: number | null } = {},
): number | null {
  const nominal = RETRY_SCHEDULE_SECONDS[failedTries - 1];
  if (nominal === undefined) return null;
  const jitter = 1 + RETRY_JITTER * (2 * (options.random ?? Math.random)() - 1);
  const scheduled = Math.round(nominal * 1000 * jitter * (options.scale ?? 1));
  return Math.max(scheduled, options.retryAfterMs ?? 0);
}

export type ResponseVerdict =
  | { readonly outcome: 'succeeded' }
  | { readonly outcome: 'retry'; readonly error: string; readonly retryAfterMs: number | null }
  | { readonly outcome: 'gone'; readonly error: string };

/**
 * What an answer means: 2xx succeeded; 410 disables the webhook; 3xx fails (redirects are not
 * followed); 429 and 503 honour `Retry-After` (seconds or an HTTP date); anything else is retried.
 */
export function judgeResponse(statusCode: number, retryAfter: string | null, now: Date): ResponseVerdict {
  if (statusCode >= 200 && statusCode < 300) return { outcome: 'succeeded' };
  if (statusCode === 410) return { outcome: 'gone', error: 'http_410' };
  const honoursRetryAfter = statusCode === 429 || statusCode === 503;
  return {
    outcome: 'retry',
    error: statusCode >= 300 && statusCode < 400 ? `redirect_${statusCode}` : `http_${statusCode}`,
    retryAfterMs: honoursRetryAfter ? parseRetryAfter(retryAfter, now) : null,
  };
}

/** Longest wait a receiver's `Retry-After` may ask for: the schedule's own longest step. */
const MAX_RETRY_AFTER_MS = 86_400_000;

function parseRetryAfter(value: string | null, now: Date): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now.getTime();
  if (!Number.isFinite(ms) || ms < 0) return null;
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}
