import { describe, expect, it } from 'vitest';
import { newId } from '#shared/domain/ids.ts';
import {
  DELIVERY_CLAIM_MS,
  DELIVERY_RETENTION_DAYS,
  deliveryExpiry,
  newDelivery,
  rotatedSecrets,
} from '#shared/domain/webhook.ts';
import type { WebhookRequest, WebhookResponse } from '#shared/ports.ts';
import { createWebhookDispatcher, deliveryJobOf } from '#shared/use-cases/webhook-dispatch.ts';
import { issueSecret } from '#shared/use-cases/webhook-secrets.ts';
import {
  eventOfType,
  MemoryCursors,
  MemoryDeliveries,
  MemoryEvents,
  MemoryQueue,
  MemoryWebhooks,
  memorySecrets,
  newWebhook,
  secretsInClear,
  statusEvent,
} from '#test/support/webhook-fakes.ts';

// A try of a delivery is one job's alone (security review: a duplicate job used to leave the
// delivery pending with no job that would ever try it again).

function world(status = 500) {
  const tenantId = newId('tenant');
  let clock = Date.parse('2030-01-01T00:00:00.000Z');
  const webhooks = new MemoryWebhooks();
  const deliveries = new MemoryDeliveries();
  const retries = new MemoryQueue(false, () => clock);
  const sent: string[] = [];
  const sender = {
    async send(request: { deliveryId: string }): Promise<WebhookResponse> {
      sent.push(request.deliveryId);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { statusCode: status, error: null, responseExcerpt: null, retryAfter: null, latencyMs: 20 };
    },
  };
  const dispatcher = createWebhookDispatcher({
    webhooks,
    deliveries,
    firstTries: new MemoryQueue(true, () => clock),
    queue: retries,
    cursors: new MemoryCursors(),
    sender,
    secrets: memorySecrets,
    events: new MemoryEvents(),
    now: () => new Date(clock),
    random: () => 0.5,
    webhookCacheMs: 0,
  });
  return {
    tenantId,
    webhooks,
    deliveries,
    retries,
    sent,
    dispatcher,
    advance: (ms: number) => {
      clock += ms;
    },
    at: () => new Date(clock),
  };
}

async function pendingDelivery(w: ReturnType<typeof world>) {
  const webhook = newWebhook(w.tenantId, 'https://example.com/hook');
  await w.webhooks.create(webhook);
  const delivery = newDelivery(statusEvent(w.tenantId, null), webhook.id, w.at());
  await w.deliveries.create(delivery);
  return { webhook, delivery };
}

describe('one try, one job', () => {
  it('sends once for two copies of a job handled at once, and the retry it queued still goes', async () => {
    const w = world();
    const { webhook, delivery } = await pendingDelivery(w);
    const job = deliveryJobOf(delivery);
    const outcomes = await Promise.all([w.dispatcher.deliver(job), w.dispatcher.deliver(job)]);
    expect(outcomes.sort()).toEqual(['retrying', 'waiting']);
    expect(w.sent).toHaveLength(1);
    const after = await w.deliveries.get(w.tenantId, webhook.id, delivery.id);
    expect(after?.attemptCount).toBe(1);

    // Both queued jobs come due: the copy is stale now, the retry tries (the delivery is not stuck).
    w.advance(DELIVERY_CLAIM_MS + 60_000);
    const queued = w.retries.sent.map((sent) => sent.job);
    const later = [];
    for (const next of queued) later.push(await w.dispatcher.deliver(next));
    expect(later.sort()).toEqual(['dropped', 'retrying']);
    expect(w.sent).toHaveLength(2);
    const final = await w.deliveries.get(w.tenantId, webhook.id, delivery.id);
    expect(final?.attemptCount).toBe(2);
    // Exactly one job for the next try is live.
    const live = w.retries.sent.map((sent) => sent.job).filter((j) => j.attemptCount === 2);
    expect(live).toHaveLength(1);
  });

  it('drops the job of an earlier round after a redelivery (a double click tries once)', async () => {
    const w = world(204);
    const { webhook, delivery } = await pendingDelivery(w);
    const first = await w.deliveries.reopen(w.tenantId, webhook.id, delivery.id, w.at().toISOString());
    const second = await w.deliveries.reopen(w.tenantId, webhook.id, delivery.id, w.at().toISOString());
    expect(second.generation).toBe(first.generation + 1);
    const outcomes = await Promise.all([
      w.dispatcher.deliver(deliveryJobOf(first)),
      w.dispatcher.deliver(deliveryJobOf(second)),
    ]);
    expect(outcomes).toEqual(['dropped', 'succeeded']);
    expect(w.sent).toHaveLength(1);
  });

  it('makes the try again once the claim of a worker that died mid-try has expired', async () => {
    const w = world(204);
    const { webhook, delivery } = await pendingDelivery(w);
    const job = deliveryJobOf(delivery);
    // A worker claimed the try, then died before recording it.
    const claim = await w.deliveries.claimTry(
      w.tenantId,
      webhook.id,
      delivery.id,
      { attemptCount: 0, generation: 0 },
      w.at().toISOString(),
      new Date(w.at().getTime() + DELIVERY_CLAIM_MS).toISOString(),
    );
    expect(claim.claimed).toBe(true);
    // Its message comes back while the claim holds: it waits for the claim to end, sends nothing.
    expect(await w.dispatcher.deliver(job)).toBe('waiting');
    expect(w.retries.sent.at(-1)?.delayMs).toBeGreaterThanOrEqual(DELIVERY_CLAIM_MS);
    expect(w.sent).toHaveLength(0);
    w.advance(DELIVERY_CLAIM_MS + 1_000);
    expect(await w.dispatcher.deliver(job)).toBe('succeeded');
    expect((await w.deliveries.get(w.tenantId, webhook.id, delivery.id))?.status).toBe('succeeded');
  });

  it('records nothing for a try whose delivery was reopened while it was being made', async () => {
    const w = world(500);
    const { webhook, delivery } = await pendingDelivery(w);
    const trying = w.dispatcher.deliver(deliveryJobOf(delivery));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const reopened = await w.deliveries.reopen(w.tenantId, webhook.id, delivery.id, w.at().toISOString());
    expect(await trying).toBe('dropped');
    const after = await w.deliveries.get(w.tenantId, webhook.id, delivery.id);
    expect(after?.attemptCount).toBe(0);
    // The new round's job tries it.
    expect(await w.dispatcher.deliver(deliveryJobOf(reopened))).toBe('retrying');
    expect(w.sent).toHaveLength(2);
  });
});

describe('pairing secrets and a cached webhook list', () => {
  it('sends a QR where the webhook points now, signed with the secrets valid now, and not to a deleted one', async () => {
    const tenantId = newId('tenant');
    const webhooks = new MemoryWebhooks();
    const requests: WebhookRequest[] = [];
    const dispatcher = createWebhookDispatcher({
      webhooks,
      deliveries: new MemoryDeliveries(),
      firstTries: new MemoryQueue(true),
      queue: new MemoryQueue(false),
      cursors: new MemoryCursors(),
      sender: {
        async send(request) {
          requests.push(request);
          return { statusCode: 204, error: null, responseExcerpt: null, retryAfter: null, latencyMs: 1 };
        },
      },
      secrets: memorySecrets,
      events: new MemoryEvents(),
      webhookCacheMs: 60_000,
    });
    const webhook = newWebhook(tenantId, 'https://old.example/hook');
    await webhooks.create(webhook);
    const qr = () =>
      eventOfType('channel.qr', tenantId, newId('channel'), {
        qr: 'QR-SECRET',
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      });
    expect(await dispatcher.deliverPairingSecret(qr())).toBe(1);
    expect(requests.at(-1)?.url).toBe('https://old.example/hook');

    // Within the cache's life: the clinic moves the URL and rotates the secret with no overlap.
    const now = new Date();
    const owner = { tenantId, webhookId: webhook.id };
    const { secret, kept } = await issueSecret(memorySecrets, owner, now);
    await webhooks.update(tenantId, webhook.id, webhook.version, {
      url: 'https://new.example/hook',
      secrets: rotatedSecrets(webhook, kept, now, 0),
      updatedAt: now.toISOString(),
    });
    expect(await dispatcher.deliverPairingSecret(qr())).toBe(1);
    expect(requests.at(-1)?.url).toBe('https://new.example/hook');
    expect(requests.at(-1)?.secrets).toEqual([secret]);
    expect(requests.at(-1)?.secrets).not.toContain(secretsInClear(webhook)[0]);

    // Deleted: nothing is sent.
    await webhooks.delete(tenantId, webhook.id);
    expect(await dispatcher.deliverPairingSecret(qr())).toBe(0);
    expect(requests).toHaveLength(2);
  });
});

describe('delivery retention', () => {
  it('expires a delivery when its tenant stops keeping the event, 30 days at most, and a reopen does not extend it', async () => {
    const event = statusEvent(newId('tenant'), null);
    const created = new Date(Date.parse(event.createdAt) + 3_600_000);
    const delivery = newDelivery(event, newId('webhook'), created);
    const createdS = Math.floor(created.getTime() / 1000);
    const eventS = Math.floor(Date.parse(event.createdAt) / 1000);
    expect(deliveryExpiry(delivery)).toBe(createdS + DELIVERY_RETENTION_DAYS * 86_400);
    expect(deliveryExpiry(delivery, null)).toBe(createdS + DELIVERY_RETENTION_DAYS * 86_400);
    expect(deliveryExpiry(delivery, 1)).toBe(eventS + 86_400);
    expect(deliveryExpiry(delivery, 365)).toBe(createdS + DELIVERY_RETENTION_DAYS * 86_400);
  });

  it("stores the fan-out's deliveries with the tenant's retention", async () => {
    const tenantId = newId('tenant');
    const webhooks = new MemoryWebhooks();
    const deliveries = new MemoryDeliveries();
    const asked: string[] = [];
    const dispatcher = createWebhookDispatcher({
      webhooks,
      deliveries,
      firstTries: new MemoryQueue(true),
      queue: new MemoryQueue(false),
      cursors: new MemoryCursors(),
      sender: {
        async send() {
          return { statusCode: 204, error: null, responseExcerpt: null, retryAfter: null, latencyMs: 1 };
        },
      },
      secrets: memorySecrets,
      events: new MemoryEvents(),
      retention: {
        async retentionOf(id) {
          asked.push(id);
          return 1;
        },
      },
    });
    await webhooks.create(newWebhook(tenantId, 'https://example.com/hook'));
    const event = statusEvent(tenantId, null);
    expect(await dispatcher.fanOut(event)).toBe(1);
    const [stored] = deliveries.all();
    expect(deliveries.expiries.get(stored?.id ?? '')).toBe(
      Math.floor(Date.parse(event.createdAt) / 1000) + 86_400,
    );
    expect(asked).toEqual([tenantId]);
  });
});
