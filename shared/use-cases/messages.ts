import type { Channel, ChannelStatus } from '../domain/channel.ts';
import type { ChannelCommand } from '../domain/commands.ts';
import {
  ConflictError,
  DomainError,
  idempotencyKeyReused,
  NotFoundError,
  UnprocessableError,
} from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { type Message, queuedOutboundMessage } from '../domain/message.ts';
import type { OutboundMessage } from '../domain/outbound-message.ts';
import type { Page, PageRequest } from '../domain/pagination.ts';
import { SEND_CLAIM_TTL_SECONDS, type SendClaim, sendRequestDigest } from '../domain/send-claim.ts';
import type { MediaStore, MessageFilter, MessageRepository } from '../ports.ts';
import { type ChannelCommandDependencies, getChannel } from './channels.ts';
import { issueCommand } from './issue-command.ts';

export interface MessageDependencies extends ChannelCommandDependencies {
  readonly messages: MessageRepository;
  readonly media: MediaStore;
}

/** A channel in one of these cannot send until the clinic connects it again. */
const CANNOT_SEND: readonly ChannelStatus[] = ['disconnected', 'logged_out'];

/**
 * Accepts a message for sending: its `queued` record, then its send command, both durable when this
 * resolves. The runner sends it when the channel is open (or marks it `failed` with a reason). A
 * reply or reaction must name a message of the same channel.
 *
 * With `requestKey` (the tenant's `Idempotency-Key`) the send runs at most once per key: the record
 * is written with a claim on the key (`putQueuedOnce`). Run again under the key — the request was
 * re-executed after a timeout left no response to replay — the same request gets the first message
 * back, its command issued again with the same ids (SQS drops the copy within five minutes; later,
 * the runner finds the message past `queued`, or sends it once if it never was); another request
 * gets 409 `idempotency_key_reused`. Without a key it writes the record alone, as it always has.
 */
export async function sendMessage(
  deps: MessageDependencies,
  tenantId: string,
  channelId: string,
  message: OutboundMessage,
  options: { readonly requestKey?: string | null } = {},
): Promise<Message> {
  const requestKey = options.requestKey ?? null;
  let channel: Channel;
  try {
    channel = await sendingChannel(deps, tenantId, channelId, message);
  } catch (error) {
    // A re-execution answers as the first run did, even if the channel changed since.
    const replayed =
      requestKey !== null && error instanceof DomainError
        ? await replayClaimed(deps, tenantId, channelId, message, requestKey)
        : null;
    if (replayed) return replayed;
    throw error;
  }

  const now = deps.now?.() ?? new Date();
  const command: SendCommand = {
    type: 'send',
    commandId: newId('command', now.getTime()),
    tenantId,
    channelId,
    issuedAt: now.toISOString(),
    messageId: newId('message', now.getTime()),
    message,
  };
  const record = queuedOutboundMessage(command, now);
  if (requestKey === null) {
    await deps.messages.put(record);
    await queueOrFail(deps, channel, command, null);
    return record;
  }
  const claim = sendClaimOf(command, requestKey, now);
  const held = await deps.messages.putQueuedOnce(record, claim);
  if (held.messageId !== claim.messageId) return replay(deps, held, claim, message, channel);
  await queueOrFail(deps, channel, command, claim);
  return record;
}

type SendCommand = Extract<ChannelCommand, { type: 'send' }>;

/** The channel, if it can send `message`: connected once, and every message or media it names exists. */
async function sendingChannel(
  deps: MessageDependencies,
  tenantId: string,
  channelId: string,
  message: OutboundMessage,
): Promise<Channel> {
  const channel = await getChannel(deps, tenantId, channelId);
  if (CANNOT_SEND.includes(channel.status)) {
    throw new ConflictError(
      'channel_not_connected',
      `Channel ${channelId} is ${channel.status}: connect it before sending`,
    );
  }
  const referenced = [
    ...(message.context ? [['context.messageId', message.context.messageId] as const] : []),
    ...(message.type === 'reaction' ? [['reaction.messageId', message.reaction.messageId] as const] : []),
  ];
  const media = mediaOf(message);
  if (media?.mediaId && !(await deps.media.describe(tenantId, media.mediaId))) {
    throw new UnprocessableError(
      'media_not_found',
      `${message.type}.mediaId: media ${media.mediaId} was not found`,
    );
  }
  for (const [field, id] of referenced) {
    if (!(await deps.messages.get(tenantId, channelId, id))) {
      throw new UnprocessableError(
        'invalid_reference',
        `${field}: message ${id} is not a message of channel ${channelId}`,
      );
    }
  }
  return channel;
}

function sendClaimOf(command: SendCommand, requestKey: string, now: Date): SendClaim {
  return {
    tenantId: command.tenantId,
    requestKey,
    requestDigest: sendRequestDigest(command.channelId, command.message),
    channelId: command.channelId,
    messageId: command.messageId,
    commandId: command.commandId,
    issuedAt: command.issuedAt,
    expiresAt: Math.floor(now.getTime() / 1000) + SEND_CLAIM_TTL_SECONDS,
  };
}

/** The first run's message when `requestKey` is claimed already (null when it is not). */
async function replayClaimed(
  deps: MessageDependencies,
  tenantId: string,
  channelId: string,
  message: OutboundMessage,
  requestKey: string,
): Promise<Message | null> {
  const now = deps.now?.() ?? new Date();
  const held = await deps.messages.getSendClaim(tenantId, requestKey, now);
  if (!held) return null;
  const asked = { requestDigest: sendRequestDigest(channelId, message) };
  const channel = await deps.channels.get(tenantId, channelId);
  return replay(deps, held, asked, message, channel?.deletedAt === null ? channel : null);
}

/**
 * Answers a request run again under a claimed key: another request is a 409; the same one gets the
 * claimed message, its command issued again with the claimed ids while the message is still
 * `queued` (the first run may have ended before queuing it). Nothing new is written.
 */
async function replay(
  deps: MessageDependencies,
  held: SendClaim,
  asked: Pick<SendClaim, 'requestDigest'>,
  message: OutboundMessage,
  channel: Channel | null,
): Promise<Message> {
  if (held.requestDigest !== asked.requestDigest) throw idempotencyKeyReused();
  const command: SendCommand = {
    type: 'send',
    commandId: held.commandId,
    tenantId: held.tenantId,
    channelId: held.channelId,
    issuedAt: held.issuedAt,
    messageId: held.messageId,
    message,
  };
  const stored = await deps.messages.get(held.tenantId, held.channelId, held.messageId);
  // A record erased since (the tenant's retention) is not sent again: the first answer is all.
  if (!stored) return queuedOutboundMessage(command, new Date(held.issuedAt));
  if (stored.status === 'queued' && channel) await queueOrFail(deps, channel, command, held);
  return stored;
}

/**
 * Puts the send command on the channel's queue. If it cannot be queued, nothing will ever send the
 * message: the record says so (`failed`, `not_queued`) rather than stay queued forever, and a
 * claim is released with it, in one write, so the key can be used again.
 */
async function queueOrFail(
  deps: MessageDependencies,
  channel: Channel,
  command: SendCommand,
  claim: SendClaim | null,
): Promise<void> {
  try {
    await issueCommand(deps, channel, command);
  } catch (error) {
    const failure = {
      status: 'failed' as const,
      at: new Date().toISOString(),
      error: { code: 'not_queued', message: 'The message could not be queued for sending' },
    };
    const giveUp = claim
      ? deps.messages.failQueuedAndReleaseClaim(claim, failure)
      : deps.messages.advanceStatus(command.tenantId, command.channelId, command.messageId, failure);
    await giveUp.catch(() => undefined);
    throw error;
  }
}

function mediaOf(message: OutboundMessage): { mediaId?: string | undefined } | null {
  switch (message.type) {
    case 'image':
      return message.image;
    case 'document':
      return message.document;
    case 'audio':
      return message.audio;
    case 'video':
      return message.video;
    default:
      return null;
  }
}

export async function getMessage(
  deps: Pick<MessageDependencies, 'channels' | 'messages'>,
  tenantId: string,
  channelId: string,
  messageId: string,
): Promise<Message> {
  await getChannel(deps, tenantId, channelId);
  const message = await deps.messages.get(tenantId, channelId, messageId);
  if (!message) throw new NotFoundError('message', messageId);
  return message;
}

/** The channel's messages, newest first, narrowed to a contact or a direction when asked. */
export async function listMessages(
  deps: Pick<MessageDependencies, 'channels' | 'messages'>,
  tenantId: string,
  channelId: string,
  request: PageRequest & MessageFilter,
): Promise<Page<Message>> {
  await getChannel(deps, tenantId, channelId);
  return deps.messages.list(tenantId, channelId, request);
}

/** Tells the sender (blue ticks) that a received message was read. */
export async function markMessageRead(
  deps: MessageDependencies,
  tenantId: string,
  channelId: string,
  messageId: string,
): Promise<Message> {
  const channel = await getChannel(deps, tenantId, channelId);
  const message = await deps.messages.get(tenantId, channelId, messageId);
  if (!message) throw new NotFoundError('message', messageId);
  if (message.direction !== 'inbound') {
    throw new UnprocessableError('not_inbound', `Message ${messageId} was sent by the channel, not received`);
  }
  await issueCommand(deps, channel, { type: 'mark_read', messageId });
  return message;
}
