import type { ChannelStatus } from '#shared/domain/channel.ts';
import { ConflictError } from '#shared/domain/errors.ts';
import type { PlatformEvent } from '#shared/domain/events.ts';
import { platformEvent } from '#shared/domain/events.ts';
import type { ChannelRepository, EventPublisher } from '#shared/ports.ts';
import type { OwnAccount } from '../sessions/channel-session.ts';
import type { ChannelEventSequence } from './channel-event-sequence.ts';

/**
 * Records a session's status on its channel and tells the clinic (`channel.status`, and
 * `channel.logged_out`). The session is the truth about its socket, so the write starts from the
 * channel as stored now (a concurrent API write only costs a re-read), not from what the session
 * believed the status was.
 */
export class ChannelStatusRecorder {
  constructor(
    private readonly channels: ChannelRepository,
    private readonly events: EventPublisher,
    private readonly sequence: ChannelEventSequence,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(
    tenantId: string,
    channelId: string,
    change: { to: ChannelStatus; reason?: string; me?: OwnAccount },
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const channel = await this.channels.get(tenantId, channelId);
      if (!channel || channel.status === change.to) return;
      const at = this.now().toISOString();
      try {
        await this.channels.transition(tenantId, channelId, {
          from: channel.status,
          expectedVersion: channel.version,
          to: change.to,
          at,
          details: {
            lastSeenAt: at,
            statusReason: change.reason ?? null,
            ...(change.me?.phoneNumber ? { phoneNumber: change.me.phoneNumber } : {}),
            ...(change.me?.lid ? { lid: change.me.lid } : {}),
          },
        });
      } catch (error) {
        if (error instanceof ConflictError && error.code === 'channel_state_conflict' && attempt < 5)
          continue;
        throw error;
      }
      const scope = { tenantId, channelId };
      const events: PlatformEvent[] = [
        platformEvent(
          'channel.status',
          scope,
          {
            status: change.to,
            previousStatus: channel.status,
            ...(change.reason ? { reason: change.reason } : {}),
          },
          new Date(at),
        ),
      ];
      if (change.to === 'logged_out') {
        events.push(
          platformEvent('channel.logged_out', scope, { reason: change.reason ?? 'logged out' }, new Date(at)),
        );
      }
      // Numbered once nothing can drop them: a number never published would hold the channel's webhooks.
      await this.events.publish(await this.sequence.stamp(events));
      return;
    }
  }
}
