// The webhook dispatcher on the emulator: the DynamoDB repositories of webhooks and deliveries, a
// FIFO queue of first tries and a standard queue of retries (the test's own, shaped like the stack's),
// consumed the way Lambda's event sources do, posting to real receivers on this machine's loopback
// that verify every request with `standardwebhooks`.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcherHandlers } from '#functions/consumers/webhook-dispatcher.ts';
import { SqsDeliveryQueue } from '#shared/aws/sqs-delivery-queue.ts';
import { SqsOrderedDeliveryQueue } from '#shared/aws/sqs-ordered-delivery-queue.ts';
import { type PlatformEvent, platformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import { deliveryIdOf, type Webhook } from '#shared/domain/webhook.ts';
import { createWebhookSender } from '#shared/net/webhook-sender.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import { createWebhookDispatcher } from '#shared/use-cases/webhook-dispatch.ts';
import { redeliver } from '#shared/use-cases/webhooks.ts';
import { eventBatch, MemoryEvents, newWebhook, statusEvent } from '#test/support/webhook-fakes.ts';
import { type Receiver, startReceiver } from '#test/support/webhook-receiver.ts';
import { platformRepositories } from './support/platform.ts';
import { createQueue, pollUntil } from './support/sqs-poller.ts';

const platform = platformRepositories();
const sqs = platform.clients.sqs;
const receivers: Receiver[] = [];
let queues: { ordered: string; jobs: string };
let world: Awaited<ReturnType<typeof dispatcherOnEmulator>>;

async function dispatcherOnEmulator() {
  const events = new MemoryEvents();
  const firstTries = new SqsOrderedDeliveryQueue(sqs, queues.ordered);
  const retries = new SqsDeliveryQueue(sqs, queues.jobs);
  const dispatcher = createWebhookDispatcher({
    webhooks: platform.webhooks,
    deliveries: platform.deliveries,
    firstTries,
    queue: retries,
    events,
    media: platform.media,
    sender: createWebhookSender({ policy: { allowLoopback: true } }),
    // The day-long schedule in under 2 s; SQS delays whole seconds, so each retry waits 1 s or so.
    retryScale: 2e-5,
    webhookCacheMs: 0,
  });
  const handlers = createDispatcherHandlers(dispatcher);
  return {
    events,
    handlers,
    retries,
    /** Runs the delivery queues until `done()`. */
    run: (done: () => boolean | Promise<boolean>, timeoutMs = 40_000) =>
      pollUntil(
        sqs,
        [
          { url: queues.ordered, handler: handlers.deliveries },
          { url: queues.jobs, handler: handlers.deliveries },
        ],
        done,
        { timeoutMs },
      ),
  };
}

beforeAll(async () => {
  const suffix = newId('event').slice(-10).toLowerCase();
  queues = {
    // As the stack's: every first try waits 1 s (ORDERED_QUEUE_DELAY).
    ordered: await createQueue(sqs, `dispatch-ordered-${suffix}`, { fifo: true, delaySeconds: 1 }),
    jobs: await createQueue(sqs, `dispatch-jobs-${suffix}`),
  };
  world = await dispatcherOnEmulator();
});
afterAll(async () => {
  await Promise.all(receivers.map((receiver) => receiver.close()));
});

async function tenantWithWebhook(overrides: Partial<Webhook> = {}) {
  const tenantId = (await createTenant(platform, { name: 'Clínica' })).id;
  const draft = newWebhook(tenantId, 'http://placeholder.invalid/', overrides);
  const receiver = await startReceiver(draft.secrets.map((secret) => secret.value));
  receivers.push(receiver);
  const webhook = { ...draft, url: receiver.url };
  await platform.webhooks.create(webhook);
  return { tenantId, webhook, receiver };
}

describe('the webhook dispatcher on the emulator', () => {
  it('delivers each channel’s events in order, signed, to its tenant’s webhooks only', async () => {
    const clinic = await tenantWithWebhook();
    const other = await tenantWithWebhook();
    const channels = [newId('channel'), newId('channel'), newId('channel')];
    const events = Array.from({ length: 15 }, (_, n) =>
      statusEvent(clinic.tenantId, channels[n % 3] ?? null, n),
    );
    for (let start = 0; start < events.length; start += 5) {
      expect(
        (await world.handlers.fanOut(eventBatch(events.slice(start, start + 5)))).batchItemFailures,
      ).toEqual([]);
    }
    await world.run(() => clinic.receiver.requests.length >= events.length);

    expect(clinic.receiver.requests).toHaveLength(events.length);
    for (const request of clinic.receiver.requests) expect(request.verifiedWith).toEqual([true]);
    for (const channel of channels) {
      expect(
        clinic.receiver.requests.filter((r) => r.event?.channelId === channel).map((r) => r.event?.id),
      ).toEqual(events.filter((event) => event.channelId === channel).map((event) => event.id));
    }
    expect(other.receiver.requests).toHaveLength(0);
    const stored = await platform.deliveries.list(clinic.tenantId, clinic.webhook.id, { limit: 50 });
    expect(stored.items.map((delivery) => delivery.status)).toEqual(events.map(() => 'succeeded'));

    // A burst handed to concurrent fan-outs the wrong way round still reaches the receiver in order.
    const burstChannel = newId('channel');
    const burst = [0, 1, 2, 3].map((n) => statusEvent(clinic.tenantId, burstChannel, n));
    for (const event of [...burst].reverse()) await world.handlers.fanOut(eventBatch([event]));
    await world.run(() => clinic.receiver.requests.length >= events.length + burst.length);
    expect(clinic.receiver.requests.slice(events.length).map((r) => r.event?.id)).toEqual(
      burst.map((event) => event.id),
    );

    // The same events again (EventBridge delivers at least once): nothing new, nothing sent.
    await world.handlers.fanOut(eventBatch(events.slice(0, 5)));
    await world.run(async () => true);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(clinic.receiver.requests).toHaveLength(events.length + burst.length);
  });

  it('retries through the delayed queue with the same webhook-id, and gives up after the schedule, then redelivers', async () => {
    const clinic = await tenantWithWebhook();
    let answers = 0;
    clinic.receiver.answer((_request, response) => {
      answers++;
      response.writeHead(answers === 1 ? 500 : 200).end();
    });
    const event = statusEvent(clinic.tenantId, newId('channel'));
    await world.handlers.fanOut(eventBatch([event]));
    const id = deliveryIdOf(event.id, clinic.webhook.id);
    const statusOf = async () =>
      (await platform.deliveries.get(clinic.tenantId, clinic.webhook.id, id))?.status;
    await world.run(async () => (await statusOf()) === 'succeeded');
    const [first, second] = clinic.receiver.requests;
    expect(clinic.receiver.requests).toHaveLength(2);
    expect(second?.headers['webhook-id']).toBe(first?.headers['webhook-id']);
    expect(second?.headers['webhook-id']).toBe(id);
    // The failing run began and ended: the webhook is not failing any more.
    expect((await platform.webhooks.get(clinic.tenantId, clinic.webhook.id))?.failingSince).toBeNull();

    // Down for good: the schedule runs out (scaled) and the delivery is dead.
    clinic.receiver.answer((_request, response) => {
      response.writeHead(503).end();
    });
    const down = statusEvent(clinic.tenantId, null);
    const downId = deliveryIdOf(down.id, clinic.webhook.id);
    await world.handlers.fanOut(eventBatch([down]));
    const downStatus = async () =>
      (await platform.deliveries.get(clinic.tenantId, clinic.webhook.id, downId))?.status;
    await world.run(async () => (await downStatus()) === 'dead', 60_000);
    const dead = await platform.deliveries.get(clinic.tenantId, clinic.webhook.id, downId);
    expect(dead?.attemptCount).toBe(10);

    // Redelivered on the clinic's request (the API's use case), once the receiver is back.
    clinic.receiver.answer((_request, response) => {
      response.writeHead(200).end();
    });
    const before = clinic.receiver.requests.length;
    await redeliver(
      {
        webhooks: platform.webhooks,
        deliveries: platform.deliveries,
        deliveryQueue: world.retries,
        channels: platform.channels,
        webhookUrlPolicy: { allowLoopback: true },
      },
      clinic.tenantId,
      clinic.webhook.id,
      downId,
    );
    await world.run(async () => (await downStatus()) === 'succeeded');
    expect(clinic.receiver.requests.length).toBe(before + 1);
    expect(clinic.receiver.requests.at(-1)?.headers['webhook-id']).toBe(downId);
  }, 90_000);

  it('sends a received file with a URL presigned for each try that downloads exactly the file stated, and keeps no URL', async () => {
    const clinic = await tenantWithWebhook();
    const photo = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(90_000, 7)]);
    const stored = await platform.media.putStream(clinic.tenantId, {
      body: (async function* () {
        yield photo.subarray(0, 10_000);
        yield photo.subarray(10_000);
      })(),
      mimeType: 'image/jpeg',
      fileName: null,
      maxBytes: 1_000_000,
    });
    const image = { ...stored, mimeType: 'image/jpeg', fileName: null, caption: 'Receita' };
    const event = platformEvent(
      'message.received',
      { tenantId: clinic.tenantId, channelId: newId('channel') },
      {
        messageId: newId('message'),
        from: { phoneNumber: '+5511987654321', lid: null, name: 'Maria Quintela' },
        timestamp: new Date().toISOString(),
        type: 'image',
        content: { image },
      },
    );
    // The first try fails: the second gets a URL of its own.
    let answers = 0;
    clinic.receiver.answer((_request, response) => {
      answers++;
      response.writeHead(answers === 1 ? 503 : 200).end();
    });
    await world.handlers.fanOut(eventBatch([event]));
    const id = deliveryIdOf(event.id, clinic.webhook.id);
    const delivery = async () => platform.deliveries.get(clinic.tenantId, clinic.webhook.id, id);
    await world.run(async () => (await delivery())?.status === 'succeeded');

    expect(clinic.receiver.requests).toHaveLength(2);
    const sent = clinic.receiver.requests.map(
      (request) =>
        (request.event as unknown as PlatformEvent<'message.received'>).data.content.image as Record<
          string,
          string
        >,
    );
    for (const [n, linked] of sent.entries()) {
      expect(clinic.receiver.requests[n]?.verifiedWith).toEqual([true]);
      expect(linked).toEqual({ ...image, url: expect.any(String), urlExpiresAt: expect.any(String) });
      const at = clinic.receiver.requests[n]?.at ?? 0;
      const expiresIn = Date.parse(linked.urlExpiresAt ?? '') - at;
      expect(expiresIn).toBeGreaterThan(290_000);
      expect(expiresIn).toBeLessThanOrEqual(300_000);
      const download = await fetch(linked.url ?? '');
      expect(download.status).toBe(200);
      const bytes = Buffer.from(await download.arrayBuffer());
      expect(bytes.length).toBe(stored.size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(stored.sha256);
      expect(bytes.equals(photo)).toBe(true);
    }
    expect(sent[1]?.urlExpiresAt).not.toBe(sent[0]?.urlExpiresAt);
    // What is kept (the delivery's event, for the tenant's retention) holds no URL.
    expect((await delivery())?.event).toEqual(event);
    expect(JSON.stringify(await delivery())).not.toContain('X-Amz-Signature');
  }, 60_000);

  it('disables a webhook that answers 410 and publishes webhook.disabled', async () => {
    const clinic = await tenantWithWebhook();
    clinic.receiver.answer((_request, response) => {
      response.writeHead(410).end();
    });
    await world.handlers.fanOut(eventBatch([statusEvent(clinic.tenantId, newId('channel'))]));
    await world.run(
      async () => (await platform.webhooks.get(clinic.tenantId, clinic.webhook.id))?.status === 'disabled',
    );
    expect(await platform.webhooks.get(clinic.tenantId, clinic.webhook.id)).toMatchObject({
      status: 'disabled',
      disabledReason: 'gone',
    });
    expect(world.events.published.filter((event) => event.tenantId === clinic.tenantId)).toMatchObject([
      { type: 'webhook.disabled', data: { webhookId: clinic.webhook.id, reason: 'gone' } },
    ]);
  });
});
