// The events benchmark's plumbing, not its timings: the deliveries it expects from its webhooks'
// settings, the check that turns what a receiver got into failures (duplicates, misses, strangers,
// bad signatures), the bare loop's grouping (as wide as the dispatcher, one request per group at a
// time, in order), the options' precedence, and the bare loop signing for the receiver that
// verifies with `standardwebhooks`.
import { describe, expect, it } from 'vitest';
import { newId } from '#shared/domain/ids.ts';
import { deliveryIdOf, newSecretValue } from '#shared/domain/webhook.ts';
import { type BareDelivery, runBare } from '../../../bench/events/bare-loop.ts';
import { runGrouped } from '../../../bench/events/grouped-pool.ts';
import { type Arrival, startBenchReceiver } from '../../../bench/events/receiver.ts';
import {
  BENCH_EPOCH,
  type BenchClinic,
  checkDeliveries,
  EventStream,
  expectedDeliveries,
} from '../../../bench/events/workload.ts';
import { eventsBenchOptions, optionEnvironmentName } from '../../../bench/events.ts';

function clinics(): BenchClinic[] {
  const a = newId('tenant');
  const b = newId('tenant');
  const aChannels = [newId('channel'), newId('channel'), newId('channel')];
  const bChannels = [newId('channel')];
  const secret = () => newSecretValue();
  return [
    {
      tenantId: a,
      channelIds: aChannels,
      weight: 2,
      webhooks: [
        { id: newId('webhook'), tenantId: a, events: ['*'], channelIds: null, secret: secret() },
        {
          id: newId('webhook'),
          tenantId: a,
          events: ['message.received'],
          channelIds: [aChannels[0] as string],
          secret: secret(),
        },
      ],
    },
    {
      tenantId: b,
      channelIds: bChannels,
      weight: 1,
      webhooks: [
        { id: newId('webhook'), tenantId: b, events: ['message.status'], channelIds: null, secret: secret() },
      ],
    },
  ];
}

/** The arrivals of a perfect receiver: each expected delivery once, verified, in order. */
function perfectArrivals(expected: ReturnType<typeof expectedDeliveries>): Arrival[] {
  return expected.map((delivery, index) => ({
    at: index,
    webhookId: delivery.webhookId,
    messageId: delivery.deliveryId,
    verified: true,
    eventId: delivery.event.id,
    channelId: delivery.event.channelId,
  }));
}

describe('the events benchmark workload', () => {
  it('expects each event at each webhook of its tenant that wants its type and channel', () => {
    const world = clinics();
    const [a, b] = world as [BenchClinic, BenchClinic];
    const [all, received] = a.webhooks as [BenchClinic['webhooks'][number], BenchClinic['webhooks'][number]];
    const events = new EventStream(world).take(60);
    const expected = expectedDeliveries(world, events);

    for (const event of events) {
      const at = expected.filter((delivery) => delivery.event.id === event.id).map((d) => d.webhookId);
      const wanted: string[] = [];
      if (event.tenantId === a.tenantId) {
        wanted.push(all.id);
        if (event.type === 'message.received' && event.channelId === a.channelIds[0])
          wanted.push(received.id);
      } else if (event.type === 'message.status') wanted.push(b.webhooks[0]?.id as string);
      expect(at.sort()).toEqual(wanted.sort());
    }
    // The stream covers every clinic, several types, and events no webhook wants.
    expect(new Set(events.map((event) => event.tenantId)).size).toBe(2);
    expect(new Set(events.map((event) => event.type))).toEqual(
      new Set(['message.received', 'message.status', 'channel.status']),
    );
    expect(expected.some((delivery) => delivery.webhookId === received.id)).toBe(true);
    expect(events.some((event) => !expected.some((delivery) => delivery.event.id === event.id))).toBe(true);
    // Delivery ids are the dispatcher's (webhook-id header), groups are webhook and channel.
    const first = expected[0];
    expect(first?.deliveryId).toBe(deliveryIdOf(first?.event.id ?? '', first?.webhookId ?? ''));
    expect(first?.group).toBe(`${first?.webhookId}#${first?.event.channelId}`);
    // Ids in the order made, so per-group order can be checked.
    expect(events.map((event) => event.id)).toEqual([...events.map((event) => event.id)].sort());
    // Each channel's events numbered 1, 2, 3… as a runner numbers them, in the order made.
    for (const channelId of new Set(events.map((event) => event.channelId))) {
      const places = events.filter((event) => event.channelId === channelId).map((event) => event.sequence);
      expect(places).toEqual(places.map((_, i) => ({ epoch: BENCH_EPOCH, seq: i + 1 })));
    }
  });

  it('passes a receiver that got each delivery once, verified', () => {
    const world = clinics();
    const expected = expectedDeliveries(world, new EventStream(world).take(30));
    const check = checkDeliveries(expected, perfectArrivals(expected));
    expect(check).toMatchObject({
      expected: expected.length,
      delivered: expected.length,
      duplicates: 0,
      missing: 0,
      unexpected: 0,
      unverified: 0,
      outOfOrder: 0,
      ok: true,
    });
  });

  it('reports duplicates, misses, strangers and bad signatures as failures, and order apart', () => {
    const world = clinics();
    const expected = expectedDeliveries(world, new EventStream(world).take(30));
    const arrivals = perfectArrivals(expected);
    const [first, second, third, fourth] = arrivals as [Arrival, Arrival, Arrival, Arrival];
    const sameGroup = arrivals.filter(
      (arrival) => arrival.webhookId === first.webhookId && arrival.channelId === first.channelId,
    );
    const tampered: Arrival[] = [
      // The first delivery twice.
      first,
      first,
      // The second never comes (left out); the third only with a signature that did not verify.
      { ...third, verified: false },
      fourth,
      // A delivery nobody expected (another webhook's id).
      { ...fourth, webhookId: newId('webhook') },
      // The right id with another event inside.
      { ...arrivals[4], eventId: newId('event') } as Arrival,
      ...arrivals.slice(5),
    ];
    const check = checkDeliveries(expected, tampered);
    expect(check).toMatchObject({ duplicates: 1, missing: 3, unexpected: 1, unverified: 2, ok: false });
    expect(check.examples.missing).toContain(`${second.webhookId}/${second.messageId}`);
    expect(check.examples.duplicates).toEqual([`${first.webhookId}/${first.messageId}`]);

    // Out of order within a group is counted, and is not a failure by itself.
    const swapped = [...arrivals];
    const [x, y] = [arrivals.indexOf(sameGroup[0] as Arrival), arrivals.indexOf(sameGroup[1] as Arrival)];
    [swapped[x], swapped[y]] = [swapped[y] as Arrival, swapped[x] as Arrival];
    expect(checkDeliveries(expected, swapped)).toMatchObject({ outOfOrder: 1, ok: true });
  });
});

describe('the bare loop', () => {
  it('goes as wide as allowed, one item of a group at a time, each group in order', async () => {
    const items = Array.from({ length: 60 }, (_, index) => ({ index, group: `g${index % 7}` }));
    const running = new Set<string>();
    let most = 0;
    const done: typeof items = [];
    await runGrouped(items, { concurrency: 4, groupOf: (item) => item.group }, async (item) => {
      expect(running.has(item.group)).toBe(false);
      running.add(item.group);
      most = Math.max(most, running.size);
      await new Promise((resolve) => setTimeout(resolve, item.index % 3));
      running.delete(item.group);
      done.push(item);
    });
    expect(most).toBe(4);
    expect(done).toHaveLength(items.length);
    for (let group = 0; group < 7; group++) {
      const order = done.filter((item) => item.group === `g${group}`).map((item) => item.index);
      expect(order).toEqual([...order].sort((p, q) => p - q));
    }
    // One at a time is the items' own order.
    const sequential: number[] = [];
    await runGrouped(items, { concurrency: 1, groupOf: (item) => item.group }, async (item) => {
      sequential.push(item.index);
    });
    expect(sequential).toEqual(items.map((item) => item.index));
  });

  it('signs each delivery so the receiver verifies it with the webhook’s secret', async () => {
    const world = clinics();
    const expected = expectedDeliveries(world, new EventStream(world).take(24));
    const receiver = await startBenchReceiver();
    try {
      const secrets = new Map(world.flatMap((clinic) => clinic.webhooks.map((w) => [w.id, w.secret])));
      for (const [id, secret] of secrets) receiver.expect(id, secret);
      const deliveries: BareDelivery[] = expected.map((delivery) => ({
        url: receiver.urlOf(delivery.webhookId),
        secret: secrets.get(delivery.webhookId) ?? '',
        id: delivery.deliveryId,
        body: JSON.stringify(delivery.event),
        group: delivery.group,
      }));
      for (const keepAlive of [false, true]) {
        const run = await runBare({ deliveries, concurrency: 3, keepAlive });
        expect(run).toMatchObject({ requests: deliveries.length, failed: 0 });
        expect(checkDeliveries(expected, receiver.reset())).toMatchObject({ ok: true, outOfOrder: 0 });
      }
      // A wrong secret is refused (401), counted as a failed request and as unverified.
      const wrong = deliveries.map((delivery) => ({
        ...delivery,
        secret: newSecretValue(),
      }));
      expect(
        (await runBare({ deliveries: wrong.slice(0, 3), concurrency: 1, keepAlive: false })).failed,
      ).toBe(3);
      expect(checkDeliveries(expected, receiver.reset())).toMatchObject({ unverified: 3, ok: false });
    } finally {
      await receiver.close();
    }
  });
});

describe('the events benchmark options', () => {
  it('takes defaults, then the environment, then the command line', () => {
    expect(optionEnvironmentName('events')).toBe('BENCH_EVENTS');
    expect(optionEnvironmentName('latencyEvents')).toBe('BENCH_LATENCY_EVENTS');
    const defaults = eventsBenchOptions({}, {});
    expect(eventsBenchOptions({}, { BENCH_EVENTS: '40' })).toEqual({ ...defaults, events: 40 });
    expect(eventsBenchOptions({ events: 7 }, { BENCH_EVENTS: '40', BENCH_LATENCY_EVENTS: '9' })).toEqual({
      ...defaults,
      events: 7,
      latencyEvents: 9,
    });
    expect(() => eventsBenchOptions({}, { BENCH_EVENTS: '0' })).toThrow(/BENCH_EVENTS/);
    expect(() => eventsBenchOptions({}, { BENCH_WARM_UP_EVENTS: 'many' })).toThrow(/positive integer/);
  });
});
