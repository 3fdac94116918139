import type { MessageStatus } from '#shared/domain/events.ts';
import type { EventPublisher, MessageRepository } from '#shared/ports.ts';
import { platformEvent } from './platform-events.ts';

/** A message's place in its line of statuses, taken before the status is known. */
export interface StatusTurn {
  record(status: MessageStatus, error?: { code: string; message: string }): Promise<void>;
  /** Gives the turn up with nothing recorded. */
  release(): void;
}

/** The delivery path in order; a later status implies the earlier ones. */
const DELIVERY_PATH: readonly MessageStatus[] = ['sent', 'delivered', 'read'];

/**
 * Records an outbound message's new status and tells the clinic (`message.status`). Receipts can
 * overtake the server's ack (a delivery receipt landing before the send returned), so a status that
 * skips steps records the skipped ones first: clinics always see sent → delivered → read, each once.
 * One recorder serves a shard: the statuses of one message are recorded one after another, so the
 * receipt that follows a send finds `sent` recorded and needs one conditional write, not a refused
 * one and a retry.
 */
export class MessageStatusRecorder {
  private readonly inProgress = new Map<string, Promise<void>>();

  constructor(
    private readonly messages: MessageRepository,
    private readonly events: EventPublisher,
    private readonly now: () => Date = () => new Date(),
  ) {}

  record(
    scope: { tenantId: string; channelId: string },
    messageId: string,
    status: MessageStatus,
    error?: { code: string; message: string },
  ): Promise<void> {
    const turn = this.reserve(scope, messageId);
    return turn.record(status, error);
  }

  /**
   * Takes the message's next turn now, for a status known later: a send reserves its `sent` before
   * the stanza goes out, so a delivery receipt overtaking the server's ack waits for it instead of
   * recording `sent` itself (and the ack's write then being refused). Every turn must end with
   * `record` or `release`, or the message's later statuses wait for good.
   */
  reserve(scope: { tenantId: string; channelId: string }, messageId: string): StatusTurn {
    const key = `${scope.tenantId}/${scope.channelId}/${messageId}`;
    const before = this.inProgress.get(key) ?? Promise.resolve();
    let end: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    const tail = before.then(() => ended);
    this.inProgress.set(key, tail);
    void tail.then(() => {
      if (this.inProgress.get(key) === tail) this.inProgress.delete(key);
    });
    let used = false;
    return {
      record: async (status, error) => {
        if (used) throw new Error('This status turn is used already');
        used = true;
        try {
          await before;
          await this.recordNow(scope, messageId, status, error);
        } finally {
          end();
        }
      },
      release: () => {
        used = true;
        end();
      },
    };
  }

  private async recordNow(
    scope: { tenantId: string; channelId: string },
    messageId: string,
    status: MessageStatus,
    error?: { code: string; message: string },
  ): Promise<void> {
    const steps = DELIVERY_PATH.includes(status)
      ? DELIVERY_PATH.slice(0, DELIVERY_PATH.indexOf(status) + 1)
      : [status];
    const previous = steps.at(-2);
    // Usually the step before is recorded already: then one write, from exactly that step.
    const direct = previous ? await this.advance(scope, messageId, status, error, previous) : undefined;
    const published = direct ? [direct] : await this.walk(scope, messageId, steps, status, error);
    if (published.length > 0) await this.events.publish(published);
  }

  private async walk(
    scope: { tenantId: string; channelId: string },
    messageId: string,
    steps: readonly MessageStatus[],
    status: MessageStatus,
    error?: { code: string; message: string },
  ) {
    const published = [];
    for (const step of steps) {
      const event = await this.advance(scope, messageId, step, step === status ? error : undefined);
      if (event) published.push(event);
    }
    return published;
  }

  /** The `message.status` event of the step, once recorded; undefined when it was not an advance. */
  private async advance(
    scope: { tenantId: string; channelId: string },
    messageId: string,
    step: MessageStatus,
    error: { code: string; message: string } | undefined,
    onlyFrom?: MessageStatus,
  ) {
    const at = this.now().toISOString();
    const updated = await this.messages.advanceStatus(
      scope.tenantId,
      scope.channelId,
      messageId,
      { status: step, at, ...(error ? { error } : {}) },
      onlyFrom ? { onlyFrom } : {},
    );
    if (!updated) return undefined;
    return platformEvent(
      'message.status',
      scope,
      {
        messageId,
        status: step,
        timestamp: at,
        recipient: updated.contact,
        ...(error ? { error } : {}),
      },
      new Date(at),
    );
  }
}
