import { describe, expect, it } from 'vitest';
import { OutboxPublisher } from '#runner/events/outbox-publisher.ts';
import { DynamoMessageOutbox } from '#shared/aws/dynamo/message-outbox.ts';
import type { PlatformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import type { EventOutbox, EventPublisher } from '#shared/ports.ts';
import { ownShard, receivedText } from '../support/messages.ts';
import { platformRepositories } from '../support/platform.ts';
import { until } from './support/runner-harness.ts';

const { client, resources, messages } = platformRepositories();
const outbox = new DynamoMessageOutbox(client, resources.platformTable);
const HOUR = 3_600_000;

/** The bus as the drain sees it: what it published, call by call; a test may hold or refuse calls. */
class Bus implements EventPublisher {
  readonly calls: PlatformEvent[][] = [];
  hold: (events: readonly PlatformEvent[]) => Promise<void> | undefined = () => undefined;
  refuse: (events: readonly PlatformEvent[]) => boolean = () => false;

  async publish(events: readonly PlatformEvent[]): Promise<void> {
    this.calls.push([...events]);
    await this.hold(events);
    if (this.refuse(events)) throw new Error('EventBridge refused the batch');
  }

  timesPublished(eventId: string): number {
    return this.calls.flat().filter((event) => event.id === eventId).length;
  }
}

/** `outbox` with its index queries counted. */
function countingQueries(inner: EventOutbox) {
  const counted = { queries: 0 };
  const wrapped: EventOutbox = Object.create(inner, {
    waiting: {
      value: (...args: Parameters<EventOutbox['waiting']>) => {
        counted.queries++;
        return inner.waiting(...args);
      },
    },
  });
  return { outbox: wrapped, counted };
}

/** `count` messages of a fresh channel recorded in the shard's outbox, their events made at `at`. */
async function recorded(shard: number, count: number, at: () => Date = () => new Date()) {
  const tenantId = newId('tenant');
  const channelId = newId('channel');
  const all = Array.from({ length: count }, () => receivedText(tenantId, channelId, at()));
  for (const { message, event } of all) await messages.put(message, { outbox: { shard, event } });
  return all;
}

const stillWaiting = async (shard: number) => (await outbox.waiting(shard, { limit: 1000 })).refs.length;

describe('the outbox drain', () => {
  it('publishes a dead runner’s events at once, though its clock ran an hour ahead of this one', async () => {
    const shard = ownShard();
    const events = (await recorded(shard, 3, () => new Date(Date.now() + HOUR))).map(({ event }) => event);
    const bus = new Bus();
    const publisher = new OutboxPublisher(shard, { outbox, events: bus });

    await publisher.drainNow();
    await publisher.stop();

    expect(bus.calls).toEqual([events]);
    expect(await stillWaiting(shard)).toBe(0);
  });

  it('makes one pass when the events it meets are being published by this process: no query again and again', async () => {
    const shard = ownShard();
    const bus = new Bus();
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ids = new Set<string>();
    bus.hold = (events) => (events.some((event) => ids.has(event.id)) ? held : undefined);
    const { outbox: counting, counted } = countingQueries(outbox);
    const publisher = new OutboxPublisher(shard, { outbox: counting, events: bus });
    // A hundred and fifty messages recorded here, their publishes held by the bus…
    const ours = await Promise.all(
      Array.from({ length: 150 }, async () => {
        const { message, event } = receivedText(newId('tenant'), newId('channel'));
        ids.add(event.id);
        await publisher.recordAndPublish(event, () => messages.put(message, { outbox: { shard, event } }));
        return event;
      }),
    );
    // …and ten a dead runner left.
    const orphans = (await recorded(shard, 10)).map(({ event }) => event);

    await publisher.drainNow();

    // Two pages of 100 read once each; only the dead runner's events are published again.
    expect(counted.queries).toBe(2);
    expect(ours.every((event) => bus.timesPublished(event.id) === 1)).toBe(true);
    expect(orphans.map((event) => bus.timesPublished(event.id))).toEqual(orphans.map(() => 1));
    release();
    await until(async () => (await stillWaiting(shard)) === 0 || undefined, 'every event marked');
    await publisher.stop();
  });

  it('marks each batch the bus took when another batch fails', async () => {
    const shard = ownShard();
    const all = (await recorded(shard, 25)).map(({ event }) => event);
    const refused = all[12]?.id;
    const bus = new Bus();
    bus.refuse = (events) => events.some((event) => event.id === refused);
    const errors: unknown[] = [];
    const publisher = new OutboxPublisher(shard, {
      outbox,
      events: bus,
      onError: (error) => errors.push(error),
    });

    await publisher.drainNow();
    await publisher.stop();

    expect(bus.calls.map((batch) => batch.length)).toEqual([10, 10, 5]);
    // The batch of the refused event waits for the next drain; the two others are marked.
    const waiting = (await outbox.waiting(shard, { limit: 100 })).refs.map((ref) => ref.eventId);
    expect(waiting).toEqual(all.slice(10, 20).map((event) => event.id));
    expect(errors).toHaveLength(1);
  });

  it('leaves an event recorded here to its own publish, from before its record is written', async () => {
    const shard = ownShard();
    const { message, event } = receivedText(newId('tenant'), newId('channel'));
    const bus = new Bus();
    const publisher = new OutboxPublisher(shard, { outbox, events: bus });
    let drained = false;

    // The record is in the table, and the drain runs before the recorder hears its write succeeded.
    await publisher.recordAndPublish(event, async () => {
      const written = await messages.put(message, { outbox: { shard, event } });
      await publisher.drainNow();
      drained = true;
      return written;
    });

    expect(drained).toBe(true);
    await until(async () => (await stillWaiting(shard)) === 0 || undefined, 'the event marked');
    expect(bus.calls).toEqual([[event]]);
    await publisher.stop();
  });
});
