import { z } from 'zod';
import { API_KEY_SCOPES } from '#shared/domain/api-key.ts';
import { CHANNEL_STATUSES } from '#shared/domain/channel.ts';
import { EVENT_TYPES, MESSAGE_STATUSES } from '#shared/domain/events.ts';
import { ID_PREFIXES, type IdKind, isId } from '#shared/domain/ids.ts';
import { MEDIA_MAX_BYTES } from '#shared/domain/media.ts';
import { outboundMessageSchema } from '#shared/domain/outbound-message.ts';
import { MAX_PAGE_SIZE } from '#shared/domain/pagination.ts';
import { MAX_RETENTION_DAYS } from '#shared/domain/tenant.ts';
import {
  ALL_EVENTS,
  DEFAULT_ROTATION_OVERLAP_SECONDS,
  DELIVERY_STATUSES,
  MAX_CHANNEL_FILTER,
  MAX_DESCRIPTION_LENGTH,
  MAX_RECOVERED_PER_REQUEST,
  MAX_ROTATION_OVERLAP_SECONDS,
  MAX_WEBHOOK_URL_LENGTH,
  WEBHOOK_DISABLED_REASONS,
  WEBHOOK_EVENT_FILTERS,
  WEBHOOK_STATUSES,
} from '#shared/domain/webhook.ts';

// The API's request and response shapes: the handlers validate with them, the OpenAPI document is
// generated from them. `.meta({ id })` names a schema as an OpenAPI component.

const timestamp = z.iso.datetime().meta({ example: '2026-12-01T09:30:00.000Z' });
const e164 = z
  .string()
  .regex(/^\+[1-9]\d{7,14}$/, 'must be an E.164 phone number such as +5511987654321')
  .meta({ example: '+5511987654321' });

/** A path id of one kind: anything else is answered as an absent resource would be (404). */
export const idParam = (kind: IdKind) =>
  z
    .string()
    .max(40)
    .refine((value) => isId(kind, value), `must be a ${kind} id`);

/** What an `Idempotency-Key` header may be: the router checks it, the OpenAPI document declares it. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'channel_not_found' }),
      message: z.string(),
      requestId: z.string(),
      fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });

export const pageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_SIZE)
    .optional()
    .meta({ description: `Items per page, 1 to ${MAX_PAGE_SIZE} (default 20)` }),
  cursor: z.string().max(2048).optional().meta({ description: "The previous page's `nextCursor`" }),
});

export const pageOf = <T extends z.ZodType>(item: T, id: string) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() }).meta({ id });

// Tenants and keys (admin)

export const newTenantSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    retentionDays: z.number().int().min(1).max(MAX_RETENTION_DAYS).optional(),
  })
  .strict()
  .meta({ id: 'NewTenant' });

export const tenantSchema = z
  .object({
    id: z.string().meta({ example: 'ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW' }),
    name: z.string(),
    status: z.enum(['active', 'erasing']),
    retentionDays: z.number().int(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Tenant' });

const scope = z.enum(API_KEY_SCOPES);

export const newApiKeySchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(scope).min(1).max(API_KEY_SCOPES.length),
  })
  .strict()
  .meta({ id: 'NewApiKey' });

export const apiKeySchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    name: z.string(),
    scopes: z.array(scope),
    createdAt: timestamp,
    revokedAt: timestamp.nullable(),
  })
  .meta({ id: 'ApiKey' });

export const issuedApiKeySchema = apiKeySchema
  .extend({ key: z.string().meta({ description: 'The secret key, shown this once' }) })
  .meta({ id: 'IssuedApiKey' });

export const apiKeyPageSchema = pageOf(apiKeySchema, 'ApiKeyPage');

// Channels

export const newChannelSchema = z
  .object({ name: z.string().trim().min(1).max(100) })
  .strict()
  .meta({ id: 'NewChannel' });

export const channelSchema = z
  .object({
    id: z.string().meta({ example: 'chn_01JDQ7Z8K3M4N5P6Q7R8S9T0VW' }),
    name: z.string(),
    status: z.enum(CHANNEL_STATUSES),
    statusReason: z.string().nullable(),
    phoneNumber: e164.nullable(),
    lid: z.string().nullable(),
    qr: z.string().optional().meta({ description: 'While `status` is `qr`: the QR to scan' }),
    pairingCode: z
      .string()
      .optional()
      .meta({ description: 'While `status` is `pairing_code`: the code to type on the phone' }),
    pairingExpiresAt: timestamp.optional(),
    lastSeenAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Channel' });

export const connectSchema = z
  .discriminatedUnion('method', [
    z.object({ method: z.literal('qr') }).strict(),
    z.object({ method: z.literal('pairing_code'), phoneNumber: e164 }).strict(),
  ])
  .meta({ id: 'ConnectRequest' });

export const qrQuery = z.object({ format: z.enum(['text', 'png', 'svg']).default('text') });

export const qrSchema = z
  .object({ qr: z.string(), expiresAt: timestamp })
  .meta({ id: 'ChannelQr', description: 'The QR as text; `format=png|svg` answers the image itself' });

export const acceptedSchema = z
  .object({ id: z.string(), status: z.string() })
  .meta({ id: 'Accepted', description: 'What was accepted and its state now' });

// Messages

export const sendMessageSchema = outboundMessageSchema.meta({ id: 'SendMessage' });

const statusChange = z.object({
  status: z.enum(MESSAGE_STATUSES),
  at: timestamp,
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

export const messageSchema = z
  .object({
    id: z.string().meta({ example: 'msg_01JDQ7Z8K3M4N5P6Q7R8S9T0VW' }),
    channelId: z.string(),
    direction: z.enum(['outbound', 'inbound']),
    contact: z.object({
      phoneNumber: e164.nullable(),
      lid: z.string().nullable(),
      name: z.string().nullable().meta({
        description:
          "The patient's WhatsApp push name, as their phone sent it with a received message; null on outbound messages and when none was sent",
      }),
    }),
    type: z.string(),
    status: z.enum([...MESSAGE_STATUSES, 'received']),
    statusHistory: z.array(statusChange),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    createdAt: timestamp,
  })
  .catchall(z.unknown())
  .meta({
    id: 'Message',
    description:
      'The content is under the key named by `type`, as in the WhatsApp Cloud API; a received message’s exactly as its `message.received` event carries it (a file as `ReceivedMedia`, without a URL: `GET /v1/media/{mediaId}` makes one)',
  });

const messageFilter = {
  contact: e164.optional(),
  direction: z.enum(['outbound', 'inbound']).optional(),
};

export const messageListQuery = pageQuery.extend(messageFilter);

/**
 * The list's filter and page as a JSON body (`POST …/messages/search`): a contact's number in a
 * query string is written down by every access log on its way (CloudFront's, a proxy's); in a body,
 * by none.
 */
export const messageSearchSchema = z
  .object({
    ...messageFilter,
    limit: z
      .number()
      .int()
      .min(1)
      .max(MAX_PAGE_SIZE)
      .optional()
      .meta({ description: `Items per page, 1 to ${MAX_PAGE_SIZE} (default 20)` }),
    cursor: pageQuery.shape.cursor,
  })
  .strict()
  .meta({ id: 'MessageSearch' });

export const queuedMessageSchema = z
  .object({ id: z.string(), status: z.literal('queued') })
  .meta({ id: 'QueuedMessage' });

export const contactCheckRequestSchema = z
  .object({ phoneNumbers: z.array(e164).min(1).max(50) })
  .strict()
  .meta({ id: 'ContactCheckRequest' });

export const contactCheckSchema = z
  .object({
    id: z.string(),
    status: z.enum(['done', 'pending']),
    results: z
      .array(z.object({ phoneNumber: e164, onWhatsApp: z.boolean(), lid: z.string().nullable() }))
      .optional(),
  })
  .meta({ id: 'ContactCheck' });

// Media

export const uploadQuery = z.object({
  filename: z.string().min(1).max(255).optional().meta({ description: "The file's name, for a raw body" }),
});

export const mediaSchema = z
  .object({
    mediaId: z.string().meta({ example: 'med_01JDQ7Z8K3M4N5P6Q7R8S9T0VW' }),
    mimeType: z.string(),
    fileName: z.string().nullable(),
    size: z.number().int(),
  })
  .meta({ id: 'Media' });

export const newUploadSchema = z
  .object({
    mimeType: z.string().min(3).max(255),
    fileName: z.string().min(1).max(255).optional(),
    size: z.number().int().min(1).max(MEDIA_MAX_BYTES),
  })
  .strict()
  .meta({ id: 'NewMediaUpload' });

export const mediaUploadSchema = mediaSchema
  .extend({
    upload: z.object({
      method: z.literal('PUT'),
      url: z.string(),
      headers: z.record(z.string(), z.string()),
    }),
    expiresAt: timestamp,
  })
  .meta({
    id: 'MediaUpload',
    description: 'PUT the file to `upload.url` with `upload.headers` before `expiresAt`',
  });

export const mediaDownloadSchema = mediaSchema
  .extend({ url: z.string(), expiresAt: timestamp })
  .meta({ id: 'MediaDownload' });

export const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });

// The event log

/** An id of one kind as a pattern the OpenAPI document shows (`isId`'s form). */
const idPattern = (kind: IdKind) => new RegExp(`^${ID_PREFIXES[kind]}_[0-9A-HJKMNP-TV-Z]{26}$`);

/** `message.received,message.status`: one or more event types, comma-separated. */
const oneEventType = EVENT_TYPES.map((type) => type.replace('.', '\\.')).join('|');
const eventTypeList = new RegExp(`^(${oneEventType})(,(${oneEventType}))*$`);

export const eventListQuery = pageQuery
  .extend({
    after: z.string().max(40).regex(idPattern('event'), 'must be an event id').optional().meta({
      description:
        'An event id: the events that arrived after it (404 `event_not_found` when it is not one of your events, or is past your retention)',
    }),
    types: z
      .string()
      .max(500)
      .regex(eventTypeList, `must be a comma-separated list of: ${EVENT_TYPES.join(', ')}`)
      .optional()
      .meta({
        description: 'Only these event types, comma-separated',
        example: 'message.received,message.status',
      }),
    channelId: z
      .string()
      .max(40)
      .regex(idPattern('channel'), 'must be a channel id')
      .optional()
      .meta({ description: "Only this channel's events" }),
  })
  .refine((query) => query.after === undefined || query.cursor === undefined, {
    path: ['cursor'],
    message: 'give either after or cursor, not both',
  });

export const eventSchema = z
  .object({
    id: z.string().meta({ example: 'evt_01JDQ7Z8K3M4N5P6Q7R8S9T0VW' }),
    type: z.enum(EVENT_TYPES),
    createdAt: timestamp,
    tenantId: z.string(),
    channelId: z.string().nullable(),
    data: z
      .record(z.string(), z.unknown())
      .meta({ description: 'Depends on `type`, as in webhook requests' }),
  })
  .meta({
    id: 'Event',
    description:
      'A platform event, as webhooks deliver it. QR and pairing codes are listed only while they are valid.',
  });
// Webhooks

const webhookUrl = z
  .string()
  .max(MAX_WEBHOOK_URL_LENGTH)
  .refine((value) => URL.canParse(value), 'must be an absolute URL')
  .meta({
    example: 'https://crm.clinica.example/webhooks/whatsapp',
    description:
      'An https URL whose host resolves to public addresses only (422 `webhook_url_not_https`, `webhook_url_forbidden`, `webhook_url_unresolvable`, `webhook_url_invalid` otherwise)',
  });

const eventFilter = z.enum([ALL_EVENTS, ...EVENT_TYPES]);

const webhookEvents = z
  .array(eventFilter)
  .min(1)
  .max(WEBHOOK_EVENT_FILTERS.length)
  .meta({ description: 'Event types to receive; `*` for every type, those added later included' });

const channelFilter = z
  .array(
    z
      .string()
      .max(40)
      .refine((value) => isId('channel', value), 'must be a channel id'),
  )
  .min(1)
  .max(MAX_CHANNEL_FILTER)
  .nullable()
  .meta({
    description:
      "Only these channels' events (422 `invalid_reference` for an id that is not one of the tenant's channels); null or absent: every channel's, and events of no channel",
  });

const webhookDescription = z.string().max(MAX_DESCRIPTION_LENGTH).nullable();

export const newWebhookSchema = z
  .object({
    url: webhookUrl,
    events: webhookEvents,
    channelIds: channelFilter.optional(),
    description: webhookDescription.optional(),
  })
  .strict()
  .meta({ id: 'NewWebhook' });

export const webhookPatchSchema = z
  .object({
    url: webhookUrl.optional(),
    events: webhookEvents.optional(),
    channelIds: channelFilter.optional(),
    description: webhookDescription.optional(),
    enabled: z.boolean().optional().meta({
      description:
        'false disables the webhook; true enables it again and clears `disabledReason` and `failingSince`',
    }),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, 'must change at least one field')
  .meta({ id: 'WebhookPatch' });

export const webhookSchema = z
  .object({
    id: z.string().meta({ example: 'whk_01JDQ7Z8K3M4N5P6Q7R8S9T0VW' }),
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(eventFilter),
    channelIds: z.array(z.string()).nullable(),
    status: z.enum(WEBHOOK_STATUSES),
    disabledReason: z.enum(WEBHOOK_DISABLED_REASONS).nullable().meta({
      description:
        '`gone`: the receiver answered 410; `failing`: every delivery failed for 5 days; `by_clinic`: PATCH `{"enabled": false}`',
    }),
    failingSince: timestamp
      .nullable()
      .meta({ description: 'When the current run of failed deliveries began; null while they succeed' }),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Webhook', description: 'A webhook; its signing secrets are never shown after they are made' });

const webhookSecret = z.string().meta({
  example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  description: 'The signing secret (Standard Webhooks), shown in this answer only',
});

export const issuedWebhookSchema = webhookSchema
  .extend({ secret: webhookSecret })
  .meta({ id: 'IssuedWebhook' });

export const secretRotationSchema = z
  .object({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_ROTATION_OVERLAP_SECONDS)
      .optional()
      .meta({
        description: `How long the previous secret keeps signing, 0 to ${MAX_ROTATION_OVERLAP_SECONDS} s (default ${DEFAULT_ROTATION_OVERLAP_SECONDS})`,
      }),
  })
  .strict()
  .meta({ id: 'SecretRotation' });

export const rotatedSecretSchema = z
  .object({
    id: z.string(),
    secret: webhookSecret,
    previousSecretExpiresAt: timestamp.meta({
      description: 'Until then every request is signed with the previous secret too',
    }),
  })
  .meta({ id: 'RotatedSecret' });

export const queuedDeliverySchema = z
  .object({
    id: z.string().meta({ example: `dlv_${'01JDQ7Z8K3M4N5P6Q7R8S9T0VW'.repeat(2)}` }),
    status: z.literal('pending'),
    eventId: z.string(),
  })
  .meta({ id: 'QueuedDelivery', description: 'A delivery queued for a try now' });

const deliveryAttemptSchema = z
  .object({
    at: timestamp,
    statusCode: z.number().int().nullable().meta({ description: 'null when no response came' }),
    latencyMs: z.number().int(),
    error: z
      .string()
      .nullable()
      .meta({ description: '`timeout`, `http_500`, `redirect_302`, `address_refused`…; null for a 2xx' }),
    responseExcerpt: z.string().nullable().meta({ description: 'The start of the response body' }),
  })
  .meta({ id: 'DeliveryAttempt' });

export const deliverySchema = z
  .object({
    id: z.string().meta({ description: 'Also the `webhook-id` header of every try' }),
    webhookId: z.string(),
    eventId: z.string(),
    eventType: z.enum(EVENT_TYPES),
    status: z.enum(DELIVERY_STATUSES).meta({
      description: '`pending`: to be tried (again); `succeeded`; `dead`: every try failed, redeliver it',
    }),
    attemptCount: z.number().int(),
    attempts: z.array(deliveryAttemptSchema).meta({ description: 'The latest tries, oldest first' }),
    nextAttemptAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'WebhookDelivery' });

export const deliveryListQuery = pageQuery.extend({
  status: z.enum(DELIVERY_STATUSES).optional(),
  since: z.iso
    .datetime()
    .optional()
    .meta({ description: 'Deliveries of events created at or after this instant' }),
});

export const recoveryRequestSchema = z
  .object({
    since: z.iso
      .datetime()
      .meta({ description: 'Dead deliveries of events created at or after this instant' }),
  })
  .strict()
  .meta({ id: 'RecoveryRequest' });

export const recoverySchema = z
  .object({
    count: z.number().int().meta({ description: 'Dead deliveries reopened and queued by this request' }),
    complete: z.boolean().meta({
      description: `false: more than ${MAX_RECOVERED_PER_REQUEST} were found; send the same request again for the next ones`,
    }),
  })
  .meta({ id: 'Recovery' });

// The operator's views (admin key): runners and shards, channels across tenants

const tenantIdFilter = z
  .string()
  .max(40)
  .regex(idPattern('tenant'), 'must be a tenant id')
  .optional()
  .meta({ description: "Only this tenant's channels (none for a tenant that does not exist)" });

export const adminChannelListQuery = pageQuery.extend({
  tenantId: tenantIdFilter,
  status: z.enum(CHANNEL_STATUSES).optional().meta({ description: 'Only channels in this status' }),
});

export const channelCountQuery = z.object({ tenantId: tenantIdFilter });

export const adminChannelSchema = z
  .object({
    id: z.string().meta({ example: 'chn_01JDQ7Z8K3M4N5P6Q7R8S9T0VW' }),
    tenantId: z.string().meta({ example: 'ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW' }),
    shard: z
      .number()
      .int()
      .meta({ description: 'The command shard whose queue, and whose runner, serve the channel' }),
    name: z.string(),
    status: z.enum(CHANNEL_STATUSES),
    statusReason: z.string().nullable(),
    phoneNumber: e164.nullable(),
    lid: z.string().nullable(),
    lastSeenAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({
    id: 'AdminChannel',
    description:
      "A channel as the operator sees it: the tenant's channel fields with its tenant and shard, never its QR or pairing code",
  });

export const channelCountsSchema = z
  .object({
    counts: z.array(
      z.object({ tenantId: z.string(), status: z.enum(CHANNEL_STATUSES), count: z.number().int().min(1) }),
    ),
    counted: z.number().int().meta({ description: 'How many channels were read' }),
    complete: z.boolean().meta({
      description:
        'false: the count stopped at its bound (docs/api.md) and covers only the channels read, an equal share of each shard',
    }),
  })
  .meta({ id: 'ChannelCounts', description: 'Live channels (deleted ones left out) per tenant and status' });

const shardLeaseSchema = z
  .object({
    shard: z.number().int(),
    token: z.number().int().meta({ description: 'The fencing token: one more at every acquisition' }),
    renewals: z.number().int().meta({
      description:
        'One more at every acquisition and renewal (every TTL/3 while held): a lease whose renewals do not move between two reads a TTL apart has a silent holder',
    }),
    expiresAtOwnerClock: timestamp.nullable().meta({
      description:
        "When the lease lapses by the holder's own clock (its clock at its last renewal plus the TTL), as the holder wrote it. No runner decides by it (takers count the time on their own clocks), and it is off by the holder's clock error",
    }),
  })
  .meta({ id: 'ShardLease' });

const runnerSchema = z
  .object({
    runnerId: z.string(),
    member: z.boolean().meta({
      description:
        'false: a lease still names this runner, but it has no membership (it left without releasing, or its membership expired a day after its last heartbeat)',
    }),
    beats: z.number().int().nullable().meta({
      description:
        'Its heartbeat count: one more every TTL/3 while it runs. Compare two reads a TTL apart to tell a live runner from a silent one, as runners do; null when not a member',
    }),
    lastHeartbeatAtRunnerClock: timestamp.nullable().meta({
      description:
        "Its latest heartbeat by the runner's own clock (not compared with any other clock); null when unknown",
    }),
    shards: z.array(shardLeaseSchema).meta({ description: 'The shards whose lease names it, by shard' }),
  })
  .meta({ id: 'Runner' });

export const runnersSchema = z
  .object({
    cluster: z.string().meta({ description: 'The runner cluster whose leases were read' }),
    shardCount: z.number().int(),
    observedAt: timestamp.meta({ description: "When the records were read, by the API's clock" }),
    runners: z.array(runnerSchema).meta({ description: 'Members by id, then owners that are not members' }),
    unownedShards: z.array(z.number().int()).meta({ description: 'Shards no lease names an owner of' }),
  })
  .meta({
    id: 'Runners',
    description:
      "Who holds which shard, as the runners' lease and membership records say (read from the table: the runners' health ports are not reachable from the API)",
  });
