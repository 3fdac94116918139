import { z } from 'zod';
import { CHANNEL_STATUSES } from '#shared/domain/channel.ts';
import {
  EVENT_TYPES,
  type EventDataByType,
  type EventType,
  MESSAGE_STATUSES,
  type PlatformEvent,
} from '#shared/domain/events.ts';
import { MEDIA_URL_TTL_SECONDS, RECEIVED_MEDIA_TYPES } from '#shared/domain/media.ts';
import { RECEIVED_MESSAGE_TYPES } from '#shared/domain/message.ts';

// Platform events as clinics receive them (a webhook's POST body; the event log's items): the
// envelope of shared/domain/events.ts with each type's `data`. Each schema is typed against the
// domain's `EventDataByType`, so a field added there and forgotten here fails to compile. The
// OpenAPI document's `webhooks` section is generated from these, with the examples below.

const timestamp = z.iso.datetime();
const contact = z.object({
  phoneNumber: z.string().nullable().meta({ description: 'E.164, when known' }),
  lid: z.string().nullable().meta({ description: "WhatsApp's LID, when known" }),
});

const sender = contact.extend({
  name: z.string().nullable().meta({
    description: "The patient's WhatsApp push name, as their phone sent it; null when it sent none",
  }),
});

const receivedMedia = z
  .object({
    mediaId: z.string().nullable().meta({
      description: 'The stored file (`GET /v1/media/{mediaId}`); null when it could not be stored',
    }),
    mediaError: z.enum(['too_large', 'download_failed', 'rejected']).optional().meta({
      description:
        "Why there is no file: over the clinic's size cap, not to be had from WhatsApp, or refused by the store",
    }),
    mimeType: z.string().meta({ description: "As the patient's phone declared it" }),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .nullable()
      .meta({ description: 'SHA-256 of the stored bytes, in hex; null without a file' }),
    size: z.number().int().min(0).nullable().meta({ description: 'Bytes stored; null without a file' }),
    fileName: z.string().nullable().meta({ description: "The file's name (documents), null when none" }),
    caption: z.string().optional(),
    url: z
      .string()
      .optional()
      .meta({
        description: `Downloads the file for ${MEDIA_URL_TTL_SECONDS / 60} minutes: made afresh for each delivery try and each read of the event log, never stored. Later, \`GET /v1/media/{mediaId}\` makes another. Absent without a file`,
      }),
    urlExpiresAt: timestamp.optional().meta({ description: 'When `url` stops working' }),
  })
  .meta({
    id: 'ReceivedMedia',
    description: 'A file a patient sent, kept in the media store under the clinic’s own prefix',
  });

/** What the record keeps of a content too large to carry, or refused by the store. */
const contentElsewhere = [
  z.object({ contentMediaId: z.string(), contentBytes: z.number().int() }).meta({
    id: 'ContentStoredApart',
    description:
      'A content over 128 KiB as JSON: stored as an `application/json` file (`GET /v1/media/{contentMediaId}`)',
  }),
  z.object({ contentError: z.enum(['too_large', 'rejected']) }).meta({
    id: 'ContentRefused',
    description: 'A content the store refused: the message is recorded without it',
  }),
] as const;

/** `{ <key>: <schema> }`, or what stands for a content kept elsewhere under the same key. */
const under = (key: string, schema: z.ZodType) => z.object({ [key]: z.union([schema, ...contentElsewhere]) });

const receivedContent = z
  .union([
    under('text', z.object({ body: z.string() })),
    ...RECEIVED_MEDIA_TYPES.map((type) => under(type, receivedMedia)),
    under(
      'location',
      z.object({
        latitude: z.number().nullable(),
        longitude: z.number().nullable(),
        name: z.string().optional(),
        address: z.string().optional(),
      }),
    ),
    under(
      'contacts',
      z.array(
        z.object({
          name: z.object({ formattedName: z.string() }),
          phones: z.array(z.object({ phone: z.string() })),
        }),
      ),
    ),
    under(
      'reaction',
      z.object({
        messageId: z.string().nullable().meta({ description: "WhatsApp's id of the message reacted to" }),
        emoji: z.string().meta({ description: 'Empty when the patient removed a reaction' }),
      }),
    ),
  ])
  .meta({
    description:
      'The message as the Cloud API shapes it, under the key named by `type`: the same as `GET /v1/channels/{channelId}/messages` shows',
  });

const DATA: { readonly [T in EventType]: z.ZodType<EventDataByType[T]> } = {
  'message.received': z.object({
    messageId: z.string(),
    from: sender,
    timestamp,
    type: z.enum(RECEIVED_MESSAGE_TYPES),
    content: receivedContent,
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
      from: { phoneNumber: '+5511987654321', lid: '123456789012345@lid', name: 'Maria Quintela' },
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

const MEDIA = 'med_01JDQ8A1B2C3D4E5F6G7H8J9KM';

/** A received message of each kind as it reaches a webhook (a file with its download URL). */
function received(
  summary: string,
  n: number,
  type: EventDataByType['message.received']['type'],
  content: Record<string, unknown>,
): { summary: string; value: PlatformEvent<'message.received'> } {
  const example = EVENT_EXAMPLES['message.received'];
  return {
    summary,
    value: {
      ...example,
      id: `evt_01JDQ8A0B1C2D3E4F5G6H7J8${n}M`,
      data: { ...example.data, messageId: `msg_01JDQ8A0B1C2D3E4F5G6H7J8${n}N`, type, content },
    },
  };
}

/** `message.received` as it reaches a webhook, one example per kind of content. */
const RECEIVED_EXAMPLES: Record<string, { summary: string; value: PlatformEvent<'message.received'> }> = {
  text: { summary: 'A text', value: EVENT_EXAMPLES['message.received'] },
  image: received('A photo, with a download URL made for this try', 1, 'image', {
    image: {
      mediaId: MEDIA,
      mimeType: 'image/jpeg',
      sha256: '3b8f6c1ec3a5f1d49e2f8a4d0c6b7e9a1f2d3c4b5a69788f7e6d5c4b3a291807',
      size: 184_320,
      fileName: null,
      caption: 'Foto da receita',
      url: `https://clinic-wa-media.s3.sa-east-1.amazonaws.com/media/${TENANT}/${MEDIA}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=…&X-Amz-Date=20261201T093000Z&X-Amz-Expires=${MEDIA_URL_TTL_SECONDS}&X-Amz-Security-Token=…&X-Amz-Signature=…&X-Amz-SignedHeaders=host`,
      urlExpiresAt: '2026-12-01T09:35:00.000Z',
    },
  }),
  document: received('A document over the clinic’s size cap: no file, no URL', 2, 'document', {
    document: {
      mediaId: null,
      mediaError: 'too_large',
      mimeType: 'application/pdf',
      sha256: null,
      size: null,
      fileName: 'exames-completos.pdf',
    },
  }),
  location: received('A location', 3, 'location', {
    location: { latitude: -23.5613, longitude: -46.6559, name: 'Casa', address: 'Rua Bela Cintra 1578' },
  }),
  contacts: received('A contact card', 4, 'contacts', {
    contacts: [{ name: { formattedName: 'Joana Prado' }, phones: [{ phone: '+55 21 98765-1234' }] }],
  }),
  reaction: received('A reaction to a message', 5, 'reaction', {
    reaction: { messageId: '3EB0A1B2C3D4E5F6A7B8C9D0E1F2A3B4', emoji: '👍' },
  }),
  long: received('A text too long to carry: its content is a file', 6, 'text', {
    text: { contentMediaId: 'med_01JDQ8A1B2C3D4E5F6G7H8J9KN', contentBytes: 300_112 },
  }),
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

/**
 * The examples of an event type in the document (OpenAPI's `examples`): `EVENT_EXAMPLES`'s, and for
 * `message.received` one per kind of content.
 */
export function eventExamples(type: EventType): Record<string, { summary: string; value: PlatformEvent }> {
  return type === 'message.received'
    ? RECEIVED_EXAMPLES
    : { example: { summary: DESCRIPTIONS[type], value: EVENT_EXAMPLES[type] } };
}

/** Any event: what the event log lists. */
export const anyEventSchema = z.union(EVENT_TYPES.map((type) => EVENT_SCHEMAS[type]));
