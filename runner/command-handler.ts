import type { WAMessageKey } from '@whiskeysockets/baileys';
import type { ChannelCommand } from '#shared/domain/commands.ts';
import { type Message, queuedOutboundMessage } from '#shared/domain/message.ts';
import type { ContactCheckRepository, EventPublisher, MediaStore, MessageRepository } from '#shared/ports.ts';
import type { SendsInProgress } from './commands/sends-in-progress.ts';
import type { MessageStatusRecorder } from './events/message-status-recorder.ts';
import {
  type MediaResolver,
  toBaileysContent,
  UnknownReferencedMessageError,
} from './messages/outbound-content.ts';
import type { ChannelSession } from './sessions/channel-session.ts';
import { SendRejectedError } from './sessions/server-acks.ts';

export interface CommandHandlerDeps {
  /** The channel's session, created when a connect needs one; null when the channel has none. */
  session(command: ChannelCommand, create: boolean): Promise<ChannelSession | null>;
  /**
   * Deletes the channel on this runner: nothing more of it is recorded or reported, it is logged out
   * when it can be, its socket closed and its stored session erased. Safe to repeat; throws when the
   * erase failed (the command is tried again).
   */
  deleteChannel(command: ChannelCommand): Promise<void>;
  readonly messages: MessageRepository;
  readonly contactChecks: ContactCheckRepository;
  readonly media: MediaStore;
  readonly events: EventPublisher;
  /** The shard's recorder of message statuses (it orders the statuses of each message). */
  readonly messageStatusRecorder: MessageStatusRecorder;
  /** The shard's sends under way: a second send of a message waits for the first to end. */
  readonly sendsInProgress: SendsInProgress;
  readonly fetchLink?: (url: string) => Promise<{ data: Buffer; mimeType: string }>;
  readonly now?: () => Date;
}

/**
 * A command that cannot succeed however often it is retried (the channel is logged out, a media id
 * is unknown…): it is answered at once, never retried. `code` is the reason the clinic sees.
 */
export class PermanentCommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PermanentCommandError';
  }
}

/** How a command ended, for the runner's metrics: a send's fate, or just done. */
export type CommandOutcome = 'done' | 'sent' | 'send_failed' | 'already_sent';

/**
 * Carries out one command for the runner that owns the channel's shard (ownership checked before).
 * It resolves when the command is done; throws `PermanentCommandError` when it can never succeed,
 * and anything else when it may succeed later (the channel reconnecting, WhatsApp slow to ack),
 * which the caller retries. A send resolves only after WhatsApp acknowledged it and its status is
 * recorded, and a send whose message is already past `queued` is not sent again (a second send of a
 * message whose first is still under way waits for it, then finds it past `queued`).
 */
export async function handleCommand(
  command: ChannelCommand,
  deps: CommandHandlerDeps,
  /** Told when the channel's next command may start: for a send, once its stanza is written. */
  onWritten?: () => void,
): Promise<CommandOutcome> {
  switch (command.type) {
    case 'connect': {
      const session = await deps.session(command, true);
      const intent =
        command.method === 'pairing_code' && command.phoneNumber
          ? { method: 'pairing_code' as const, phoneNumber: command.phoneNumber }
          : { method: 'qr' as const };
      await session?.connect(intent);
      return 'done';
    }
    case 'restart':
      await (await deps.session(command, false))?.restart();
      return 'done';
    case 'logout':
      await (await deps.session(command, false))?.logout();
      return 'done';
    case 'delete':
      await deps.deleteChannel(command);
      return 'done';
    case 'send':
      return deps.sendsInProgress.exclusively(command, () => send(command, deps, onWritten));
    case 'mark_read': {
      const message = await deps.messages.get(command.tenantId, command.channelId, command.messageId);
      if (message?.direction !== 'inbound') return 'done';
      const session = await requireSession(command, deps);
      await session.markRead([keyOf(message)]);
      return 'done';
    }
    case 'check_numbers': {
      const session = await requireSession(command, deps);
      const results = await session.checkNumbers(command.phoneNumbers);
      await deps.contactChecks.put(
        command.tenantId,
        command.commandId,
        results.map(({ phoneNumber, exists, lid }) => ({ phoneNumber, onWhatsApp: exists, lid })),
      );
      return 'done';
    }
  }
}

async function send(
  command: Extract<ChannelCommand, { type: 'send' }>,
  deps: CommandHandlerDeps,
  onWritten?: () => void,
): Promise<CommandOutcome> {
  const { tenantId, channelId, messageId, message } = command;
  // The API wrote the `queued` record before queuing the command, so one read usually settles it;
  // a redelivered command finds its message sent already unless still queued. A command from
  // elsewhere (none is today) gets its record written here.
  const stored = await deps.messages.get(tenantId, channelId, messageId);
  if (stored && stored.status !== 'queued') return 'already_sent';
  if (!stored && !(await deps.messages.put(queuedOutboundMessage(command, deps.now?.() ?? new Date())))) {
    const existing = await deps.messages.get(tenantId, channelId, messageId);
    if (existing && existing.status !== 'queued') return 'already_sent';
  }

  const session = await deps.session(command, false);
  if (!isConnectable(session)) {
    await fail(command, deps, 'channel_not_connected', 'The channel is not connected to WhatsApp');
    return 'send_failed';
  }
  let content: Awaited<ReturnType<typeof toBaileysContent>>;
  try {
    content = await toBaileysContent(message, {
      resolveMedia: mediaResolver(tenantId, deps),
      lookupKey: async (id) => {
        const referenced = await deps.messages.get(tenantId, channelId, id);
        return referenced ? keyOf(referenced) : null;
      },
    });
  } catch (error) {
    if (error instanceof UnknownReferencedMessageError) {
      await fail(command, deps, 'invalid_reference', error.message);
      return 'send_failed';
    }
    if (error instanceof PermanentCommandError) {
      await fail(command, deps, error.code, error.message);
      return 'send_failed';
    }
    throw error;
  }
  // Receipts can overtake the server's ack: they wait for this send's outcome to be recorded.
  const outcome = deps.messageStatusRecorder.reserve({ tenantId, channelId }, messageId);
  try {
    await session.send(message.to, content, messageId, onWritten);
  } catch (error) {
    if (error instanceof SendRejectedError) {
      await outcome.record('failed', {
        code: `whatsapp_${error.errorCode}`,
        message: 'WhatsApp refused the message',
      });
      return 'send_failed';
    }
    outcome.release();
    throw error;
  }
  await outcome.record('sent');
  return 'sent';
}

function mediaResolver(tenantId: string, deps: CommandHandlerDeps): MediaResolver {
  return async ({ mediaId, link }) => {
    if (mediaId) {
      const media = await deps.media.get(tenantId, mediaId);
      if (!media) throw new PermanentCommandError('media_not_found', `Media ${mediaId} was not found`);
      return { data: media.data, mimeType: media.mimeType };
    }
    if (link && deps.fetchLink) return deps.fetchLink(link);
    throw new PermanentCommandError(
      'media_link_unsupported',
      'The media link cannot be fetched by this runner',
    );
  };
}

function fail(
  command: Extract<ChannelCommand, { type: 'send' }>,
  deps: CommandHandlerDeps,
  code: string,
  message: string,
) {
  return deps.messageStatusRecorder.record(
    { tenantId: command.tenantId, channelId: command.channelId },
    command.messageId,
    'failed',
    { code, message },
  );
}

/**
 * The channel's session for a command that needs it open. A channel that has none, was never
 * paired or is logged out cannot become open by waiting: permanent. One that is connecting or
 * reconnecting can: the session's own `SessionNotOpenError` makes the command wait and retry.
 */
async function requireSession(command: ChannelCommand, deps: CommandHandlerDeps): Promise<ChannelSession> {
  const session = await deps.session(command, false);
  if (!isConnectable(session))
    throw new PermanentCommandError('channel_not_connected', 'The channel is not connected to WhatsApp');
  return session;
}

function isConnectable(session: ChannelSession | null): session is ChannelSession {
  return session?.canOpen ?? false;
}

function keyOf(message: Message): WAMessageKey {
  return { remoteJid: message.remoteJid, id: message.waMessageId, fromMe: message.direction === 'outbound' };
}
