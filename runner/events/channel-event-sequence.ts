import type { EventSequence } from '#shared/domain/event-sequence.ts';
import { PAIRING_SECRET_EVENTS, type PlatformEvent } from '#shared/domain/events.ts';

interface ChannelCount {
  /** The last number handed out (0: none yet). */
  last: number;
  /** Settles when the number taken for a write is kept or given back; null when none is out. */
  open: Promise<void> | null;
}

/**
 * Numbers the channel events a shard's runner publishes on the webhook path (docs/architecture.md,
 * "Order."): 1, 2, 3… per channel, under `epoch`, the fence token of the shard's lease (a new lease,
 * a new worker, a new count from 1). The webhook fan-out holds an event until the one numbered before
 * it has been fanned out, or for a while: a number handed to an event that is then not published
 * leaves a gap that holds the channel's webhooks that long. So a number is given only to an event
 * certain to be published: `stamp` to events about to be published (whatever was dropped or merged
 * is known by then); `stampThrough` to an event published only if its record is written (a received
 * message's, from the outbox), whose number is given back if the write does not happen — the
 * channel's other events wait for that write, so nothing takes a number after it meanwhile.
 * QR and pairing codes travel on their own queue and are never numbered.
 */
export class ChannelEventSequence {
  private readonly channels = new Map<string, ChannelCount>();

  constructor(readonly epoch: number) {}

  /** Numbers events that are published next, in the order given (each channel's own count). */
  async stamp<T extends PlatformEvent>(events: readonly T[]): Promise<T[]> {
    const counts = [...new Set(events.filter(isNumbered).map((event) => event.channelId as string))].map(
      (channelId) => this.countOf(channelId),
    );
    // Every channel at once with no write out: waiting for one, another may have taken one.
    for (let open = counts.find((count) => count.open); open; open = counts.find((count) => count.open))
      await open.open;
    // No await from here on: no other number is handed out in between.
    return events.map((event) =>
      isNumbered(event) ? this.numbered(event, ++this.countOf(event.channelId as string).last) : event,
    );
  }

  /**
   * Numbers `event` for `write`, which stores it (false: it was not stored, the record existed) and
   * has it published once stored. The number is given back when `write` returns false or throws.
   */
  async stampThrough<T extends PlatformEvent>(
    event: T,
    write: (numbered: T) => Promise<boolean>,
  ): Promise<boolean> {
    if (!isNumbered(event)) return write(event);
    const count = this.countOf(event.channelId as string);
    while (count.open) await count.open;
    const seq = ++count.last;
    let settle: () => void = () => undefined;
    count.open = new Promise((resolve) => {
      settle = resolve;
    });
    let written = false;
    try {
      written = await write(this.numbered(event, seq));
      return written;
    } finally {
      // A write that threw may still have landed: its event then shares its number with the next
      // one, which the fan-out lets through (at its cursor) — a late event, not a held channel.
      if (!written) count.last = seq - 1;
      count.open = null;
      settle();
    }
  }

  private countOf(channelId: string): ChannelCount {
    let count = this.channels.get(channelId);
    if (!count) {
      count = { last: 0, open: null };
      this.channels.set(channelId, count);
    }
    return count;
  }

  private numbered<T extends PlatformEvent>(event: T, seq: number): T {
    const sequence: EventSequence = { epoch: this.epoch, seq };
    return { ...event, sequence };
  }
}

/** A channel's event on the webhook event path: not a pairing secret (those have a queue of their own). */
function isNumbered(event: PlatformEvent): boolean {
  return event.channelId !== null && !(PAIRING_SECRET_EVENTS as readonly string[]).includes(event.type);
}
