import type { PlatformEvent } from '#shared/domain/events.ts';
import type { EventOutbox, EventPublisher } from '#shared/ports.ts';

export interface OutboxTuning {
  /** How often the shard's outbox is searched for events nobody published. */
  readonly drainIntervalMs?: number;
  /** Younger events are left alone: their recorder is publishing them right now. */
  readonly drainMinAgeMs?: number;
}

const DEFAULT_DRAIN_INTERVAL_MS = 10_000;
const DEFAULT_DRAIN_MIN_AGE_MS = 5_000;
const DRAIN_PAGE = 100;

export interface OutboxPublisherDeps extends OutboxTuning {
  readonly outbox: EventOutbox;
  readonly events: EventPublisher;
  readonly onError?: (error: unknown, during: string) => void;
  readonly now?: () => Date;
}

/**
 * Publishes the events of a shard's received messages from the outbox they were recorded in, and
 * marks them published. A message's own recorder publishes its event at once; the drain (when the
 * shard is taken, then every interval) publishes whatever a failed publish or a dead runner left,
 * with the event's first id, so receivers that dedupe by id see it once.
 */
export class OutboxPublisher {
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  /** Events being published (and marked) right now: the drain leaves them to that publish. */
  private readonly inFlight = new Set<string>();
  private stopped = false;

  constructor(
    private readonly shard: number,
    private readonly deps: OutboxPublisherDeps,
  ) {}

  /**
   * Publishes an event just recorded (or found waiting with a message delivered again); if that
   * fails, the drain publishes it later. One already being published is left to that publish.
   */
  publish(event: PlatformEvent<'message.received'>): void {
    if (this.inFlight.has(event.id)) return;
    this.publishAndMark([event]).catch((error) =>
      this.deps.onError?.(error, 'publishing a received message'),
    );
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

  /** One drain: every waiting event old enough, page after page. */
  drainNow(): Promise<void> {
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      this.schedule();
    });
    return this.draining;
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        const before = new Date(this.now().getTime() - (this.deps.drainMinAgeMs ?? DEFAULT_DRAIN_MIN_AGE_MS));
        const waiting = await this.deps.outbox.pending(this.shard, { before, limit: DRAIN_PAGE });
        const orphans = waiting.filter((event) => !this.inFlight.has(event.id));
        if (orphans.length > 0) await this.publishAndMark(orphans);
        if (waiting.length < DRAIN_PAGE || this.stopped) return;
      }
    } catch (error) {
      this.deps.onError?.(error, 'draining the event outbox');
    }
  }

  private async publishAndMark(events: PlatformEvent<'message.received'>[]): Promise<void> {
    for (const event of events) this.inFlight.add(event.id);
    try {
      await this.deps.events.publish(events);
      const at = this.now();
      await Promise.all(
        events.map((event) =>
          this.deps.outbox.markPublished(event.tenantId, event.channelId ?? '', event.data.messageId, at),
        ),
      );
    } finally {
      for (const event of events) this.inFlight.delete(event.id);
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
