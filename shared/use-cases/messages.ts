import type { ChannelStatus } from '../domain/channel.ts';
import { ConflictError, NotFoundError, UnprocessableError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { type Message, queuedOutboundMessage } from '../domain/message.ts';
import type { OutboundMessage } from '../domain/outbound-message.ts';
import type { Page, PageRequest } from '../domain/pagination.ts';
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
 */
export async function sendMessage(
  deps: MessageDependencies,
  tenantId: string,
  channelId: string,
  message: OutboundMessage,
): Promise<Message> {
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

  const now = deps.now?.() ?? new Date();
  const messageId = newId('message', now.getTime());
  const command = {
    type: 'send' as const,
    commandId: newId('command', now.getTime()),
    tenantId,
    channelId,
    issuedAt: now.toISOString(),
    messageId,
    message,
  };
  const record = queuedOutboundMessage(command, now);
  await deps.messages.put(record);
  try {
    await issueCommand(deps, channel, command);
  } catch (error) {
    // Nothing will ever send it: say so on the record rather than leave it queued forever.
    await deps.messages
      .advanceStatus(tenantId, channelId, messageId, {
        status: 'failed',
        at: new Date().toISOString(),
        error: { code: 'not_queued', message: 'The message could not be queued for sending' },
      })
      .catch(() => undefined);
    throw error;
  }
  return record;
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
