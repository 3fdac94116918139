import type { PlatformEvent } from '#shared/domain/events.ts';
import type { EventPublisher } from '#shared/ports.ts';
import { Coalescer } from '../batching/coalescer.ts';

/** PutEvents takes at most 10 entries and 256 KB a call; the margin covers each entry's envelope. */
const MAX_ENTRIES = 10;
const MAX_DETAIL_BYTES = 200 * 1024;

/**
 * Publishes the events of many messages and channels together: the statuses of a busy runner's
 * sends go out ten per PutEvents call instead of one call each. `publish` resolves once its own
 * events are accepted, so a caller that must not lose them (a send's `sent`) still waits for them.
 */
export class CoalescingEventPublisher implements EventPublisher {
  private readonly events: Coalescer<PlatformEvent>;

  constructor(inner: EventPublisher, lingerMs = 50) {
    this.events = new Coalescer({
      maxItems: MAX_ENTRIES,
      maxWeight: MAX_DETAIL_BYTES,
      weigh: (event) => Buffer.byteLength(JSON.stringify(event)),
      lingerMs,
      process: async (batch) => {
        await inner.publish(batch);
        return [];
      },
    });
  }

  async publish(events: readonly PlatformEvent[]): Promise<void> {
    await Promise.all(events.map((event) => this.events.submit(event)));
  }

  /** Publishes what is waiting; for shutdown. */
  flush(): Promise<void> {
    return this.events.flush();
  }
}
