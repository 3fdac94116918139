import type { Logger } from '@aws-lambda-powertools/logger';
import type { WAMessage } from '@whiskeysockets/baileys';
import type { ChannelStatus } from '#shared/domain/channel.ts';
import { newId } from '#shared/domain/ids.ts';
import type { Message } from '#shared/domain/message.ts';
import type { EventPublisher, MediaStore, MessageRepository } from '#shared/ports.ts';
import type { ChannelStatusRecorder } from './events/channel-status-recorder.ts';
import type { MessageStatusRecorder } from './events/message-status-recorder.ts';
import { platformEvent } from './events/platform-events.ts';
import { addressOf, mediaOf, toReceivedMessage } from './messages/inbound-message.ts';
import type { RunnerMetrics } from './runner-metrics.ts';
import type { MessageStatusUpdate, OwnAccount, SessionObserver } from './sessions/channel-session.ts';

export interface SessionObserverDeps {
  readonly statusRecorder: ChannelStatusRecorder;
  readonly messageStatusRecorder: MessageStatusRecorder;
  readonly events: EventPublisher;
  readonly messages: MessageRepository;
  readonly media: MediaStore;
  readonly metrics?: RunnerMetrics;
  readonly logger?: Logger;
  readonly now?: () => Date;
  readonly onError?: (error: unknown, during: string) => void;
}

/**
 * Turns what one channel's session sees into platform state and events: statuses on the channel,
 * QR and pairing codes, received messages (media to the media store, referenced by id) and the
 * delivery and read statuses of sent messages.
 */
export class PlatformSessionObserver implements SessionObserver {
  constructor(
    private readonly tenantId: string,
    private readonly channelId: string,
    private readonly deps: SessionObserverDeps,
    private readonly downloadMedia: (message: WAMessage) => Promise<Buffer>,
  ) {}

  private get scope() {
    return { tenantId: this.tenantId, channelId: this.channelId };
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  async onStatus(change: {
    from: ChannelStatus;
    to: ChannelStatus;
    reason?: string;
    me?: OwnAccount;
  }): Promise<void> {
    if (change.to === 'reconnecting') this.deps.metrics?.count('Reconnects');
    this.deps.logger?.info('channel status', {
      channelId: this.channelId,
      from: change.from,
      to: change.to,
      ...(change.reason ? { reason: change.reason } : {}),
    });
    await this.deps.statusRecorder.record(this.tenantId, this.channelId, change);
  }

  async onQr(qr: string, expiresAt: Date): Promise<void> {
    await this.deps.events.publish([
      platformEvent('channel.qr', this.scope, { qr, expiresAt: expiresAt.toISOString() }, this.now()),
    ]);
  }

  async onPairingCode(pairingCode: string, phoneNumber: string, expiresAt: Date): Promise<void> {
    await this.deps.events.publish([
      platformEvent(
        'channel.pairing_code',
        this.scope,
        { pairingCode, phoneNumber, expiresAt: expiresAt.toISOString() },
        this.now(),
      ),
    ]);
  }

  async onMessages(messages: WAMessage[]): Promise<void> {
    const events = [];
    for (const message of messages) {
      const received = await this.record(message);
      if (received) events.push(received);
    }
    if (events.length > 0) await this.deps.events.publish(events);
  }

  async onMessageStatus(updates: MessageStatusUpdate[]): Promise<void> {
    for (const update of updates) {
      const message = await this.deps.messages.resolveWaMessageId(
        this.tenantId,
        this.channelId,
        update.waMessageId,
      );
      if (message?.direction !== 'outbound') continue;
      await this.deps.messageStatusRecorder.record(this.scope, message.messageId, update.status);
    }
  }

  /** Stores a received message once (WhatsApp may deliver it again) and returns its event. */
  private async record(message: WAMessage) {
    const media = mediaOf(message);
    if (!toReceivedMessage(message)) return null;
    const mediaId = media
      ? await this.deps.media.put(this.tenantId, {
          data: await this.downloadMedia(message),
          mimeType: media.mimeType,
          fileName: media.fileName ?? null,
        })
      : undefined;
    const received = toReceivedMessage(message, mediaId);
    if (!received || !message.key.remoteJid) return null;
    const createdAt = this.now().toISOString();
    const repliedTo = received.context
      ? await this.deps.messages.findByWaMessageId(this.tenantId, this.channelId, received.context.messageId)
      : null;
    const { context: _waContext, ...withoutContext } = received;
    const stored: Message = {
      id: newId('message'),
      ...this.scope,
      direction: 'inbound',
      waMessageId: received.messageId,
      remoteJid: message.key.remoteJid,
      contact: addressOf(message.key.remoteJid, message.key.remoteJidAlt),
      type: received.type,
      content: received.content,
      status: 'received',
      statusHistory: [],
      createdAt,
    };
    if (!(await this.deps.messages.put(stored))) return null;
    return platformEvent(
      'message.received',
      this.scope,
      {
        ...withoutContext,
        messageId: stored.id,
        ...(repliedTo ? { context: { messageId: repliedTo.id } } : {}),
      },
      new Date(createdAt),
    );
  }
}
