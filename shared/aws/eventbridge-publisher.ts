import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import type { PlatformEvent } from '../domain/events.ts';
import type { EventPublisher } from '../ports.ts';

/** PutEvents takes at most 10 entries a call; AWS's limit, kept even where an emulator is looser. */
const MAX_ENTRIES_PER_CALL = 10;
const MAX_ATTEMPTS = 5;

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    private readonly source: string,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  async publish(events: readonly PlatformEvent[]): Promise<void> {
    const batches = [];
    for (let i = 0; i < events.length; i += MAX_ENTRIES_PER_CALL) {
      batches.push(events.slice(i, i + MAX_ENTRIES_PER_CALL));
    }
    await Promise.all(batches.map((batch) => this.publishBatch(batch.map((event) => this.toEntry(event)))));
  }

  /** Retries only the entries EventBridge refused, with exponential backoff and jitter. */
  private async publishBatch(entries: PutEventsRequestEntry[]): Promise<void> {
    let pending = entries;
    for (let attempt = 1; ; attempt++) {
      const result = await this.client.send(new PutEventsCommand({ Entries: pending }));
      if (!result.FailedEntryCount) return;
      const failed = pending.filter((_, i) => result.Entries?.[i]?.ErrorCode);
      if (attempt >= MAX_ATTEMPTS) {
        const reasons = [...new Set(result.Entries?.map((entry) => entry.ErrorCode).filter(Boolean))].join(
          ', ',
        );
        throw new Error(
          `EventBridge refused ${failed.length} event(s) after ${attempt} attempts: ${reasons}`,
        );
      }
      pending = failed;
      await this.sleep(Math.random() * 100 * 2 ** attempt);
    }
  }

  private toEntry(event: PlatformEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.busName,
      Source: this.source,
      DetailType: event.type,
      Time: new Date(event.createdAt),
      Detail: JSON.stringify(event),
    };
  }
}
