import { z } from 'zod';
import { CHANNEL_STATUSES } from '#shared/domain/channel.ts';
import {
  EVENT_TYPES,
  type EventDataByType,
  type EventType,
  MESSAGE_STATUSES,
  type PlatformEvent,
} from '#shared/domain/events.ts';

// Platform events as clinics receive them (a webhook's POST body; the event log's items): the
// envelope of shared/domain/events.ts with each type's `data`. Each schema is typed against the
// domain's `EventDataByType`, so a field added there and forgotten here fails to compile. The
// OpenAPI document's `webhooks` section is generated from these, with the examples below.

const timestamp = z.iso.datetime();
const contact = z.object({
  phoneNumber: z.string().nullable().meta({ description: 'E.164, when known' }),
  lid: z.string().nullable().meta({ description: "WhatsApp's LID, when known" }),
});

const DATA: { readonly [T in EventType]: z.ZodType<EventDataByType[T]> } = {
  'message.received': z.object({
    messageId: z.string(),
    from: contact,
    timestamp,
    type: z
      .string()
      .meta({ description: 'text, image, document, audio, video, location, contacts, reaction…' }),
    content: z
      .record(z.string(), z.unknown())
      .meta({ description: 'The message as the Cloud API shapes it, under the key named by `type`' }),
    context: z.object({ messageId: z.string() }).optional().meta({ description: 'The message replied to' }),
  }),
  'message.status': z.object({
    messageId: z.string(),
    status: z.enum(MESSAGE_STATUSES),
    timestamp,
    recipient: contact,
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  }),
  'channel.qr': z.object({ qr: z.string(), expiresAt: timestamp }),
  'channel.pairing_code': z.object({
    pairingCode: z.string(),
    phoneNumber: z.string(),
    expiresAt: timestamp,
  }),
  'channel.status': z.object({
    status: z.enum(CHANNEL_STATUSES),
    previousStatus: z.enum(CHANNEL_STATUSES),
    reason: z.string().optional(),
  }),
  'channel.logged_out': z.object({ reason: z.string() }),
  'webhook.test': z.object({ message: z.string(), webhookId: z.string() }),
  'webhook.disabled': z.object({
    webhookId: z.string(),
    origin: z.string().meta({
      description: "The webhook URL's origin (scheme://host[:port]); never its path or query",
    }),
    reason: z.enum(['gone', 'failing']),
    failingSince: timestamp.nullable(),
  }),
};

const TENANT = 'ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW';
const CHANNEL = 'chn_01JDQ7Z9A1B2C3D4E5F6G7H8J9';
const WEBHOOK = 'whk_01JDQ7ZB2C3D4E5F6G7H8J9K0M';
const AT = '2026-12-01T09:30:00.000Z';

/** What each event type looks like, for the document's examples. */
export const EVENT_EXAMPLES: { readonly [T in EventType]: PlatformEvent<T> } = {
  'message.received': {
    id: 'evt_01JDQ8A0B1C2D3E4F5G6H7J8K9',
    type: 'message.received',
    createdAt: AT,
    tenantId: TENANT,
    channelId: CHANNEL,
    data: {
      messageId: 'msg_01JDQ8A0B1C2D3E4F5G6H7J8KA',
      from: { phoneNumber: '+5511987654321', lid: '123456789012345@lid' },
      timestamp: '2026-12-01T09:29:59.000Z',
      type: 'text',
      content: { text: { body: 'Posso remarcar para quinta?' } },
    },
  },
  'message.status': {
    id: 'evt_01JDQ8B0B1C2D3E4F5G6H7J8K9',
    type: 'message.status',
    createdAt: AT,
    tenantId: TENANT,
    channelId: CHANNEL,
    data: {
      messageId: 'msg_01JDQ8B0B1C2D3E4F5G6H7J8KA',
      status: 'delivered',
      timestamp: '2026-12-01T09:29:58.000Z',
      recipient: { phoneNumber: '+5511987654321', lid: null },
    },
  },
  'channel.qr': {
    id: 'evt_01JDQ8C0B1C2D3E4F5G6H7J8K9',
    type: 'channel.qr',
    createdAt: AT,
    tenantId: TENANT,
    channelId: CHANNEL,
    data: { qr: '2@Yh3kQ…,kP0x…,Zm9v…,YmFy…', expiresAt: '2026-12-01T09:31:00.000Z' },
  },
  'channel.pairing_code': {
    id: 'evt_01JDQ8D0B1C2D3E4F5G6H7J8K9',
    type: 'channel.pairing_code',
    createdAt: AT,
    tenantId: TENANT,
    channelId: CHANNEL,
    data: { pairingCode: 'K7QF-2MXD', phoneNumber: '+5511977770001', expiresAt: '2026-12-01T09:33:00.000Z' },
  },
  'channel.status': {
    id: 'evt_01JDQ8E0B1C2D3E4F5G6H7J8K9',
    type: 'channel.status',
    createdAt: AT,
    tenantId: TENANT,
    channelId: CHANNEL,
    data: { status: 'open', previousStatus: 'qr' },
  },
  'channel.logged_out': {
    id: 'evt_01JDQ8F0B1C2D3E4F5G6H7J8K9',
    type: 'channel.logged_out',
    createdAt: AT,
    tenantId: TENANT,
    channelId: CHANNEL,
    data: { reason: 'logged_out_on_phone' },
  },
  'webhook.test': {
    id: 'evt_01JDQ8G0B1C2D3E4F5G6H7J8K9',
    type: 'webhook.test',
    createdAt: AT,
    tenantId: TENANT,
    channelId: null,
    data: { message: 'A test event, sent because the clinic asked for one', webhookId: WEBHOOK },
  },
  'webhook.disabled': {
    id: 'evt_01JDQ8H0B1C2D3E4F5G6H7J8K9',
    type: 'webhook.disabled',
    createdAt: AT,
    tenantId: TENANT,
    channelId: null,
    data: {
      webhookId: WEBHOOK,
      origin: 'https://crm.clinica.example',
      reason: 'failing',
      failingSince: '2026-11-26T09:30:00.000Z',
    },
  },
};

const DESCRIPTIONS: { readonly [T in EventType]: string } = {
  'message.received': 'A patient wrote to a channel',
  'message.status': 'A message sent from a channel moved on: sent, delivered, read, or failed',
  'channel.qr': 'A channel waits for its QR to be scanned (valid 60 s, then 20 s for each next one)',
  'channel.pairing_code': 'A channel waits for its pairing code to be typed on the phone (valid 3 min)',
  'channel.status': "A channel's status changed",
  'channel.logged_out': 'The number was logged out (on the phone, or by WhatsApp): pair the channel again',
  'webhook.test': 'Sent to one webhook when the clinic asks for a test (POST /v1/webhooks/{webhookId}/test)',
  'webhook.disabled': 'A webhook stopped: its receiver answered 410, or every delivery failed for 5 days',
};

/** The envelope of one event type (named for the document: `MessageReceivedEvent`…). */
function envelopeOf<T extends EventType>(type: T) {
  return z
    .object({
      id: z.string().meta({ description: 'Stable: deduplicate on it' }),
      type: z.literal(type),
      createdAt: timestamp,
      tenantId: z.string(),
      channelId: z.string().nullable().meta({ description: 'null for events of no channel' }),
      data: DATA[type],
    })
    .meta({ id: eventSchemaId(type), description: DESCRIPTIONS[type] });
}

/** Each event type's schema, made once (a schema's id may be registered once). */
export const EVENT_SCHEMAS: { readonly [T in EventType]: z.ZodType<PlatformEvent<T>> } = Object.fromEntries(
  EVENT_TYPES.map((type) => [type, envelopeOf(type)]),
) as unknown as { [T in EventType]: z.ZodType<PlatformEvent<T>> };

/** `message.received` → `MessageReceivedEvent`. */
function eventSchemaId(type: EventType): string {
  return `${type
    .split(/[._]/)
    .map((word) => `${word[0]?.toUpperCase()}${word.slice(1)}`)
    .join('')}Event`;
}

export function eventDescription(type: EventType): string {
  return DESCRIPTIONS[type];
}

/** Any event: what the event log lists. */
export const anyEventSchema = z.union(EVENT_TYPES.map((type) => EVENT_SCHEMAS[type]));
