import { z } from 'zod';
import { type IdKind, isId } from './ids.ts';
import { outboundMessageSchema } from './outbound-message.ts';

// Commands travel from the API to the runner owning the channel's shard through the shard's SQS FIFO
// queue, grouped by channel (MessageGroupId = channelId) so each channel's commands keep their order.
// `commandId` is the deduplication id and, for a check, the check's id; a send's `messageId` is
// how a redelivered send is recognised and not sent twice. A runner trusts none of it: ids must have
// their exact form, and the runner checks that the tenant owns the channel and that the channel
// belongs to the queue's shard before acting (runner/commands/channel-ownership.ts).

/** How long a command may keep failing for a transient reason before it is given up as `expired`. */
export const DEFAULT_COMMAND_TTL_MS = 24 * 3600_000;

/** An id of one kind, checked for length before its form, so a huge value costs nothing to refuse. */
const idOf = (kind: IdKind) =>
  z
    .string()
    .max(40, { abort: true })
    .refine((value) => isId(kind, value), `must be a ${kind} id`);

const e164 = z.string().regex(/^\+[1-9]\d{7,14}$/);

/** What identifies a command and whom it is for: checked even when the rest of it is not valid. */
export const commandEnvelopeSchema = z.object({
  commandId: idOf('command'),
  tenantId: idOf('tenant'),
  channelId: idOf('channel'),
  issuedAt: z.iso.datetime(),
  /** When a transiently failing command is given up; absent: `issuedAt` + DEFAULT_COMMAND_TTL_MS. */
  expiresAt: z.iso.datetime().optional(),
});

const base = commandEnvelopeSchema.shape;

export const channelCommandSchema = z.discriminatedUnion('type', [
  z.object({
    ...base,
    type: z.literal('connect'),
    method: z.enum(['qr', 'pairing_code']),
    phoneNumber: e164.optional(),
  }),
  z.object({ ...base, type: z.literal('logout') }),
  z.object({ ...base, type: z.literal('restart') }),
  /** Logout, then erase the session's creds and keys (crypto-shredding). */
  z.object({ ...base, type: z.literal('delete') }),
  z.object({
    ...base,
    type: z.literal('send'),
    messageId: idOf('message'),
    message: outboundMessageSchema,
  }),
  z.object({ ...base, type: z.literal('mark_read'), messageId: idOf('message') }),
  z.object({
    ...base,
    type: z.literal('check_numbers'),
    phoneNumbers: z.array(e164).min(1).max(50),
  }),
]);

export type ChannelCommand = z.output<typeof channelCommandSchema>;
export type ChannelCommandType = ChannelCommand['type'];

const COMMAND_TYPES: ReadonlySet<string> = new Set(
  channelCommandSchema.options.map((option) => option.shape.type.value),
);

/**
 * The part of a command that can be read even when the command as a whole is invalid: whom it is
 * for, and for a send which message, so the clinic can be told its message failed. Null when even
 * that is not there.
 */
export function readCommandEnvelope(
  body: unknown,
): (z.output<typeof commandEnvelopeSchema> & { type?: string; messageId?: string }) | null {
  const envelope = commandEnvelopeSchema.safeParse(body);
  if (!envelope.success) return null;
  const { type, messageId } = body as { type?: unknown; messageId?: unknown };
  return {
    ...envelope.data,
    ...(typeof type === 'string' && COMMAND_TYPES.has(type) ? { type } : {}),
    ...(typeof messageId === 'string' && isId('message', messageId) ? { messageId } : {}),
  };
}

/** When a command that keeps failing for a transient reason is given up (epoch milliseconds). */
export function commandDeadline(command: Pick<ChannelCommand, 'issuedAt' | 'expiresAt'>): number {
  return command.expiresAt
    ? Date.parse(command.expiresAt)
    : Date.parse(command.issuedAt) + DEFAULT_COMMAND_TTL_MS;
}
