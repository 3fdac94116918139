import type { MessageStatus } from '#shared/domain/events.ts';
import type { EventPublisher, MessageRepository } from '#shared/ports.ts';
import { platformEvent } from './platform-events.ts';

/** The delivery path in order; a later status implies the earlier ones. */
const DELIVERY_PATH: readonly MessageStatus[] = ['sent', 'delivered', 'read'];

/**
 * Records an outbound message's new status and tells the clinic (`message.status`). Receipts can
 * overtake the server's ack (a delivery receipt landing before the send returned), so a status that
 * skips steps records the skipped ones first: clinics always see sent → delivered → read, each once.
 */
export class MessageStatusRecorder {
  constructor(
    private readonly messages: MessageRepository,
    private readonly events: EventPublisher,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(
    scope: { tenantId: string; channelId: string },
    messageId: string,
    status: MessageStatus,
    error?: { code: string; message: string },
  ): Promise<void> {
    const steps = DELIVERY_PATH.includes(status)
      ? DELIVERY_PATH.slice(0, DELIVERY_PATH.indexOf(status) + 1)
      : [status];
    const published = [];
    for (const step of steps) {
      const at = this.now().toISOString();
      const stepError = step === status ? error : undefined;
      const updated = await this.messages.advanceStatus(scope.tenantId, scope.channelId, messageId, {
        status: step,
        at,
        ...(stepError ? { error: stepError } : {}),
      });
      if (!updated) continue;
      published.push(
        platformEvent(
          'message.status',
          scope,
          {
            messageId,
            status: step,
            timestamp: at,
            recipient: updated.contact,
            ...(stepError ? { error: stepError } : {}),
          },
          new Date(at),
        ),
      );
    }
    if (published.length > 0) await this.events.publish(published);
  }
}
