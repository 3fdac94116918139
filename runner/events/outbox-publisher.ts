import type { PlatformEvent } from '#shared/domain/events.ts';
import type { EventOutbox, EventPublisher, OutboxRef } from '#shared/ports.ts';

export interface OutboxTuning {
  /** How often the shard's outbox is searched for events nobody published. */
  readonly drainIntervalMs?: number;
}

const DEFAULT_DRAIN_INTERVAL_MS = 10_000;
const DRAIN_PAGE = 100;
/** PutEvents takes ten entries a call: a drain publishes (and marks) ten at a time. */
const PUBLISH_BATCH = 10;

export interface OutboxPublisherDeps extends OutboxTuning {
  readonly outbox: EventOutbox;
  readonly events: EventPublisher;
  readonly onError?: (error: unknown, during: string) => void;
  readonly now?: () => Date;
}

type ReceivedEvent = PlatformEvent<'message.received'>;

/**
 * Publishes the events of a shard's received messages from the outbox they were recorded in, and
 * marks them published. A message's own recorder publishes its event at once; the drain (when the
 * shard is taken, then every interval) publishes whatever a failed publish or a dead runner left,
 * with the event's first id, so receivers that dedupe by id see it once.
 *
 * No clock decides what the drain takes: this process knows which events it recorded and has not
 * published yet (from just before their record is written) and which it is publishing; everything
 * else in the outbox is fair game, however its id was stamped (another runner's clock may be hours
 * off). A drain is one pass over the outbox, page after page, so events this process holds never
 * make it query again and again.
 */
export class OutboxPublisher {
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  /** Events recorded here and not yet published, or being published: the drain leaves them alone. */
  private readonly held = new Set<string>();
  private stopped = false;

  constructor(
    private readonly shard: number,
    private readonly deps: OutboxPublisherDeps,
  ) {}

  /**
   * Writes a record with its event in the outbox (`write`: false when the record existed already)
   * and publishes the event once written. From before the write until that publish ends, the drain
   * leaves the event to it; if the publish fails, the drain publishes it later.
   */
  async recordAndPublish(event: ReceivedEvent, write: () => Promise<boolean>): Promise<boolean> {
    this.held.add(event.id);
    let written = false;
    try {
      written = await write();
    } finally {
      if (!written) this.held.delete(event.id);
    }
    if (written) this.publishHeld([event]);
    return written;
  }

  /**
   * Publishes an event found waiting (a message delivered again whose event never went out). One
   * already being published is left to that publish.
   */
  publish(event: ReceivedEvent): void {
    if (this.held.has(event.id)) return;
    this.held.add(event.id);
    this.publishHeld([event]);
  }

  start(): void {
    this.stopped = false;
    void this.drainNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.draining;
  }

  /** One drain: one pass over the shard's outbox. */
  drainNow(): Promise<void> {
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      this.schedule();
    });
    return this.draining;
  }

  private async drain(): Promise<void> {
    try {
      let after: OutboxRef | undefined;
      for (;;) {
        const page = await this.deps.outbox.waiting(this.shard, {
          limit: DRAIN_PAGE,
          ...(after ? { after } : {}),
        });
        const orphans = page.refs.filter((ref) => !this.held.has(ref.eventId));
        if (orphans.length > 0) await this.publishOrphans(orphans);
        after = page.refs.at(-1);
        if (!page.more || !after || this.stopped) return;
      }
    } catch (error) {
      this.deps.onError?.(error, 'draining the event outbox');
    }
  }

  /** Publishes and marks ten at a time; a batch that fails leaves the others published and marked. */
  private async publishOrphans(refs: OutboxRef[]): Promise<void> {
    // Read from the records themselves (consistently): one published since the index was read is skipped.
    const events = (await this.deps.outbox.eventsOf(refs)).filter((event) => !this.held.has(event.id));
    const batches: ReceivedEvent[][] = [];
    for (let i = 0; i < events.length; i += PUBLISH_BATCH) batches.push(events.slice(i, i + PUBLISH_BATCH));
    for (const event of events) this.held.add(event.id);
    const results = await Promise.allSettled(batches.map((batch) => this.publishAndMark(batch)));
    for (const result of results)
      if (result.status === 'rejected') this.deps.onError?.(result.reason, 'draining the event outbox');
  }

  private publishHeld(events: ReceivedEvent[]): void {
    this.publishAndMark(events).catch((error) => this.deps.onError?.(error, 'publishing a received message'));
  }

  /** Publishes events this process holds, marks them, and lets go of them whatever happened. */
  private async publishAndMark(events: ReceivedEvent[]): Promise<void> {
    try {
      await this.deps.events.publish(events);
      const at = this.now();
      await Promise.all(
        events.map((event) =>
          this.deps.outbox.markPublished(event.tenantId, event.channelId ?? '', event.data.messageId, at),
        ),
      );
    } finally {
      for (const event of events) this.held.delete(event.id);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => void this.drainNow(),
      this.deps.drainIntervalMs ?? DEFAULT_DRAIN_INTERVAL_MS,
    );
    this.timer.unref();
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}
