// The webhook dispatcher on the emulator: the DynamoDB repositories of webhooks, deliveries and
// channels' cursors, the webhook secrets sealed with the emulator's KMS under the stack's
// webhook-secrets key, the media store, a standard event queue, a FIFO queue of first tries and a
// standard queue of retries (the test's own, shaped like the stack's), consumed the way Lambda's
// event sources do, posting to real receivers on this machine's loopback that verify every request
// with `standardwebhooks`.
import { createHash } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcherHandlers } from '#functions/consumers/webhook-dispatcher.ts';
import { DynamoEventSequenceCursors } from '#shared/aws/dynamo/event-sequence-cursors.ts';
import { eventSequenceCursorKey, webhookKey } from '#shared/aws/dynamo/platform-keys.ts';
import { SqsDeliveryQueue } from '#shared/aws/sqs-delivery-queue.ts';
import { SqsMessageVisibility } from '#shared/aws/sqs-message-visibility.ts';
import { SqsOrderedDeliveryQueue } from '#shared/aws/sqs-ordered-delivery-queue.ts';
import { type PlatformEvent, platformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import { deliveryIdOf, type Webhook, type WebhookSecret } from '#shared/domain/webhook.ts';
import { createWebhookSender } from '#shared/net/webhook-sender.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import { createWebhookDispatcher } from '#shared/use-cases/webhook-dispatch.ts';
import { issueSecret, withOpenedSecretsCache } from '#shared/use-cases/webhook-secrets.ts';
import { redeliver, rotateWebhookSecret, type WebhookDependencies } from '#shared/use-cases/webhooks.ts';
import {
  eventBatch,
  eventMessage,
  MemoryEvents,
  newWebhook,
  statusEvent,
} from '#test/support/webhook-fakes.ts';
import { type Receiver, startReceiver } from '#test/support/webhook-receiver.ts';
import { platformRepositories } from './support/platform.ts';
import { createQueue, pollUntil } from './support/sqs-poller.ts';

const platform = platformRepositories();
const sqs = platform.clients.sqs;
const receivers: Receiver[] = [];
let queues: { events: string; ordered: string; jobs: string };
let world: Awaited<ReturnType<typeof dispatcherOnEmulator>>;

async function dispatcherOnEmulator() {
  const events = new MemoryEvents();
  const firstTries = new SqsOrderedDeliveryQueue(sqs, queues.ordered);
  const retries = new SqsDeliveryQueue(sqs, queues.jobs);
  const unreadable: string[] = [];
  const dispatcher = createWebhookDispatcher({
    webhooks: platform.webhooks,
    deliveries: platform.deliveries,
    firstTries,
    queue: retries,
    events,
    cursors: platform.eventSequenceCursors,
    media: platform.media,
    sender: createWebhookSender({ policy: { allowLoopback: true } }),
    // As the stack's dispatcher opens them (`dispatcherOf`): KMS, behind a cache of what it opened.
    secrets: withOpenedSecretsCache(platform.webhookSecrets),
    metrics: {
      succeeded: () => {},
      failed: () => {},
      dead: () => {},
      webhookDisabled: () => {},
      secretsUnreadable: () => unreadable.push('secrets'),
      gapSkipped: () => {},
    },
    // The day-long schedule in under 2 s; SQS delays whole seconds, so each retry waits 1 s or so.
    retryScale: 2e-5,
    webhookCacheMs: 0,
  });
  const handlers = createDispatcherHandlers(dispatcher, {
    visibility: new SqsMessageVisibility(sqs, [queues.events]),
  });
  /** The ids of the events the fan-out was handed from the event queue, each time it was. */
  const fannedOut: string[] = [];
  const fanOut = (batch: SQSEvent) => {
    for (const record of batch.Records) fannedOut.push(JSON.parse(record.body).detail.id);
    return handlers.fanOut(batch);
  };
  return {
    events,
    handlers,
    retries,
    unreadable,
    fannedOut,
    /** Runs the delivery queues (and the event queue, when `withEvents`) until `done()`. */
    run: (done: () => boolean | Promise<boolean>, timeoutMs = 40_000, withEvents = false) =>
      pollUntil(
        sqs,
        [
          ...(withEvents ? [{ url: queues.events, handler: fanOut }] : []),
          { url: queues.ordered, handler: handlers.deliveries },
          { url: queues.jobs, handler: handlers.deliveries },
        ],
        done,
        { timeoutMs },
      ),
  };
}

/** Puts events on the event queue as EventBridge's rule target does. */
async function publish(...events: PlatformEvent[]): Promise<void> {
  for (const event of events) {
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.events, MessageBody: eventMessage(event) }));
  }
}

/** The event with its place in its channel's order, as a runner publishes it. */
const placed = <T extends PlatformEvent>(event: T, epoch: number, seq: number): T => ({
  ...event,
  sequence: { epoch, seq },
});

beforeAll(async () => {
  const suffix = newId('event').slice(-10).toLowerCase();
  queues = {
    // Its own visibility far longer than a hold: a held event that comes back soon was handed back.
    events: await createQueue(sqs, `dispatch-events-${suffix}`, { visibilityTimeoutSeconds: 120 }),
    ordered: await createQueue(sqs, `dispatch-ordered-${suffix}`, { fifo: true }),
    jobs: await createQueue(sqs, `dispatch-jobs-${suffix}`),
  };
  world = await dispatcherOnEmulator();
});
afterAll(async () => {
  await Promise.all(receivers.map((receiver) => receiver.close()));
});

/** The API's use cases' dependencies on the emulator (a rotation, a redelivery). */
function apiDependencies(): WebhookDependencies {
  return {
    webhooks: platform.webhooks,
    deliveries: platform.deliveries,
    deliveryQueue: world.retries,
    channels: platform.channels,
    webhookUrlPolicy: { allowLoopback: true },
    webhookSecrets: platform.webhookSecrets,
  };
}

/** A tenant with a webhook whose secret is sealed with KMS as the API seals it, and its receiver. */
async function tenantWithWebhook(overrides: Partial<Webhook> = {}) {
  const tenantId = overrides.tenantId ?? (await createTenant(platform, { name: 'Clínica' })).id;
  const draft = newWebhook(tenantId, 'http://placeholder.invalid/', overrides);
  const owner = { tenantId, webhookId: draft.id };
  const { secret, kept } = await issueSecret(platform.webhookSecrets, owner, new Date());
  const receiver = await startReceiver([secret]);
  receivers.push(receiver);
  const webhook = { ...draft, url: receiver.url, secrets: [kept] };
  await platform.webhooks.create(webhook);
  return { tenantId, webhook, receiver, secret };
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

    // A burst that reaches the event queue the wrong way round, fanned out by two pollers, still
    // reaches the receiver in its channel's order.
    const burstChannel = newId('channel');
    const burst = [1, 2, 3, 4].map((n) => placed(statusEvent(clinic.tenantId, burstChannel, n), 3, n));
    await publish(...[...burst].reverse());
    await world.run(() => clinic.receiver.requests.length >= events.length + burst.length, 40_000, true);
    expect(clinic.receiver.requests.slice(events.length).map((r) => r.event?.id)).toEqual(
      burst.map((event) => event.id),
    );
    expect(clinic.receiver.requests.slice(events.length)[0]?.event).not.toHaveProperty('sequence');

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
    await redeliver(apiDependencies(), clinic.tenantId, clinic.webhook.id, downId);
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

  it('holds an event that came before its turn on the real queue: back within seconds, sent once the one before is in', async () => {
    const clinic = await tenantWithWebhook();
    const channel = newId('channel');
    const [first, second] = [1, 2].map((n) => placed(statusEvent(clinic.tenantId, channel, n), 1, n)) as [
      PlatformEvent,
      PlatformEvent,
    ];
    await publish(second);
    // Held: its record fails with its visibility set to a second, so it is handed out again well
    // within the 30 s here (the queue's own visibility is 120 s).
    const timesSeen = () => world.fannedOut.filter((id) => id === second.id).length;
    await world.run(() => timesSeen() >= 2, 30_000, true);
    expect(clinic.receiver.requests).toHaveLength(0);
    expect(await platform.eventSequenceCursors.get(clinic.tenantId, channel)).toBeNull();

    await publish(first);
    await world.run(() => clinic.receiver.requests.length >= 2, 30_000, true);
    expect(clinic.receiver.requests.map((request) => request.event?.id)).toEqual([first.id, second.id]);
    expect(await platform.eventSequenceCursors.get(clinic.tenantId, channel)).toMatchObject({
      epoch: 1,
      seq: 2,
    });
  });
});

describe('a channel’s cursor in the platform table', () => {
  const cursors = new DynamoEventSequenceCursors(platform.client, platform.resources.platformTable);

  it('moves only from the value read: one of two fan-outs racing from the same value wins', async () => {
    const tenantId = newId('tenant');
    const channelId = newId('channel');
    expect(await cursors.get(tenantId, channelId)).toBeNull();
    expect(await cursors.advance(tenantId, channelId, null, { epoch: 2, seq: 1 })).toBe(true);
    // From none again: someone made it meanwhile.
    expect(await cursors.advance(tenantId, channelId, null, { epoch: 2, seq: 2 })).toBe(false);
    expect(await cursors.advance(tenantId, channelId, { epoch: 2, seq: 1 }, { epoch: 2, seq: 2 })).toBe(true);
    expect(await cursors.advance(tenantId, channelId, { epoch: 2, seq: 1 }, { epoch: 2, seq: 3 })).toBe(
      false,
    );
    const raced = await Promise.all([
      cursors.advance(tenantId, channelId, { epoch: 2, seq: 2 }, { epoch: 2, seq: 3 }),
      cursors.advance(tenantId, channelId, { epoch: 2, seq: 2 }, { epoch: 3, seq: 1 }),
    ]);
    expect(raced.filter(Boolean)).toHaveLength(1);
    expect(await cursors.get(tenantId, channelId)).toMatchObject(
      raced[0] ? { epoch: 2, seq: 3 } : { epoch: 3, seq: 1 },
    );
    // When it moved (the gap wait runs from it while the channel moves on): within this test.
    const movedAtMs = (await cursors.get(tenantId, channelId))?.movedAtMs ?? 0;
    expect(Math.abs(Date.now() - movedAtMs)).toBeLessThan(60_000);
    // Its item: in the tenant's partition, two numbers and when they moved.
    const { Item } = await platform.client.send(
      new GetCommand({
        TableName: platform.resources.platformTable,
        Key: eventSequenceCursorKey(tenantId, channelId),
      }),
    );
    expect(Object.keys(Item ?? {}).sort()).toEqual(['epoch', 'pk', 'seq', 'sk', 'updatedAt']);
    expect(Item?.pk).toBe(`TENANT#${tenantId}`);
    expect(Item?.sk).toBe(`EVSEQ#${channelId}`);
  });
});

describe('webhook secrets under the emulator’s KMS', () => {
  /** The webhook's item as DynamoDB holds it. */
  const rawItem = async (tenantId: string, webhookId: string) =>
    (
      await platform.client.send(
        new GetCommand({ TableName: platform.resources.platformTable, Key: webhookKey(tenantId, webhookId) }),
      )
    ).Item;
  /** What a role that may write the table could do: put another webhook's ciphertext in this one. */
  const putSecrets = (tenantId: string, webhookId: string, secrets: readonly WebhookSecret[]) =>
    platform.client.send(
      new UpdateCommand({
        TableName: platform.resources.platformTable,
        Key: webhookKey(tenantId, webhookId),
        UpdateExpression: 'SET secrets = :secrets',
        ExpressionAttributeValues: { ':secrets': secrets },
      }),
    );

  it('keeps only ciphertext in the item, which the dispatcher opens to sign what the receiver verifies', async () => {
    const clinic = await tenantWithWebhook();
    const item = await rawItem(clinic.tenantId, clinic.webhook.id);
    expect(item?.secrets).toEqual([
      {
        sealed: expect.stringMatching(/^[A-Za-z0-9+/]+={0,2}$/),
        createdAt: expect.any(String),
        expiresAt: null,
      },
    ]);
    expect(JSON.stringify(item)).not.toContain(clinic.secret);
    expect(JSON.stringify(item)).not.toContain('whsec_');
    expect(
      await platform.webhookSecrets.open(
        { tenantId: clinic.tenantId, webhookId: clinic.webhook.id },
        item?.secrets[0].sealed,
      ),
    ).toBe(clinic.secret);

    const event = statusEvent(clinic.tenantId, newId('channel'));
    expect((await world.handlers.fanOut(eventBatch([event]))).batchItemFailures).toEqual([]);
    await world.run(() => clinic.receiver.requests.length >= 1);
    expect(clinic.receiver.requests.map((request) => [request.event?.id, request.verifiedWith])).toEqual([
      [event.id, [true]],
    ]);
  });

  it('opens a ciphertext for its own webhook only: moved to another, nothing is sent and the job comes back', async () => {
    const channelA = newId('channel');
    const channelB = newId('channel');
    const first = await tenantWithWebhook({ channelIds: [channelA] });
    const second = await tenantWithWebhook({ tenantId: first.tenantId, channelIds: [channelB] });
    const stranger = await tenantWithWebhook();
    const sealed = first.webhook.secrets[0]?.sealed ?? '';
    // KMS refuses the context of another webhook, or of another tenant's.
    for (const owner of [
      { tenantId: first.tenantId, webhookId: second.webhook.id },
      { tenantId: stranger.tenantId, webhookId: first.webhook.id },
      { tenantId: stranger.tenantId, webhookId: stranger.webhook.id },
    ]) {
      await expect(platform.webhookSecrets.open(owner, sealed)).rejects.toMatchObject({
        name: 'InvalidCiphertextException',
      });
    }

    // The first webhook's secret is opened (and cached) by a delivery of its own first.
    await world.handlers.fanOut(eventBatch([statusEvent(first.tenantId, channelA)]));
    await world.run(() => first.receiver.requests.length >= 1);
    await putSecrets(first.tenantId, second.webhook.id, first.webhook.secrets);
    const event = statusEvent(first.tenantId, channelB);
    expect((await world.handlers.fanOut(eventBatch([event]))).batchItemFailures).toEqual([]);
    const unreadableBefore = world.unreadable.length;
    await world.run(() => world.unreadable.length > unreadableBefore);
    expect(second.receiver.requests).toEqual([]);
    expect(first.receiver.requests).toHaveLength(1);
    const id = deliveryIdOf(event.id, second.webhook.id);
    // Not tried, not claimed: the try is still the job's to make once the secrets open.
    expect(await platform.deliveries.get(first.tenantId, second.webhook.id, id)).toMatchObject({
      status: 'pending',
      attemptCount: 0,
      claimedUntil: null,
    });

    // Its own secret back: the job that came back delivers, signed with it.
    await putSecrets(first.tenantId, second.webhook.id, second.webhook.secrets);
    await world.run(() => second.receiver.requests.length >= 1, 30_000);
    expect(second.receiver.requests.map((request) => [request.event?.id, request.verifiedWith])).toEqual([
      [event.id, [true]],
    ]);
  });

  it('signs with both secrets during a rotation’s overlap, and with the new one alone after a rotation without one', async () => {
    const clinic = await tenantWithWebhook();
    const ids = { tenantId: clinic.tenantId, webhookId: clinic.webhook.id };
    const rotated = await rotateWebhookSecret(apiDependencies(), ids.tenantId, ids.webhookId, {
      overlapSeconds: 3600,
    });
    /** Points the webhook at a receiver that verifies with each of `secrets`, and delivers one event. */
    const deliverTo = async (secrets: readonly string[]) => {
      const receiver = await startReceiver(secrets);
      receivers.push(receiver);
      const current = (await platform.webhooks.get(ids.tenantId, ids.webhookId)) as Webhook;
      await platform.webhooks.update(ids.tenantId, ids.webhookId, current.version, { url: receiver.url });
      await world.handlers.fanOut(eventBatch([statusEvent(ids.tenantId, null)]));
      await world.run(() => receiver.requests.length >= 1);
      return receiver.requests[0];
    };
    const during = await deliverTo([rotated.secret, clinic.secret]);
    expect(during?.verifiedWith).toEqual([true, true]);
    expect(during?.headers['webhook-signature']?.split(' ')).toHaveLength(2);

    const abrupt = await rotateWebhookSecret(apiDependencies(), ids.tenantId, ids.webhookId, {
      overlapSeconds: 0,
    });
    const after = await deliverTo([abrupt.secret, rotated.secret, clinic.secret]);
    expect(after?.verifiedWith).toEqual([true, false, false]);
    const item = await rawItem(ids.tenantId, ids.webhookId);
    expect(item?.secrets).toHaveLength(1);
    expect(JSON.stringify(item)).not.toMatch(/whsec_/);
  });
});
