import { randomBytes } from 'node:crypto';
import { ValidationError } from './errors.ts';
import { EVENT_TYPES, type EventType, type PlatformEvent } from './events.ts';
import { idBody } from './ids.ts';

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
 * A signing secret: `whsec_` + base64 of 32 random bytes (Standard Webhooks' format, which the
 * `standardwebhooks` package takes as is). After a rotation the previous one stays valid until
 * `expiresAt`, and every request carries a signature with each valid secret.
 */
export interface WebhookSecret {
  readonly value: string;
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
  /** Newest first; never shown after creation or rotation. */
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
/** How long the previous secret keeps signing after a rotation, unless the clinic says otherwise. */
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 24 * 3600;
export const MAX_ROTATION_OVERLAP_SECONDS = 7 * 24 * 3600;

export function newWebhookSecret(now: Date): WebhookSecret {
  return {
    value: `whsec_${randomBytes(32).toString('base64')}`,
    createdAt: now.toISOString(),
    expiresAt: null,
  };
}

/** The secrets that sign a request sent at `now`: the current one and any still in its overlap. */
export function signingSecrets(webhook: Pick<Webhook, 'secrets'>, now: Date): string[] {
  return webhook.secrets
    .filter((secret) => secret.expiresAt === null || Date.parse(secret.expiresAt) > now.getTime())
    .map((secret) => secret.value);
}

/** The secrets after a rotation: a new current one, the old current one valid for `overlapSeconds`. */
export function rotatedSecrets(
  webhook: Pick<Webhook, 'secrets'>,
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
  const still = webhook.secrets
    .filter((secret) => secret.expiresAt === null || Date.parse(secret.expiresAt) > now.getTime())
    .map((secret) => (secret.expiresAt === null ? { ...secret, expiresAt: endsAt } : secret))
    .filter((secret) => overlapSeconds > 0 || secret.expiresAt === null);
  return [newWebhookSecret(now), ...still];
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
  /** The latest tries, newest last, at most `MAX_ATTEMPTS_KEPT`. */
  readonly attempts: readonly DeliveryAttempt[];
  readonly nextAttemptAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const MAX_ATTEMPTS_KEPT = 20;
export const RESPONSE_EXCERPT_BYTES = 512;
/** A receiver that has not answered 2xx within this is a failed try. */
export const DELIVERY_TIMEOUT_MS = 15_000;
/** A webhook whose deliveries all failed for this long is disabled (and `webhook.disabled` recorded). */
export const DISABLE_AFTER_FAILING_MS = 5 * 24 * 3600_000;

/**
 * Delays before each retry (Standard Webhooks' schedule): a delivery is tried once, then after each
 * of these; after the last failure it is dead. The first try is not delayed.
 */
export const RETRY_SCHEDULE_SECONDS = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400] as const;
/** Jitter: each delay is drawn from ±this share around its nominal value. */
export const RETRY_JITTER = 0.1;

/** The delivery id for an event and a webhook: stable, so a retry or a duplicate event reuses it. */
export function deliveryIdOf(eventId: string, webhookId: string): string {
  return `dlv_${idBody(eventId)}${idBody(webhookId)}`;
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
