import { z } from 'zod';
import { isId } from './ids.ts';

// What a clinic asks to send (`POST /v1/channels/{id}/messages`), shaped like Meta's WhatsApp Cloud
// API where it has the same concept, so existing integrations port easily.

const e164 = z.string().regex(/^\+[1-9]\d{7,14}$/, 'must be an E.164 phone number such as +5511987654321');

/**
 * One of the channel's messages, by our id: it is looked up by key, and a key DynamoDB cannot hold
 * (over 1 KB) fails the lookup itself. Its length is checked first, so a huge value costs nothing.
 */
const messageId = z
  .string()
  .max(40, { abort: true })
  .refine((value) => isId('message', value), 'must be a message id such as msg_01JDQ7Z8K3M4N5P6Q7R8S9T0VW');

/** One of the tenant's uploads (`POST /v1/media`), by its id: anything else names no object. */
const mediaId = z
  .string()
  .max(40, { abort: true })
  .refine((value) => isId('media', value), 'must be a media id such as med_01JDQ7Z8K3M4N5P6Q7R8S9T0VW');

/** Room for a presigned URL with a session token; the send's queue message and record must hold it. */
export const MAX_MEDIA_LINK_LENGTH = 4096;

/** Media by our own upload id or by an HTTPS link the platform downloads. */
const media = z
  .object({
    link: z
      .url({ protocol: /^https?$/ })
      .max(MAX_MEDIA_LINK_LENGTH)
      .optional(),
    mediaId: mediaId.optional(),
    caption: z.string().max(1024).optional(),
    filename: z.string().min(1).max(255).optional(),
    mimeType: z
      .string()
      .regex(/^[\w.+-]+\/[\w.+-]+$/)
      .optional(),
  })
  .refine((value) => (value.link === undefined) !== (value.mediaId === undefined), {
    message: 'give exactly one of link or mediaId',
  });

const contact = z.object({
  name: z.object({ formattedName: z.string().min(1).max(200) }),
  phones: z
    .array(z.object({ phone: z.string().min(3).max(32), type: z.string().max(20).optional() }))
    .min(1)
    .max(10),
});

export const outboundContentSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.object({ body: z.string().min(1).max(4096) }) }),
  z.object({ type: z.literal('image'), image: media }),
  z.object({ type: z.literal('document'), document: media }),
  z.object({ type: z.literal('audio'), audio: media }),
  z.object({ type: z.literal('video'), video: media }),
  z.object({
    type: z.literal('location'),
    location: z.object({
      latitude: z.number().min(-90).max(90),
      longitude: z.number().min(-180).max(180),
      name: z.string().max(200).optional(),
      address: z.string().max(500).optional(),
    }),
  }),
  z.object({ type: z.literal('contacts'), contacts: z.array(contact).min(1).max(10) }),
  z.object({
    type: z.literal('reaction'),
    reaction: z.object({ messageId, emoji: z.string().max(16) }),
  }),
]);

export const outboundMessageSchema = z.intersection(
  z.object({
    to: e164,
    /** Reply to one of the channel's messages. */
    context: z.object({ messageId }).optional(),
  }),
  outboundContentSchema,
);

export type OutboundContent = z.output<typeof outboundContentSchema>;
export type OutboundMessage = z.output<typeof outboundMessageSchema>;
export const OUTBOUND_MESSAGE_TYPES = outboundContentSchema.options.map((option) => option.shape.type.value);
