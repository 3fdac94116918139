import { createHash } from 'node:crypto';
import type { ChannelCommand } from './commands.ts';
import type { EventDataByType, MessageStatus } from './events.ts';
import { RECEIVED_MEDIA_TYPES } from './media.ts';

export type MessageDirection = 'outbound' | 'inbound';

/** The types a received message may have: the Cloud API's, as the runner maps WhatsApp's kinds. */
export const RECEIVED_MESSAGE_TYPES = [
  'text',
  ...RECEIVED_MEDIA_TYPES,
  'location',
  'contacts',
  'reaction',
] as const;
export type ReceivedMessageType = (typeof RECEIVED_MESSAGE_TYPES)[number];

export interface MessageParty {
  readonly phoneNumber: string | null;
  readonly lid: string | null;
  /**
   * The patient's WhatsApp push name, as their phone sent it with a received message (absent on
   * outbound messages and on records made before it was kept). Personal data: never logged.
   */
  readonly name?: string | null;
}

export interface StatusChange {
  readonly status: MessageStatus;
  readonly at: string;
  readonly error?: { readonly code: string; readonly message: string };
}

/** A message of a channel, in either direction, with how its status went. */
export interface Message {
  readonly id: string;
  readonly tenantId: string;
  readonly channelId: string;
  readonly direction: MessageDirection;
  /** The WhatsApp message id; for outbound messages derived from `id`, so retries reuse it. */
  readonly waMessageId: string;
  /** The chat's JID as WhatsApp addressed it, needed to react, reply or mark read. */
  readonly remoteJid: string;
  readonly contact: MessageParty;
  readonly type: string;
  readonly content: Record<string, unknown>;
  readonly status: MessageStatus | 'received';
  readonly statusHistory: readonly StatusChange[];
  readonly createdAt: string;
}

/** Statuses only move forward; a late `delivered` after `read` changes nothing. */
const STATUS_RANK: Record<MessageStatus | 'received', number> = {
  queued: 0,
  sent: 1,
  delivered: 2,
  read: 3,
  failed: 4,
  received: 0,
};

export function isStatusAdvance(current: MessageStatus | 'received', next: MessageStatus): boolean {
  if (current === 'failed') return false;
  if (next === 'failed') return current === 'queued';
  return STATUS_RANK[next] > STATUS_RANK[current];
}

/**
 * The WhatsApp id of an outbound message, derived from ours (uppercase hex with WhatsApp Web's `3EB0`
 * prefix): a send retried after a crash reuses it, so recipients see one message, and receipts map
 * back to our message.
 */
export function whatsappMessageId(channelId: string, messageId: string): string {
  return `3EB0${createHash('sha256').update(`${channelId}:${messageId}`).digest('hex').slice(0, 28).toUpperCase()}`;
}

/** The record of an outbound message as its send command asks for it, before anything is sent. */
export function queuedOutboundMessage(
  command: Extract<ChannelCommand, { type: 'send' }>,
  now: Date,
): Message {
  const { message } = command;
  const { to, context: _context, type, ...content } = message;
  return {
    id: command.messageId,
    tenantId: command.tenantId,
    channelId: command.channelId,
    direction: 'outbound',
    waMessageId: whatsappMessageId(command.channelId, command.messageId),
    remoteJid: `${to.replace(/^\+/, '')}@s.whatsapp.net`,
    contact: { phoneNumber: to, lid: null },
    type,
    content: content as Record<string, unknown>,
    status: 'queued',
    statusHistory: [{ status: 'queued', at: now.toISOString() }],
    createdAt: now.toISOString(),
  };
}

/**
 * A message's content the way Meta's Cloud API shapes it: under a key named by its type
 * (`{ text: { body } }`, `{ image: { mediaId, caption } }`, `{ contacts: [...] }`). Outbound records
 * keep it so already; received ones keep the content itself. The one rule for every presentation of
 * a message: the messages API's and the `message.received` event's (`receivedMessageData`).
 */
export function typedContent(message: Pick<Message, 'type' | 'content'>): Record<string, unknown> {
  return message.type in message.content ? message.content : { [message.type]: message.content };
}

/** What a `message.received` event holds beyond its message's record. */
export interface ReceivedEventExtras {
  /** When WhatsApp says the patient sent it. */
  readonly timestamp: string;
  /** The message replied to (our id). */
  readonly context?: { readonly messageId: string };
}

/**
 * The `message.received` data of a received message's record: its contact with the push name, its
 * content presented as the messages API presents it. The recorder publishes it and the outbox
 * rebuilds it from the stored record with this one function, so the event, its republished copy
 * and `GET …/messages` never disagree.
 */
export function receivedMessageData(
  message: Pick<Message, 'id' | 'contact' | 'type' | 'content'>,
  extras: ReceivedEventExtras,
): EventDataByType['message.received'] {
  const { phoneNumber, lid, name } = message.contact;
  return {
    messageId: message.id,
    from: { phoneNumber, lid, name: name ?? null },
    timestamp: extras.timestamp,
    type: message.type,
    content: typedContent(message),
    ...(extras.context ? { context: { messageId: extras.context.messageId } } : {}),
  };
}
