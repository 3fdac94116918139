import type { ChannelStatus } from './channel.ts';
import type { EventSequence } from './event-sequence.ts';
import { newId } from './ids.ts';

// Platform events: at-least-once, each with a stable id receivers deduplicate on. The envelope is
// the public webhook payload of API.md (less the bus's internal `sequence`: `publicEventOf`);
// EventBridge carries it as the detail, its type as the detail-type.

/** Who publishes: the runners, the API, the webhook dispatcher (`webhook.disabled`). */
export const EVENT_SOURCES = {
  runner: 'clinic-wa.runner',
  api: 'clinic-wa.api',
  webhooks: 'clinic-wa.webhooks',
} as const;

export const MESSAGE_STATUSES = ['queued', 'sent', 'delivered', 'read', 'failed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export interface EventDataByType {
  'channel.qr': { qr: string; expiresAt: string };
  'channel.pairing_code': { pairingCode: string; phoneNumber: string; expiresAt: string };
  'channel.status': { status: ChannelStatus; previousStatus: ChannelStatus; reason?: string };
  'channel.logged_out': { reason: string };
  'message.received': {
    messageId: string;
    /** `name`: the patient's WhatsApp push name, null when their phone sent none. */
    from: { phoneNumber: string | null; lid: string | null; name: string | null };
    timestamp: string;
    type: string;
    /**
     * The content under the key named by `type`, as the Cloud API and the messages API shape it
     * (`typedContent`); a file as `ReceivedMedia`, its download URL added only on the way out.
     */
    content: Record<string, unknown>;
    context?: { messageId: string };
  };
  'message.status': {
    messageId: string;
    status: MessageStatus;
    timestamp: string;
    recipient: { phoneNumber: string | null; lid: string | null };
    error?: { code: string; message: string };
  };
  'webhook.test': { message: string; webhookId: string };
  'webhook.disabled': {
    webhookId: string;
    /**
     * The webhook URL's origin only (scheme://host[:port]): its path and query may carry a token,
     * and this event is kept in the event log and sent to the tenant's other webhooks.
     */
    origin: string;
    reason: 'gone' | 'failing';
    failingSince: string | null;
  };
}

export type EventType = keyof EventDataByType;

/** Every event type, in the order the API documents them. */
export const EVENT_TYPES = [
  'message.received',
  'message.status',
  'channel.qr',
  'channel.pairing_code',
  'channel.status',
  'channel.logged_out',
  'webhook.test',
  'webhook.disabled',
] as const satisfies readonly EventType[];
/** Fails to compile when an event type is missing from `EVENT_TYPES`. */
const everyTypeListed: Exclude<EventType, (typeof EVENT_TYPES)[number]> extends never ? true : never = true;
void everyTypeListed;

export interface PlatformEvent<T extends EventType = EventType> {
  readonly id: string;
  readonly type: T;
  readonly createdAt: string;
  readonly tenantId: string;
  readonly channelId: string | null;
  readonly data: EventDataByType[T];
  /**
   * The event's place in its channel's order (shared/domain/event-sequence.ts): set by the runner on
   * the channel events it publishes on the webhook path, absent on every other event. Internal to
   * the bus and the fan-out; `publicEventOf` leaves it out of what clinics receive and read.
   */
  readonly sequence?: EventSequence;
}

/** The event as clinics get it (a webhook's payload, a stored delivery, the event log): no `sequence`. */
export function publicEventOf<T extends EventType>(event: PlatformEvent<T>): PlatformEvent<T> {
  if (event.sequence === undefined) return event;
  const { sequence: _, ...rest } = event;
  return rest;
}

/**
 * Events that carry a pairing secret: a QR holds the companion's `advSecretKey` (whoever scans it in
 * time links their phone to the channel), a pairing code links the number it was asked for. Nothing
 * may keep one longer than it is valid: they travel apart from every other event (docs/infra.md).
 */
export const PAIRING_SECRET_EVENTS = [
  'channel.qr',
  'channel.pairing_code',
] as const satisfies readonly EventType[];

/** How long WhatsApp accepts each: the first QR of a connection, every next one, a pairing code. */
export const PAIRING_SECRET_VALIDITY_MS = { firstQr: 60_000, nextQr: 20_000, pairingCode: 180_000 } as const;

/** A new event with its stable id: receivers deduplicate retries and redeliveries by it. */
export function platformEvent<T extends EventType>(
  type: T,
  scope: { tenantId: string; channelId: string | null },
  data: EventDataByType[T],
  now: Date = new Date(),
): PlatformEvent<T> {
  return { id: newId('event', now.getTime()), type, createdAt: now.toISOString(), ...scope, data };
}
