import { afterEach, describe, expect, it } from 'vitest';
import type { PlatformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import {
  DISABLE_AFTER_FAILING_MS,
  deliveryIdOf,
  deliveryOrderKey,
  RETRY_SCHEDULE_SECONDS,
  type Webhook,
} from '#shared/domain/webhook.ts';
import type { WebhookSecretCipher } from '#shared/ports.ts';
import { SECRETS_UNREADABLE_WAIT_MS } from '#shared/use-cases/webhook-dispatch.ts';
import { dispatcherWorld } from '#test/support/dispatcher-world.ts';
import {
  eventBatch,
  eventOfType,
  memorySecrets,
  newWebhook,
  secretsInClear,
  statusEvent,
} from '#test/support/webhook-fakes.ts';
import { type Receiver, startReceiver } from '#test/support/webhook-receiver.ts';

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function receiverFor(webhook: Pick<Webhook, 'tenantId' | 'id' | 'secrets'>): Promise<Receiver> {
  const receiver = await startReceiver(secretsInClear(webhook));
  receivers.push(receiver);
  return receiver;
}

/** A webhook of the world's tenant with its receiver. */
async function clinicWebhook(
  world: ReturnType<typeof dispatcherWorld>,
  overrides: Partial<Webhook> = {},
): Promise<{ webhook: Webhook; receiver: Receiver }> {
  const draft = newWebhook(world.tenantId, 'http://placeholder.invalid/', overrides);
  const receiver = await receiverFor(draft);
  const webhook = { ...draft, url: receiver.url, ...(overrides.url ? { url: overrides.url } : {}) };
  await world.webhooks.create(webhook);
  return { webhook, receiver };
}

describe('fan-out', () => {
  it('sends each event to the webhooks of its tenant that want it, and to no other', async () => {
    const world = dispatcherWorld();
    const channelA = newId('channel');
    const channelB = newId('channel');
    const all = await clinicWebhook(world);
    const statusesOnly = await clinicWebhook(world, { events: ['message.status'] });
    const channelAOnly = await clinicWebhook(world, { channelIds: [channelA] });
    const disabled = await clinicWebhook(world, { status: 'disabled', disabledReason: 'by_clinic' });
    const otherTenant = newId('tenant');
    const stranger = newWebhook(otherTenant, all.webhook.url);
    await world.webhooks.create(stranger);

    const events = [
      statusEvent(world.tenantId, channelA),
      eventOfType('channel.status', world.tenantId, channelB, {
        status: 'open',
        previousStatus: 'connecting',
      }),
      eventOfType('webhook.test', world.tenantId, null, { message: 'hi', webhookId: all.webhook.id }),
    ];
    const response = await world.handlers.fanOut(eventBatch(events));
    expect(response.batchItemFailures).toEqual([]);
    await world.pump(world.settled);

    const typesAt = (receiver: Receiver) => receiver.requests.map((request) => request.event?.type);
    expect(typesAt(all.receiver)).toEqual(['message.status', 'channel.status', 'webhook.test']);
    expect(typesAt(statusesOnly.receiver)).toEqual(['message.status']);
    expect(typesAt(channelAOnly.receiver)).toEqual(['message.status']);
    expect(disabled.receiver.requests).toHaveLength(0);
    // The stranger shares a URL with `all`: it got exactly `all`'s three, none for its own tenant.
    expect(world.deliveries.all().filter((d) => d.webhookId === stranger.id)).toEqual([]);
    expect(world.deliveries.all().every((delivery) => delivery.tenantId === world.tenantId)).toBe(true);
    for (const request of all.receiver.requests) expect(request.verifiedWith.every(Boolean)).toBe(true);
  });

  it('makes nothing of a duplicate event, and never sends a succeeded delivery again', async () => {
    const world = dispatcherWorld();
    const { webhook, receiver } = await clinicWebhook(world);
    const event = statusEvent(world.tenantId, newId('channel'));
    await world.handlers.fanOut(eventBatch([event]));
    await world.pump(world.settled);
    await world.handlers.fanOut(eventBatch([event, event]));
    await world.pump(world.settled);

    expect(receiver.requests).toHaveLength(1);
    expect(world.deliveries.all()).toHaveLength(1);
    expect(world.deliveries.all()[0]).toMatchObject({
      id: deliveryIdOf(event.id, webhook.id),
      status: 'succeeded',
      attemptCount: 1,
    });
  });

  it('fails only the record that is not a platform event', async () => {
    const world = dispatcherWorld();
    await clinicWebhook(world);
    const batch = eventBatch([statusEvent(world.tenantId, null)]);
    const bad = {
      ...(batch.Records[0] as (typeof batch.Records)[number]),
      messageId: 'bad',
      body: '{"detail":{}}',
    };
    const response = await world.handlers.fanOut({ Records: [...batch.Records, bad] });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }]);
  });
});

describe('retries', () => {
  it('delivers once the receiver recovers, with the same webhook-id, and forgets the failures', async () => {
    const world = dispatcherWorld();
    const { webhook, receiver } = await clinicWebhook(world);
    let calls = 0;
    receiver.answer((_request, response) => {
      calls++;
      response.writeHead(calls === 1 ? 500 : 200).end(calls === 1 ? 'boom' : 'ok');
    });
    await world.handlers.fanOut(eventBatch([statusEvent(world.tenantId, newId('channel'))]));
    await world.pump(() => (world.webhooks.items.get(webhook.id)?.failingSince ?? null) !== null);
    await world.pump(world.settled);

    const [first, second] = receiver.requests;
    expect(receiver.requests).toHaveLength(2);
    expect(first?.headers['webhook-id']).toBe(second?.headers['webhook-id']);
    const [delivery] = world.deliveries.all();
    expect(delivery).toMatchObject({ status: 'succeeded', attemptCount: 2 });
    expect(delivery?.attempts.map((attempt) => [attempt.statusCode, attempt.error])).toEqual([
      [500, 'http_500'],
      [200, null],
    ]);
    expect(delivery?.attempts[0]?.responseExcerpt).toBe('boom');
    expect(world.webhooks.items.get(webhook.id)?.failingSince).toBeNull();
    expect(world.counts).toMatchObject({ succeeded: 1, failed: 1 });
  });

  it('gives a delivery up after the whole (scaled) schedule, and delivers it when asked again', async () => {
    const world = dispatcherWorld();
    const { webhook, receiver } = await clinicWebhook(world);
    receiver.answer((_request, response) => {
      response.writeHead(503).end();
    });
    await world.handlers.fanOut(eventBatch([statusEvent(world.tenantId, newId('channel'))]));
    await world.pump(world.settled);

    const tries = RETRY_SCHEDULE_SECONDS.length + 1;
    expect(receiver.requests).toHaveLength(tries);
    const [dead] = world.deliveries.all();
    expect(dead).toMatchObject({ status: 'dead', attemptCount: tries, nextAttemptAt: null });
    expect(world.counts).toMatchObject({ failed: tries, dead: 1 });
    expect(world.webhooks.items.get(webhook.id)).toMatchObject({ status: 'enabled' });

    // Redelivery, as the API asks for it: reopen, and one job.
    receiver.answer((_request, response) => {
      response.writeHead(204).end();
    });
    const reopened = await world.deliveries.reopen(
      world.tenantId,
      webhook.id,
      dead?.id ?? '',
      new Date().toISOString(),
    );
    await world.ordered.enqueue([
      {
        tenantId: world.tenantId,
        webhookId: webhook.id,
        deliveryId: reopened.id,
        orderKey: deliveryOrderKey(webhook.id, reopened.event.channelId),
        attemptCount: reopened.attemptCount,
        generation: reopened.generation,
        dueAt: reopened.nextAttemptAt ?? '',
      },
    ]);
    await world.pump(world.settled);
    expect(receiver.requests).toHaveLength(tries + 1);
    expect(new Set(receiver.requests.map((request) => request.headers['webhook-id']))).toEqual(
      new Set([dead?.id]),
    );
    expect(world.deliveries.all()[0]).toMatchObject({ status: 'succeeded', attemptCount: tries + 1 });
  });

  it('honours Retry-After on a 429: the next try comes no sooner', async () => {
    const world = dispatcherWorld();
    const { receiver } = await clinicWebhook(world);
    let calls = 0;
    receiver.answer((_request, response) => {
      calls++;
      if (calls === 1) response.writeHead(429, { 'retry-after': '1' }).end();
      else response.writeHead(200).end();
    });
    await world.handlers.fanOut(eventBatch([statusEvent(world.tenantId, newId('channel'))]));
    await world.pump(world.settled);

    const [first, second] = receiver.requests;
    expect(receiver.requests).toHaveLength(2);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1_000);
    expect(world.retries.sent[0]?.delayMs).toBeGreaterThanOrEqual(1_000);
  });

  it('counts a receiver that does not answer in time as a failed try, and tries again', async () => {
    // The deadline scaled like the receiver (15 s against 20 s, in 25 ms units): the shape, not the clock.
    const world = dispatcherWorld({ timeoutMs: 15 * 25 });
    const { receiver } = await clinicWebhook(world);
    let calls = 0;
    receiver.answer(async (_request, response) => {
      calls++;
      if (calls === 1) await new Promise((resolve) => setTimeout(resolve, 20 * 25));
      response.writeHead(200).end();
    });
    await world.handlers.fanOut(eventBatch([statusEvent(world.tenantId, newId('channel'))]));
    await world.pump(world.settled);

    const [delivery] = world.deliveries.all();
    expect(delivery?.status).toBe('succeeded');
    expect(delivery?.attempts.map((attempt) => attempt.error)).toEqual(['timeout', null]);
    expect(delivery?.attempts[0]?.statusCode).toBeNull();
  });
});

describe('disabling', () => {
  it('disables a webhook that answers 410, publishes webhook.disabled and drops its other jobs', async () => {
    const world = dispatcherWorld();
    const clinic = await clinicWebhook(world);
    const { receiver } = clinic;
    // A URL whose path and query carry a token: none of it goes into webhook.disabled.
    const webhook = { ...clinic.webhook, url: new URL('/hooks/wa?token=s3cret', receiver.url).href };
    world.webhooks.items.set(webhook.id, webhook);
    receiver.answer((_request, response) => {
      response.writeHead(410).end();
    });
    const channel = newId('channel');
    await world.handlers.fanOut(
      eventBatch([statusEvent(world.tenantId, channel, 1), statusEvent(world.tenantId, channel, 2)]),
    );
    await world.pump(() => world.ordered.depth === 0 && world.retries.depth === 0);

    expect(receiver.requests).toHaveLength(1);
    expect(world.webhooks.items.get(webhook.id)).toMatchObject({
      status: 'disabled',
      disabledReason: 'gone',
    });
    const [gone, dropped] = world.deliveries.all().sort((a, b) => a.id.localeCompare(b.id));
    expect(gone).toMatchObject({ status: 'dead', attemptCount: 1 });
    expect(gone?.attempts[0]).toMatchObject({ statusCode: 410, error: 'http_410' });
    // Not tried, kept pending: visible, and redeliverable once the clinic enables the webhook again.
    expect(dropped).toMatchObject({ status: 'pending', attemptCount: 0 });
    expect(world.events.published).toHaveLength(1);
    expect(world.events.published[0]).toMatchObject({
      type: 'webhook.disabled',
      tenantId: world.tenantId,
      channelId: null,
    });
    expect(world.events.published[0]?.data).toEqual({
      webhookId: webhook.id,
      origin: new URL(receiver.url).origin,
      reason: 'gone',
      failingSince: null,
    });
    expect(JSON.stringify(world.events.published[0])).not.toMatch(/s3cret|hooks\/wa/);
    expect(world.counts.webhookDisabled).toBe(1);
  });

  it('disables a webhook failing for DISABLE_AFTER_FAILING_MS', async () => {
    let now = Date.now();
    const world = dispatcherWorld({ now: () => new Date(now), retryScale: 1 });
    const failingSince = new Date(now - DISABLE_AFTER_FAILING_MS + 60_000).toISOString();
    const { webhook, receiver } = await clinicWebhook(world, { failingSince });
    receiver.answer((_request, response) => {
      response.writeHead(500).end();
    });
    await world.handlers.fanOut(eventBatch([statusEvent(world.tenantId, newId('channel'))]));
    await world.pump(() => receiver.requests.length === 1 && world.ordered.depth === 0);
    // Failing for a minute less than the limit: still enabled, its run of failures kept.
    expect(world.webhooks.items.get(webhook.id)).toMatchObject({ status: 'enabled', failingSince });

    // Ten minutes later by the dispatcher's clock, the retry (queued 5 s ahead) fails too.
    now += 600_000;
    const retry = world.retries.sent.at(-1)?.job;
    expect(await world.dispatcher.deliver(retry as NonNullable<typeof retry>)).toBe('retrying');
    expect(world.webhooks.items.get(webhook.id)).toMatchObject({
      status: 'disabled',
      disabledReason: 'failing',
    });
    expect(world.events.published.map((event) => event.data)).toEqual([
      { webhookId: webhook.id, origin: new URL(webhook.url).origin, reason: 'failing', failingSince },
    ]);
    // Its next job finds the webhook disabled: dropped, the delivery kept pending.
    now += 3_600_000;
    const next = world.retries.sent.at(-1)?.job;
    expect(await world.dispatcher.deliver(next as NonNullable<typeof next>)).toBe('webhook_disabled');
    expect(receiver.requests).toHaveLength(2);
  });
});

/** The event with its place in its channel's order, as a runner publishes it. */
function placed<T extends PlatformEvent>(event: T, epoch: number, seq: number): T {
  return { ...event, sequence: { epoch, seq } };
}

/** `count` events of one channel, made in order and numbered 1, 2, 3… under `epoch` from `from`. */
function channelEvents(tenantId: string, channelId: string, count: number, epoch = 1, from = 1) {
  return Array.from({ length: count }, (_, n) =>
    placed(statusEvent(tenantId, channelId, n), epoch, from + n),
  );
}

/** The ids a receiver got, in the order it got them. */
const idsAt = (receiver: Receiver, channelId?: string) =>
  receiver.requests
    .filter((request) => !channelId || request.event?.channelId === channelId)
    .map((request) => request.event?.id);

/** A world whose clock (the event queue's and the dispatcher's) the test moves. */
function worldWithClock() {
  const clock = { now: Date.parse('2030-01-01T00:00:00.000Z') };
  const world = dispatcherWorld({ clock: () => clock.now });
  const pass = (ms: number) => {
    clock.now += ms;
  };
  return { world, clock, pass };
}

describe('order', () => {
  it('keeps each channel’s order per webhook while receivers are healthy, many groups at once', async () => {
    const world = dispatcherWorld();
    const hooks = await Promise.all([clinicWebhook(world), clinicWebhook(world), clinicWebhook(world)]);
    for (const { receiver } of hooks) {
      receiver.answer(async (_request, response) => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 8));
        response.writeHead(200).end();
      });
    }
    const channels = [newId('channel'), newId('channel'), newId('channel'), newId('channel')];
    const perChannel = channels.map(() => 0);
    const events = Array.from({ length: 48 }, (_, n) =>
      placed(statusEvent(world.tenantId, channels[n % 4] ?? null, n), 1, ++(perChannel[n % 4] as number)),
    );
    // Batches as SQS hands them out: ten at a time, each in no particular order.
    for (let start = 0; start < events.length; start += 10) {
      world.publish(...events.slice(start, start + 10).sort(() => Math.random() - 0.5));
      expect((await world.fanOutVisible()).flat()).toEqual([]);
    }
    await world.pump(world.settled);

    for (const { receiver } of hooks) {
      expect(receiver.requests).toHaveLength(events.length);
      for (const channel of channels) {
        expect(idsAt(receiver, channel)).toEqual(
          events.filter((event) => event.channelId === channel).map((event) => event.id),
        );
      }
    }
  });

  it('fans a channel’s events out in its order when they reach the fan-out reversed, in batches seconds apart', async () => {
    const { world, pass } = worldWithClock();
    const { receiver } = await clinicWebhook(world);
    const channel = newId('channel');
    const [first, second, third] = channelEvents(world.tenantId, channel, 3) as [
      PlatformEvent,
      PlatformEvent,
      PlatformEvent,
    ];
    // The standard event queue hands the third out first, then the second two seconds later: each
    // is held (its record failed, back within a second), the first arrives two seconds after that.
    world.publish(third);
    expect((await world.fanOutVisible(1)).flat()).toHaveLength(1);
    pass(2_000);
    world.publish(second);
    expect((await world.fanOutVisible(1)).flat()).toHaveLength(2);
    pass(2_000);
    world.publish(first);
    await world.fanOutVisible(1);
    expect(world.ordered.sent.map((sent) => sent.job.deliveryId.slice(4, 30))).toEqual([first.id.slice(4)]);
    // Back a second after each hold, the two held are now due in turn (whichever SQS hands out first).
    for (let round = 0; world.eventQueue.depth > 0 && round < 3; round++) {
      pass(1_000);
      await world.fanOutVisible(1);
    }
    expect(world.eventQueue.depth).toBe(0);
    await world.pump(world.settled);

    expect(idsAt(receiver)).toEqual([first.id, second.id, third.id]);
    expect(world.counts.gapSkipped).toBe(0);
    expect(await world.cursors.get(world.tenantId, channel)).toMatchObject({ epoch: 1, seq: 3 });
    // The place is the bus's own: the payload and the stored delivery are the public envelope.
    for (const request of receiver.requests) expect(request.event).not.toHaveProperty('sequence');
    for (const delivery of world.deliveries.all()) expect(delivery.event).not.toHaveProperty('sequence');
  });

  it('holds the records behind a held one for a second too, and never other channels', async () => {
    const { world, pass } = worldWithClock();
    const { receiver } = await clinicWebhook(world);
    const [a, b] = [newId('channel'), newId('channel')];
    const [a1, a2, a3, a4] = channelEvents(world.tenantId, a, 4) as PlatformEvent[];
    const ofB = channelEvents(world.tenantId, b, 3);
    world.publish(a1 as PlatformEvent, a3 as PlatformEvent, ofB[0] as PlatformEvent, a4 as PlatformEvent);
    world.publish(ofB[1] as PlatformEvent, ofB[2] as PlatformEvent);
    // One batch: a's third fails held, its fourth fails untried behind it; b goes on.
    const [failed] = await world.fanOutVisible();
    expect(failed).toHaveLength(2);
    await world.pump(world.settled);
    expect(idsAt(receiver, b)).toEqual(ofB.map((event) => event.id));
    expect(idsAt(receiver, a)).toEqual([a1?.id]);

    // Both come back after a second (not the queue's 180 s), and wait on until the second is in.
    pass(1_000);
    expect((await world.fanOutVisible()).flat()).toHaveLength(2);
    world.publish(a2 as PlatformEvent);
    pass(1_000);
    expect((await world.fanOutVisible()).flat()).toEqual([]);
    await world.pump(world.settled);
    expect(idsAt(receiver, a)).toEqual([a1, a2, a3, a4].map((event) => event?.id));
    expect(world.eventQueue.depth).toBe(0);
  });

  it('goes past a gap not filled within the gap wait, and delivers the missing event if it turns up late', async () => {
    const { world, pass } = worldWithClock();
    const { receiver } = await clinicWebhook(world);
    const channel = newId('channel');
    const [first, lost, third, fourth] = channelEvents(world.tenantId, channel, 4) as PlatformEvent[];
    world.publish(first as PlatformEvent, third as PlatformEvent);
    await world.fanOutVisible();
    pass(5_000);
    world.publish(fourth as PlatformEvent);
    // Five seconds on, the third still waits (its wait runs from SQS's first receive of it).
    expect((await world.fanOutVisible()).flat()).toHaveLength(2);
    await world.pump(world.settled);
    expect(idsAt(receiver)).toEqual([first?.id]);
    expect(world.counts.gapSkipped).toBe(0);

    pass(5_000);
    expect((await world.fanOutVisible()).flat()).toEqual([]);
    await world.pump(world.settled);
    expect(idsAt(receiver)).toEqual([first, third, fourth].map((event) => event?.id));
    expect(world.counts.gapSkipped).toBe(1);
    expect(await world.cursors.get(world.tenantId, channel)).toMatchObject({ epoch: 1, seq: 4 });

    // The lost event after all: behind the cursor, delivered at once (late, and out of order).
    world.publish(lost as PlatformEvent);
    expect((await world.fanOutVisible()).flat()).toEqual([]);
    await world.pump(world.settled);
    expect(idsAt(receiver)).toEqual([first, third, fourth, lost].map((event) => event?.id));
    expect(await world.cursors.get(world.tenantId, channel)).toMatchObject({ epoch: 1, seq: 4 });
  });

  it('keeps holding past the gap wait while the channel still moves on, and keeps its order', async () => {
    const { world, pass } = worldWithClock();
    const { receiver } = await clinicWebhook(world);
    const channel = newId('channel');
    const [first, second, third] = channelEvents(world.tenantId, channel, 3) as PlatformEvent[];
    world.publish(third as PlatformEvent);
    expect((await world.fanOutVisible()).flat()).toHaveLength(1);
    pass(6_000);
    world.publish(first as PlatformEvent);
    await world.fanOutVisible();
    pass(5_000);
    // Eleven seconds since the third was first handed out, but the channel moved on five ago: held.
    expect((await world.fanOutVisible()).flat()).toHaveLength(1);
    expect(world.counts.gapSkipped).toBe(0);
    world.publish(second as PlatformEvent);
    await world.fanOutVisible();
    pass(1_000);
    expect((await world.fanOutVisible()).flat()).toEqual([]);
    await world.pump(world.settled);
    expect(idsAt(receiver)).toEqual([first, second, third].map((event) => event?.id));
    expect(world.counts.gapSkipped).toBe(0);
  });

  it('lets a duplicate and a late event of an earlier lease through at once, and a new lease start at 1', async () => {
    const { world, pass } = worldWithClock();
    const { receiver } = await clinicWebhook(world);
    const channel = newId('channel');
    const lease5 = channelEvents(world.tenantId, channel, 3, 5);
    world.publish(...lease5);
    await world.fanOutVisible();
    await world.pump(world.settled);

    // EventBridge delivers at least once: the second again makes nothing new and sends nothing.
    world.publish(lease5[1] as PlatformEvent);
    // A late event of the lease before: the cursor is past its epoch, so it goes at once.
    const late = placed(statusEvent(world.tenantId, channel), 4, 9);
    world.publish(late);
    expect((await world.fanOutVisible()).flat()).toEqual([]);
    await world.pump(world.settled);
    expect(idsAt(receiver)).toEqual([...lease5, late].map((event) => event.id));
    expect(await world.cursors.get(world.tenantId, channel)).toMatchObject({ epoch: 5, seq: 3 });

    // A takeover: the next lease counts from 1; its first goes at once, its third waits for its second.
    const lease6 = channelEvents(world.tenantId, channel, 3, 6);
    world.publish(lease6[0] as PlatformEvent, lease6[2] as PlatformEvent);
    expect((await world.fanOutVisible()).flat()).toHaveLength(1);
    world.publish(lease6[1] as PlatformEvent);
    pass(1_000);
    expect((await world.fanOutVisible()).flat()).toEqual([]);
    await world.pump(world.settled);
    expect(idsAt(receiver)).toEqual([...lease5, late, ...lease6].map((event) => event.id));
    expect(await world.cursors.get(world.tenantId, channel)).toMatchObject({ epoch: 6, seq: 3 });
    expect(world.counts.gapSkipped).toBe(0);
  });

  it('sends events with no place in a channel’s order (the API’s, the dispatcher’s) at once', async () => {
    const { world } = worldWithClock();
    const { receiver, webhook } = await clinicWebhook(world);
    const channel = newId('channel');
    // The channel waits for its first event; an unnumbered event of it, and one of no channel, do not.
    world.publish(placed(statusEvent(world.tenantId, channel), 1, 2));
    const unnumbered = statusEvent(world.tenantId, channel);
    const test = eventOfType('webhook.test', world.tenantId, null, { message: 'hi', webhookId: webhook.id });
    world.publish(unnumbered, test);
    expect((await world.fanOutVisible()).flat()).toHaveLength(1);
    await world.pump(world.settled);
    expect(idsAt(receiver)).toEqual([unnumbered.id, test.id]);
  });

  it('keeps no order for a tenant with no webhook: nothing held, no cursor kept', async () => {
    const { world } = worldWithClock();
    const channel = newId('channel');
    world.publish(...channelEvents(world.tenantId, channel, 2, 1, 5));
    expect((await world.fanOutVisible()).flat()).toEqual([]);
    expect(await world.cursors.get(world.tenantId, channel)).toBeNull();
    expect(world.ordered.sent).toHaveLength(0);
  });

  it('does not let a failing delivery hold back other channels or webhooks', async () => {
    const world = dispatcherWorld({ retryScale: 1e-3 });
    const failing = await clinicWebhook(world);
    const healthy = await clinicWebhook(world);
    const stuck = newId('channel');
    const other = newId('channel');
    failing.receiver.answer((request, response) => {
      response.writeHead(request.event?.channelId === stuck ? 500 : 200).end();
    });
    await world.handlers.fanOut(
      eventBatch([statusEvent(world.tenantId, stuck, 1), statusEvent(world.tenantId, other, 2)]),
    );
    await world.pump(() => world.ordered.depth === 0 && healthy.receiver.requests.length === 2);
    await world.pump(() => failing.receiver.requests.some((r) => r.event?.channelId === other));
    // The stuck channel's delivery waits for its second try (5 s at this scale: 5 ms… 300 ms).
    expect(
      world.deliveries.all().find((d) => d.webhookId === failing.webhook.id && d.event.channelId === stuck)
        ?.status,
    ).toBe('pending');
  });
});

describe('pairing secrets', () => {
  it('sends a QR at once, keeps no copy of it, and tries no more once it has expired', async () => {
    const world = dispatcherWorld({ pairingRetryMs: 200 });
    const { receiver } = await clinicWebhook(world);
    let calls = 0;
    receiver.answer((_request, response) => {
      calls++;
      response.writeHead(calls === 1 ? 502 : 200).end();
    });
    const qr = eventOfType('channel.qr', world.tenantId, newId('channel'), {
      qr: '2@secret-qr-payload',
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    const first = await world.handlers.fanOut(eventBatch([qr]));
    expect(first.batchItemFailures).toHaveLength(1);
    const again = await world.handlers.fanOut(eventBatch([qr]));
    expect(again.batchItemFailures).toEqual([]);
    await world.handlers.fanOut(eventBatch([qr]));

    expect(
      receiver.requests.map((request) => (request.event?.data as { qr?: string } | undefined)?.qr),
    ).toEqual(['2@secret-qr-payload', '2@secret-qr-payload']);
    expect(world.ordered.sent).toHaveLength(0);
    expect(world.retries.sent).toHaveLength(0);
    const [delivery] = world.deliveries.all();
    expect(delivery?.status).toBe('succeeded');
    expect(JSON.stringify(delivery)).not.toContain('secret-qr-payload');

    const expired = eventOfType('channel.qr', world.tenantId, newId('channel'), {
      qr: '2@old',
      expiresAt: new Date(Date.now() - 1).toISOString(),
    });
    expect((await world.handlers.fanOut(eventBatch([expired]))).batchItemFailures).toEqual([]);
    expect(receiver.requests).toHaveLength(2);
  });

  it('gives a pairing code up as dead when its next try would come after it expires', async () => {
    const world = dispatcherWorld({ pairingRetryMs: 20_000 });
    const { receiver } = await clinicWebhook(world);
    receiver.answer((_request, response) => {
      response.writeHead(500).end();
    });
    const code = eventOfType('channel.pairing_code', world.tenantId, newId('channel'), {
      pairingCode: 'ABCD1234',
      phoneNumber: '+5511912345678',
      expiresAt: new Date(Date.now() + 5_000).toISOString(),
    });
    expect((await world.handlers.fanOut(eventBatch([code]))).batchItemFailures).toEqual([]);
    const [delivery] = world.deliveries.all();
    expect(delivery).toMatchObject({ status: 'dead', attemptCount: 1 });
    expect(JSON.stringify(delivery)).not.toContain('ABCD1234');
  });
});

describe('signing secrets', () => {
  /** The in-memory key, refusing to open while `refusal` is set (KMS denying, or down). */
  function refusableSecrets() {
    const state = { refusal: null as Error | null };
    const secrets: WebhookSecretCipher = {
      seal: (owner, secret) => memorySecrets.seal(owner, secret),
      open: (owner, sealed) =>
        state.refusal ? Promise.reject(state.refusal) : memorySecrets.open(owner, sealed),
    };
    return { secrets, state };
  }
  const denied = () => Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' });

  it('sends nothing while the secrets cannot be opened: the job waits unclaimed, and delivers once they open', async () => {
    const { secrets, state } = refusableSecrets();
    const world = dispatcherWorld({ secrets });
    const { webhook, receiver } = await clinicWebhook(world);
    const event = statusEvent(world.tenantId, null);
    await world.handlers.fanOut(eventBatch([event]));
    state.refusal = denied();
    const batch = world.ordered.receive(5);
    if (!batch) throw new Error('a first try is queued');
    const response = await world.handlers.deliveries(batch);
    // Not a failed record (its DLQ would end the delivery's chances): the job waits on the jobs
    // queue, as long as the outage lasts, a new message each time.
    expect(response.batchItemFailures).toEqual([]);
    world.ordered.settle(batch, []);
    expect(world.retries.sent.map((sent) => sent.delayMs)).toEqual([
      Math.round(SECRETS_UNREADABLE_WAIT_MS * 1e-5),
    ]);
    expect(world.counts.secretsUnreadable).toBe(1);
    expect(receiver.requests).toEqual([]);
    expect(world.deliveries.all()).toMatchObject([
      { webhookId: webhook.id, status: 'pending', attemptCount: 0, claimedUntil: null, attempts: [] },
    ]);

    state.refusal = null;
    await world.pump(world.settled);
    expect(receiver.requests.map((request) => [request.event?.id, request.verifiedWith])).toEqual([
      [event.id, [true]],
    ]);
    expect(world.counts).toMatchObject({ succeeded: 1, failed: 0, secretsUnreadable: 1 });
  });

  it('sends no QR while the secrets cannot be opened: the event’s record fails and comes back', async () => {
    const { secrets, state } = refusableSecrets();
    const world = dispatcherWorld({ secrets });
    const { receiver } = await clinicWebhook(world);
    const qr = eventOfType('channel.qr', world.tenantId, newId('channel'), {
      qr: '2@qr-payload',
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    state.refusal = denied();
    expect((await world.handlers.fanOut(eventBatch([qr]))).batchItemFailures).toHaveLength(1);
    expect(receiver.requests).toEqual([]);
    expect(world.deliveries.all()).toEqual([]);
    expect(world.counts.secretsUnreadable).toBe(1);

    state.refusal = null;
    expect((await world.handlers.fanOut(eventBatch([qr]))).batchItemFailures).toEqual([]);
    expect(receiver.requests.map((request) => request.verifiedWith)).toEqual([[true]]);
  });

  it('signs with the secrets of the webhook’s item as it is at each try, opened for that webhook', async () => {
    const world = dispatcherWorld();
    const { webhook, receiver } = await clinicWebhook(world);
    const other = newWebhook(world.tenantId, receiver.url);
    // Another webhook's ciphertext in this one's item: it does not open for this webhook.
    await world.webhooks.update(world.tenantId, webhook.id, webhook.version, { secrets: other.secrets });
    await world.handlers.fanOut(eventBatch([statusEvent(world.tenantId, null)]));
    const batch = await (async () => {
      for (let waited = 0; waited < 100; waited++) {
        const received = world.ordered.receive(5);
        if (received) return received;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error('no first try came');
    })();
    // Nothing sent; the job waits on the jobs queue (a new message), its record done.
    expect((await world.handlers.deliveries(batch)).batchItemFailures).toEqual([]);
    expect(world.retries.sent.map((sent) => sent.delayMs)).toEqual([
      Math.round(SECRETS_UNREADABLE_WAIT_MS * 1e-5),
    ]);
    expect(receiver.requests).toEqual([]);
    expect(world.counts.secretsUnreadable).toBe(1);
  });
});

describe('jobs', () => {
  it('drops a job whose delivery was tried since it was queued, and sends one due later on again', async () => {
    const world = dispatcherWorld();
    const { webhook, receiver } = await clinicWebhook(world);
    const event = statusEvent(world.tenantId, null);
    await world.handlers.fanOut(eventBatch([event]));
    const [job] = world.ordered.sent.map((sent) => sent.job);
    await world.pump(world.settled);
    expect(receiver.requests).toHaveLength(1);

    // The same job again (a duplicate message): the delivery has moved on, nothing is sent.
    expect(await world.dispatcher.deliver(job as NonNullable<typeof job>)).toBe('dropped');
    // A delivery due in two hours: the job goes back to wait, delayed by what is left.
    const later = new Date(Date.now() + 7_200_000).toISOString();
    const reopened = await world.deliveries.reopen(world.tenantId, webhook.id, job?.deliveryId ?? '', later);
    const waiting = {
      ...(job as NonNullable<typeof job>),
      attemptCount: reopened.attemptCount,
      generation: reopened.generation,
      dueAt: later,
    };
    expect(await world.dispatcher.deliver(waiting)).toBe('waiting');
    expect(world.retries.sent.at(-1)?.delayMs).toBeGreaterThan(7_190_000);
    expect(receiver.requests).toHaveLength(1);
  });
});
