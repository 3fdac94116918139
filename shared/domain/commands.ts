import { z } from 'zod';
import { outboundMessageSchema } from './outbound-message.ts';

// Commands travel from the API to the runner owning the channel's shard through the shard's SQS FIFO
// queue, grouped by channel (MessageGroupId = channelId) so each channel's commands keep their order.
// `commandId` is the deduplication id and, for a send, the message id: a redelivered send is
// recognised by it and not sent twice.

const base = {
  commandId: z.string().min(1).max(64),
  tenantId: z.string().min(1),
  channelId: z.string().min(1),
  issuedAt: z.iso.datetime(),
};

export const channelCommandSchema = z.discriminatedUnion('type', [
  z.object({
    ...base,
    type: z.literal('connect'),
    method: z.enum(['qr', 'pairing_code']),
    phoneNumber: z
      .string()
      .regex(/^\+[1-9]\d{7,14}$/)
      .optional(),
  }),
  z.object({ ...base, type: z.literal('logout') }),
  z.object({ ...base, type: z.literal('restart') }),
  /** Logout, then erase the session's creds and keys (crypto-shredding). */
  z.object({ ...base, type: z.literal('delete') }),
  z.object({
    ...base,
    type: z.literal('send'),
    messageId: z.string().min(1),
    message: outboundMessageSchema,
  }),
  z.object({ ...base, type: z.literal('mark_read'), messageId: z.string().min(1) }),
  z.object({
    ...base,
    type: z.literal('check_numbers'),
    phoneNumbers: z
      .array(z.string().regex(/^\+[1-9]\d{7,14}$/))
      .min(1)
      .max(50),
  }),
]);

export type ChannelCommand = z.output<typeof channelCommandSchema>;
export type ChannelCommandType = ChannelCommand['type'];
