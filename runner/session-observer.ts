import type { Logger } from '@aws-lambda-powertools/logger';
import type { WAMessage } from '@whiskeysockets/baileys';
import type { ChannelStatus } from '#shared/domain/channel.ts';
import { platformEvent } from '#shared/domain/events.ts';
import type { ChannelRepository, EventPublisher, MessageRepository } from '#shared/ports.ts';
import type { ChannelStatusRecorder } from './events/channel-status-recorder.ts';
import type { MessageStatusRecorder } from './events/message-status-recorder.ts';
import type { ReceivedMessageRecorder } from './messages/received-message-recorder.ts';
import type { RunnerMetrics } from './runner-metrics.ts';
import type { MessageStatusUpdate, OwnAccount, SessionObserver } from './sessions/channel-session.ts';

export interface SessionObserverDeps {
  readonly statusRecorder: ChannelStatusRecorder;
  readonly messageStatusRecorder: MessageStatusRecorder;
  readonly events: EventPublisher;
  /** The shard's fenced view: the QR or pairing code is kept on the channel for the API to show. */
  readonly channels: ChannelRepository;
  readonly messages: MessageRepository;
  readonly metrics?: RunnerMetrics;
  readonly logger?: Logger;
  readonly now?: () => Date;
  readonly onError?: (error: unknown, during: string) => void;
}

/**
 * Turns what one channel's session sees into platform state and events: statuses on the channel,
 * QR and pairing codes, received messages (recorded before WhatsApp hears "delivered", their events
 * published from the record) and the delivery and read statuses of sent messages.
 */
export class PlatformSessionObserver implements SessionObserver {
  constructor(
    private readonly tenantId: string,
    private readonly channelId: string,
    private readonly deps: SessionObserverDeps,
    private readonly received: ReceivedMessageRecorder,
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
    const pairing = { method: 'qr', qr, expiresAt: expiresAt.toISOString() } as const;
    await this.deps.channels.recordPairing(this.tenantId, this.channelId, pairing);
    await this.deps.events.publish([
      platformEvent('channel.qr', this.scope, { qr, expiresAt: expiresAt.toISOString() }, this.now()),
    ]);
  }

  async onPairingCode(pairingCode: string, phoneNumber: string, expiresAt: Date): Promise<void> {
    const pairing = {
      method: 'pairing_code',
      pairingCode,
      phoneNumber,
      expiresAt: expiresAt.toISOString(),
    } as const;
    await this.deps.channels.recordPairing(this.tenantId, this.channelId, pairing);
    await this.deps.events.publish([
      platformEvent(
        'channel.pairing_code',
        this.scope,
        { pairingCode, phoneNumber, expiresAt: expiresAt.toISOString() },
        this.now(),
      ),
    ]);
  }

  async onMessageReceived(message: WAMessage, signal: AbortSignal): Promise<void> {
    // Recorded with its event: WhatsApp may hear "delivered" now, whether or not its publish works.
    await this.received.record(message, signal);
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
}
