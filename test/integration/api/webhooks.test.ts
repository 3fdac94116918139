// Webhooks over real HTTP through the local front, on the emulator: what a clinic does with them,
// what it must never see (a secret twice, another tenant's webhook), what the SSRF policy refuses,
// and the jobs the dispatcher finds queued.
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookKey } from '#shared/aws/dynamo/platform-keys.ts';
import { platformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import {
  type Delivery,
  MAX_RECOVERED_PER_REQUEST,
  MAX_SIGNING_SECRETS,
  MAX_WEBHOOKS_PER_TENANT,
  newDelivery,
  type Webhook,
  type WebhookSecret,
} from '#shared/domain/webhook.ts';
import { openSigningSecrets } from '#shared/use-cases/webhook-secrets.ts';
import { takeJobsOf } from '../support/delivery-jobs.ts';
import { platformRepositories } from '../support/platform.ts';
import type { ApiClient, ApiResponse } from './support/api-client.ts';
import { type ApiWorld, startApiWorld } from './support/api-world.ts';
import { partitionChanges, snapshotPartition } from './support/partition-snapshot.ts';

const platform = platformRepositories();
const queueUrl = platform.resources.webhookDeliveryQueueUrl;
/** A public address written in: no DNS needed (this machine has none). */
const URL_A = 'https://93.184.215.14/webhooks/clinic';
const URL_B = 'https://93.184.215.15:8443/in?source=clinic-wa';

let world: ApiWorld;
let local: ApiWorld;
beforeAll(async () => {
  world = await startApiWorld();
  local = await startApiWorld({ WEBHOOK_ALLOW_LOOPBACK: 'true' });
});
afterAll(async () => {
  await world?.front.stop();
  await local?.front.stop();
});

async function created(client: ApiClient, body: Record<string, unknown> = { url: URL_A, events: ['*'] }) {
  const response = await client.post('/v1/webhooks', body);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body as { id: string; secret: string } & Record<string, unknown>;
}

async function stored(tenantId: string, webhookId: string): Promise<Webhook | null> {
  return platform.webhooks.get(tenantId, webhookId);
}

/** A delivery as the dispatcher would have left it: of an event at `at`, dead or succeeded. */
async function deliveryAt(tenantId: string, webhookId: string, at: Date, status: 'dead' | 'succeeded') {
  const event = platformEvent('webhook.test', { tenantId, channelId: null }, { message: 'x', webhookId }, at);
  const delivery = newDelivery(event, webhookId, at);
  await platform.deliveries.create(delivery);
  return platform.deliveries.recordAttempt(
    tenantId,
    webhookId,
    delivery.id,
    {
      at: at.toISOString(),
      statusCode: status === 'dead' ? 503 : 200,
      latencyMs: 40,
      error: status === 'dead' ? 'http_503' : null,
      responseExcerpt: status === 'dead' ? 'Service Unavailable' : 'ok',
    },
    { status, nextAttemptAt: null },
  );
}

describe('webhooks', () => {
  it('go round the whole life: create, read, list, change, disable, enable, delete', async () => {
    const { client, tenantId } = await world.newTenant(['webhooks:manage']);
    const channel = (await (await world.newTenant()).client.post('/v1/channels', { name: 'x' })).body.id;
    const webhook = await created(client, {
      url: URL_A,
      events: ['message.received', 'message.status', 'message.received'],
      description: '  CRM  ',
    });
    expect(webhook).toEqual({
      id: expect.stringMatching(/^whk_[0-9A-Z]{26}$/),
      url: URL_A,
      description: 'CRM',
      events: ['message.received', 'message.status'],
      channelIds: null,
      status: 'enabled',
      disabledReason: null,
      failingSince: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    const { secret, ...view } = webhook;
    expect((await client.get(`/v1/webhooks/${webhook.id}`)).body).toEqual(view);
    expect((await client.get('/v1/webhooks')).body).toEqual({ items: [view], nextCursor: null });

    const changed = await client.request('PATCH', `/v1/webhooks/${webhook.id}`, {
      body: { url: URL_B, events: ['*'], description: null },
    });
    expect(changed).toMatchObject({ status: 200, body: { url: URL_B, events: ['*'], description: null } });
    // A channel filter names the tenant's own channels only.
    const foreignChannel = await client.request('PATCH', `/v1/webhooks/${webhook.id}`, {
      body: { channelIds: [channel] },
    });
    expect(foreignChannel).toMatchObject({ status: 422, body: { error: { code: 'invalid_reference' } } });
    expect(foreignChannel.body.error.message).toContain('channelIds.0');

    const disabled = await client.request('PATCH', `/v1/webhooks/${webhook.id}`, {
      body: { enabled: false },
    });
    expect(disabled.body).toMatchObject({ status: 'disabled', disabledReason: 'by_clinic' });
    // What the dispatcher writes when deliveries keep failing, then stop for good.
    const current = (await stored(tenantId, webhook.id)) as Webhook;
    await platform.webhooks.update(tenantId, webhook.id, current.version, {
      failingSince: '2026-11-20T00:00:00.000Z',
      disabledReason: 'failing',
    });
    expect((await client.get(`/v1/webhooks/${webhook.id}`)).body).toMatchObject({
      status: 'disabled',
      disabledReason: 'failing',
      failingSince: '2026-11-20T00:00:00.000Z',
    });
    const enabled = await client.request('PATCH', `/v1/webhooks/${webhook.id}`, { body: { enabled: true } });
    expect(enabled.body).toMatchObject({ status: 'enabled', disabledReason: null, failingSince: null });

    expect(await client.delete(`/v1/webhooks/${webhook.id}`)).toMatchObject({
      status: 200,
      body: { id: webhook.id, status: 'deleted' },
    });
    for (const response of [
      await client.get(`/v1/webhooks/${webhook.id}`),
      await client.delete(`/v1/webhooks/${webhook.id}`),
      await client.request('PATCH', `/v1/webhooks/${webhook.id}`, { body: { enabled: true } }),
    ]) {
      expect(response).toMatchObject({ status: 404, body: { error: { code: 'webhook_not_found' } } });
    }
    expect((await client.get('/v1/webhooks')).body.items).toEqual([]);
    expect(secret).not.toBe('');
  });

  it('filter on the tenant’s own channels', async () => {
    const { client } = await world.newTenant();
    const channel = (await client.post('/v1/channels', { name: 'Recepção' })).body.id;
    const webhook = await created(client, { url: URL_A, events: ['*'], channelIds: [channel, channel] });
    expect(webhook.channelIds).toEqual([channel]);
    expect((await client.delete(`/v1/channels/${channel}`)).status).toBe(202);
    const deleted = await client.post('/v1/webhooks', { url: URL_A, events: ['*'], channelIds: [channel] });
    expect(deleted).toMatchObject({ status: 422, body: { error: { code: 'invalid_reference' } } });
  });

  it('show the secret once: never in a read, a list or a change; the table keeps it sealed for its webhook', async () => {
    const { client, tenantId } = await world.newTenant();
    const webhook = await created(client);
    const answers: ApiResponse[] = [
      await client.get(`/v1/webhooks/${webhook.id}`),
      await client.get('/v1/webhooks'),
      await client.request('PATCH', `/v1/webhooks/${webhook.id}`, { body: { description: 'x' } }),
      await client.request('PATCH', `/v1/webhooks/${webhook.id}`, { body: { enabled: false } }),
      await client.request('PATCH', `/v1/webhooks/${webhook.id}`, { body: { enabled: true } }),
      await client.post(`/v1/webhooks/${webhook.id}/test`),
      await client.get(`/v1/webhooks/${webhook.id}/deliveries`),
    ];
    const rotated = await client.post(`/v1/webhooks/${webhook.id}/rotate-secret`);
    answers.push(await client.get(`/v1/webhooks/${webhook.id}`), await client.get('/v1/webhooks'));
    for (const answer of answers) {
      expect(answer.status).toBeLessThan(300);
      const text = JSON.stringify(answer.body);
      expect(text).not.toContain(webhook.secret);
      expect(text).not.toContain(rotated.body.secret);
      expect(text).not.toContain('whsec_');
      expect(text).not.toContain('secrets');
    }
    // The item as any reader of the table gets it: ciphertext, no secret in clear.
    const item = await platform.client.send(
      new GetCommand({ TableName: platform.resources.platformTable, Key: webhookKey(tenantId, webhook.id) }),
    );
    const raw = JSON.stringify(item.Item);
    for (const clear of [webhook.secret, rotated.body.secret, 'whsec_']) expect(raw).not.toContain(clear);
    const kept = item.Item?.secrets as WebhookSecret[];
    expect(kept.map((secret) => Object.keys(secret).sort())).toEqual([
      ['createdAt', 'expiresAt', 'sealed'],
      ['createdAt', 'expiresAt', 'sealed'],
    ]);
    // Sealed for this webhook: it opens for it with the webhook-secrets key, for no other.
    const owner = { tenantId, webhookId: webhook.id };
    expect(
      await Promise.all(kept.map((secret) => platform.webhookSecrets.open(owner, secret.sealed))),
    ).toEqual([rotated.body.secret, webhook.secret]);
    const other = await created(client);
    await expect(
      platform.webhookSecrets.open({ tenantId, webhookId: other.id }, kept[1]?.sealed ?? ''),
    ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it('rotate the secret, the previous one signing on for the overlap', async () => {
    const { client, tenantId } = await world.newTenant();
    const webhook = await created(client);
    const before = Date.now();
    const rotated = await client.post(`/v1/webhooks/${webhook.id}/rotate-secret`, { overlapSeconds: 3600 });
    expect(rotated).toMatchObject({
      status: 200,
      body: {
        id: webhook.id,
        secret: expect.stringMatching(/^whsec_/),
        previousSecretExpiresAt: expect.any(String),
      },
    });
    expect(Object.keys(rotated.body).sort()).toEqual(['id', 'previousSecretExpiresAt', 'secret']);
    const endsAt = Date.parse(rotated.body.previousSecretExpiresAt);
    expect(endsAt).toBeGreaterThanOrEqual(before + 3600_000);
    expect(endsAt).toBeLessThan(Date.now() + 3600_000 + 1000);
    const kept = (await stored(tenantId, webhook.id)) as Webhook;
    const signing = (at: number) => openSigningSecrets(platform.webhookSecrets, kept, new Date(at));
    expect(await signing(endsAt - 1)).toEqual([rotated.body.secret, webhook.secret]);
    expect(await signing(endsAt + 1)).toEqual([rotated.body.secret]);

    // No body: a day's overlap. Zero: every earlier secret stops at once (one leaked, say).
    const again = await client.request('POST', `/v1/webhooks/${webhook.id}/rotate-secret`, {
      headers: { 'content-type': 'application/json' },
    });
    expect(Date.parse(again.body.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(
      24 * 3600_000 - 60_000,
    );
    const abrupt = await client.post(`/v1/webhooks/${webhook.id}/rotate-secret`, { overlapSeconds: 0 });
    const now = (await stored(tenantId, webhook.id)) as Webhook;
    expect(await openSigningSecrets(platform.webhookSecrets, now, new Date())).toEqual([abrupt.body.secret]);
    expect(now.secrets).toHaveLength(1);
    for (const overlapSeconds of [-1, 7 * 24 * 3600 + 1, 1.5, '60']) {
      const refused = await client.post(`/v1/webhooks/${webhook.id}/rotate-secret`, { overlapSeconds });
      expect(refused.status).toBe(400);
      expect(refused.body.error.fields.map((field: { field: string }) => field.field)).toEqual([
        'body.overlapSeconds',
      ]);
    }
    expect((await client.post(`/v1/webhooks/${webhook.id}/rotate-secret`, { other: 1 })).status).toBe(400);
    expect(
      (
        await client.request('POST', `/v1/webhooks/${webhook.id}/rotate-secret`, {
          rawBody: '{',
          headers: { 'content-type': 'application/json' },
        })
      ).body.error.code,
    ).toBe('invalid_json');
  });

  it(`keep at most ${MAX_SIGNING_SECRETS} secrets signing at once`, async () => {
    const { client } = await world.newTenant();
    const webhook = await created(client);
    for (let valid = 1; valid < MAX_SIGNING_SECRETS; valid++) {
      expect((await client.post(`/v1/webhooks/${webhook.id}/rotate-secret`)).status).toBe(200);
    }
    const refused = await client.post(`/v1/webhooks/${webhook.id}/rotate-secret`);
    expect(refused).toMatchObject({
      status: 409,
      body: { error: { code: 'webhook_secret_rotation_limit' } },
    });
    // Without an overlap nothing earlier stays valid, so that rotation is always possible.
    expect(
      (await client.post(`/v1/webhooks/${webhook.id}/rotate-secret`, { overlapSeconds: 0 })).status,
    ).toBe(200);
    expect((await client.post(`/v1/webhooks/${webhook.id}/rotate-secret`)).status).toBe(200);
  });

  it(`stop at ${MAX_WEBHOOKS_PER_TENANT} per tenant, and make room on delete`, async () => {
    const { client } = await world.newTenant();
    const ids: string[] = [];
    for (let index = 0; index < MAX_WEBHOOKS_PER_TENANT; index++) ids.push((await created(client)).id);
    const over = await client.post('/v1/webhooks', { url: URL_A, events: ['*'] });
    expect(over).toMatchObject({ status: 409, body: { error: { code: 'webhook_limit_reached' } } });
    expect((await client.delete(`/v1/webhooks/${ids[0]}`)).status).toBe(200);
    await created(client);
    expect((await client.post('/v1/webhooks', { url: URL_A, events: ['*'] })).status).toBe(409);
    const first = await client.get('/v1/webhooks?limit=15');
    const second = await client.get(
      `/v1/webhooks?limit=15&cursor=${encodeURIComponent(first.body.nextCursor)}`,
    );
    expect([first.body.items.length, second.body.items.length, second.body.nextCursor]).toEqual([
      15,
      5,
      null,
    ]);
  });

  it('answer a replayed create with the first answer, secret included, and create one webhook', async () => {
    const { client, tenantId } = await world.newTenant();
    const headers = { 'idempotency-key': `create-${newId('command')}` };
    const first = await client.post('/v1/webhooks', { url: URL_A, events: ['*'] }, headers);
    expect(first.status).toBe(201);
    expect(first.body.secret).toMatch(/^whsec_/);
    const replay = await client.post('/v1/webhooks', { url: URL_A, events: ['*'] }, headers);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    // The idempotency record the replay was answered from keeps the secret sealed, never in clear.
    const records = await platform.client.send(
      new ScanCommand({ TableName: platform.resources.idempotencyTable }),
    );
    const record = (records.Items ?? []).find((item) => JSON.stringify(item).includes(first.body.id));
    expect(record).toBeDefined();
    expect(JSON.stringify(records.Items ?? [])).not.toContain(first.body.secret);
    expect(JSON.stringify(records.Items ?? [])).not.toContain('whsec_');
    expect((await platform.webhooks.listAll(tenantId)).map((webhook) => webhook.id)).toEqual([first.body.id]);
    const reused = await client.post('/v1/webhooks', { url: URL_B, events: ['*'] }, headers);
    expect(reused).toMatchObject({ status: 409, body: { error: { code: 'idempotency_key_reused' } } });
  });
});

describe('bad requests', () => {
  it('are 400 naming the fields, and write nothing', async () => {
    const { client, tenantId } = await world.newTenant();
    const webhook = await created(client);
    const before = await snapshotPartition(platform.client, platform.resources.platformTable, tenantId);
    const cases: [string, string, unknown, string[]][] = [
      ['POST', '/v1/webhooks', { events: ['*'] }, ['body.url']],
      ['POST', '/v1/webhooks', { url: URL_A, events: ['message.sent'] }, ['body.events.0']],
      ['POST', '/v1/webhooks', { url: URL_A, events: [] }, ['body.events']],
      ['POST', '/v1/webhooks', { url: URL_A, events: '*' }, ['body.events']],
      ['POST', '/v1/webhooks', { url: 'not a url', events: ['*'] }, ['body.url']],
      ['POST', '/v1/webhooks', { url: URL_A, events: ['*'], channelIds: ['chn_x'] }, ['body.channelIds.0']],
      ['POST', '/v1/webhooks', { url: URL_A, events: ['*'], channelIds: [] }, ['body.channelIds']],
      [
        'POST',
        '/v1/webhooks',
        { url: URL_A, events: ['*'], description: 'x'.repeat(501) },
        ['body.description'],
      ],
      ['POST', '/v1/webhooks', { url: URL_A, events: ['*'], secret: 'whsec_mine' }, ['body']],
      ['POST', '/v1/webhooks', { url: `https://a.example/${'x'.repeat(2048)}`, events: ['*'] }, ['body.url']],
      ['PATCH', `/v1/webhooks/${webhook.id}`, {}, ['body']],
      ['PATCH', `/v1/webhooks/${webhook.id}`, { enabled: 'yes' }, ['body.enabled']],
      ['PATCH', `/v1/webhooks/${webhook.id}`, { events: ['*', 'nope'] }, ['body.events.1']],
      ['POST', `/v1/webhooks/${webhook.id}/recover`, {}, ['body.since']],
      ['POST', `/v1/webhooks/${webhook.id}/recover`, { since: 'yesterday' }, ['body.since']],
      ['POST', `/v1/webhooks/${webhook.id}/rotate-secret`, { overlapSeconds: -5 }, ['body.overlapSeconds']],
    ];
    for (const [method, path, body, fields] of cases) {
      const response = await client.request(method, path, { body });
      expect(response.status, `${method} ${path} ${JSON.stringify(body).slice(0, 80)}`).toBe(400);
      expect(response.body.error.fields.map((field: { field: string }) => field.field)).toEqual(fields);
    }
    for (const query of ['status=lost', 'since=yesterday', 'limit=0', 'cursor=abc']) {
      const response = await client.get(`/v1/webhooks/${webhook.id}/deliveries?${query}`);
      expect(response.status, query).toBe(400);
    }
    const after = await snapshotPartition(platform.client, platform.resources.platformTable, tenantId);
    expect(partitionChanges(before, after)).toEqual([]);
  });
});

describe('the SSRF policy', () => {
  const refused: [string, string][] = [
    ['http://93.184.215.14/hook', 'webhook_url_not_https'],
    ['https://user:secret@93.184.215.14/hook', 'webhook_url_invalid'],
    ['https://127.0.0.1/hook', 'webhook_url_forbidden'],
    ['https://localhost/hook', 'webhook_url_forbidden'],
    ['https://10.0.0.8/hook', 'webhook_url_forbidden'],
    ['https://172.20.1.1/hook', 'webhook_url_forbidden'],
    ['https://192.168.0.10/hook', 'webhook_url_forbidden'],
    ['https://169.254.169.254/latest/meta-data/', 'webhook_url_forbidden'],
    ['https://100.100.100.200/hook', 'webhook_url_forbidden'],
    ['https://[fe80::1]/hook', 'webhook_url_forbidden'],
    ['https://[fd00:ec2::254]/latest/meta-data/', 'webhook_url_forbidden'],
    ['https://[::1]/hook', 'webhook_url_forbidden'],
    ['https://[::ffff:127.0.0.1]/hook', 'webhook_url_forbidden'],
    ['https://[::ffff:169.254.169.254]/hook', 'webhook_url_forbidden'],
    ['https://0x7f000001/hook', 'webhook_url_forbidden'],
    ['https://239.1.1.1/hook', 'webhook_url_forbidden'],
    ['https://hooks.nowhere.invalid/hook', 'webhook_url_unresolvable'],
  ];

  it.each(refused)('refuses %s at creation (422 %s) and on a change, writing nothing', async (url, code) => {
    const { client, tenantId } = await world.newTenant();
    const webhook = await created(client);
    const before = await snapshotPartition(platform.client, platform.resources.platformTable, tenantId);
    const create = await client.post('/v1/webhooks', { url, events: ['*'] });
    expect(create).toMatchObject({ status: 422, body: { error: { code } } });
    expect(create.body.error.message).toMatch(/^url /);
    const change = await client.request('PATCH', `/v1/webhooks/${webhook.id}`, { body: { url } });
    expect(change).toMatchObject({ status: 422, body: { error: { code } } });
    const after = await snapshotPartition(platform.client, platform.resources.platformTable, tenantId);
    expect(partitionChanges(before, after)).toEqual([]);
  });

  it('allows http and loopback (a name resolving to 127.0.0.1 too) when local development says so', async () => {
    const { client } = await local.newTenant();
    for (const url of ['http://127.0.0.1:4000/hook', 'http://localhost:4000/hook', 'https://[::1]:4443/']) {
      expect((await client.post('/v1/webhooks', { url, events: ['*'] })).status, url).toBe(201);
    }
    for (const url of [
      'http://10.0.0.8/hook',
      'http://169.254.169.254/latest/meta-data/',
      'https://[fd00:ec2::254]/',
      'https://[::ffff:127.0.0.1]/',
    ]) {
      const response = await client.post('/v1/webhooks', { url, events: ['*'] });
      expect(response, url).toMatchObject({
        status: 422,
        body: { error: { code: 'webhook_url_forbidden' } },
      });
    }
  });
});

describe('deliveries', () => {
  it('a test queues a webhook.test delivery for that webhook alone', async () => {
    const { client, tenantId } = await world.newTenant();
    const webhook = await created(client);
    const other = await created(client);
    const test = await client.post(`/v1/webhooks/${webhook.id}/test`);
    expect(test).toMatchObject({
      status: 202,
      body: {
        id: expect.stringMatching(/^dlv_[0-9A-Z]{52}$/),
        status: 'pending',
        eventId: expect.any(String),
      },
    });
    const jobs = await takeJobsOf(platform.clients.sqs, queueUrl, tenantId, 1);
    expect(jobs).toEqual([
      {
        tenantId,
        webhookId: webhook.id,
        deliveryId: test.body.id,
        orderKey: `${webhook.id}#-`,
        // The try the job is for (the dispatcher drops a job its delivery has moved past).
        attemptCount: 0,
        // Its round: a job of a round before a redelivery is dropped.
        generation: 0,
        dueAt: expect.any(String),
        notBefore: expect.any(String),
      },
    ]);
    const delivery = (await platform.deliveries.get(tenantId, webhook.id, test.body.id)) as Delivery;
    expect(delivery.event).toMatchObject({
      id: test.body.eventId,
      type: 'webhook.test',
      tenantId,
      channelId: null,
      data: { webhookId: webhook.id },
    });
    const listed = await client.get(`/v1/webhooks/${webhook.id}/deliveries`);
    expect(listed.body).toEqual({
      items: [
        {
          id: test.body.id,
          webhookId: webhook.id,
          eventId: test.body.eventId,
          eventType: 'webhook.test',
          status: 'pending',
          attemptCount: 0,
          attempts: [],
          nextAttemptAt: expect.any(String),
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
      ],
      nextCursor: null,
    });
    expect((await client.get(`/v1/webhooks/${other.id}/deliveries`)).body.items).toEqual([]);
    // Nothing else was queued for the tenant (no other webhook got the test).
    expect(await takeJobsOf(platform.clients.sqs, queueUrl, tenantId, 1, 2_000)).toEqual([]);
  });

  it('redeliver reopens a dead delivery for a new round and queues it', async () => {
    const { client, tenantId } = await world.newTenant();
    const webhook = await created(client);
    const dead = await deliveryAt(tenantId, webhook.id, new Date(), 'dead');
    const listed = (await client.get(`/v1/webhooks/${webhook.id}/deliveries?status=dead`)).body.items;
    expect(listed).toEqual([
      expect.objectContaining({
        id: dead.id,
        status: 'dead',
        attemptCount: 1,
        attempts: [
          {
            at: expect.any(String),
            statusCode: 503,
            latencyMs: 40,
            error: 'http_503',
            responseExcerpt: 'Service Unavailable',
          },
        ],
      }),
    ]);
    const redelivered = await client.post(`/v1/webhooks/${webhook.id}/deliveries/${dead.id}/redeliver`);
    expect(redelivered).toMatchObject({
      status: 202,
      body: { id: dead.id, status: 'pending', eventId: dead.event.id },
    });
    expect(await platform.deliveries.get(tenantId, webhook.id, dead.id)).toMatchObject({
      status: 'pending',
      attemptCount: 1,
      roundAttemptCount: 0,
    });
    expect(
      (await takeJobsOf(platform.clients.sqs, queueUrl, tenantId, 1)).map((job) => job.deliveryId),
    ).toEqual([dead.id]);
    // A QR's delivery kept no QR: there is nothing to send again.
    const qr = platformEvent(
      'channel.qr',
      { tenantId, channelId: newId('channel') },
      { qr: '2@q', expiresAt: new Date().toISOString() },
    );
    await platform.deliveries.create(newDelivery(qr, webhook.id, new Date()));
    const qrDelivery = `dlv_${qr.id.slice(4)}${webhook.id.slice(4)}`;
    expect(await client.post(`/v1/webhooks/${webhook.id}/deliveries/${qrDelivery}/redeliver`)).toMatchObject({
      status: 409,
      body: { error: { code: 'delivery_not_redeliverable' } },
    });
    const absent = `dlv_${'0'.repeat(52)}`;
    expect(await client.post(`/v1/webhooks/${webhook.id}/deliveries/${absent}/redeliver`)).toMatchObject({
      status: 404,
      body: { error: { code: 'delivery_not_found' } },
    });
    // Another webhook of the same tenant does not reach this one's delivery.
    const other = await created(client);
    expect((await client.post(`/v1/webhooks/${other.id}/deliveries/${dead.id}/redeliver`)).status).toBe(404);
  });

  it('recover reopens every dead delivery since a time, at most a bounded number per request', async () => {
    const { client, tenantId } = await world.newTenant();
    const webhook = await created(client);
    const since = Date.parse('2030-03-01T12:00:00.000Z');
    const deadBefore = await deliveryAt(tenantId, webhook.id, new Date(since - 60_000), 'dead');
    // A dead QR delivery since then stays dead: it kept no QR to send.
    const qr = platformEvent(
      'channel.qr',
      { tenantId, channelId: newId('channel') },
      { qr: '2@q', expiresAt: new Date(since + 60_000).toISOString() },
      new Date(since + 500),
    );
    const qrDelivery = newDelivery(qr, webhook.id, new Date(since + 500));
    await platform.deliveries.create(qrDelivery);
    await platform.deliveries.recordAttempt(
      tenantId,
      webhook.id,
      qrDelivery.id,
      {
        at: new Date().toISOString(),
        statusCode: null,
        latencyMs: 15_000,
        error: 'timeout',
        responseExcerpt: null,
      },
      { status: 'dead', nextAttemptAt: null },
    );
    const succeeded = await deliveryAt(tenantId, webhook.id, new Date(since + 1_000), 'succeeded');
    const dead: Delivery[] = [];
    const count = MAX_RECOVERED_PER_REQUEST + 5;
    for (let start = 0; start < count; start += 10) {
      dead.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(10, count - start) }, (_, index) =>
            deliveryAt(tenantId, webhook.id, new Date(since + (start + index) * 1000), 'dead'),
          ),
        )),
      );
    }
    const body = { since: new Date(since).toISOString() };
    const first = await client.post(`/v1/webhooks/${webhook.id}/recover`, body);
    expect(first).toMatchObject({ status: 202, body: { count: MAX_RECOVERED_PER_REQUEST, complete: false } });
    const second = await client.post(`/v1/webhooks/${webhook.id}/recover`, body);
    expect(second).toMatchObject({ status: 202, body: { count: 5, complete: true } });
    const third = await client.post(`/v1/webhooks/${webhook.id}/recover`, body);
    expect(third).toMatchObject({ status: 202, body: { count: 0, complete: true } });

    const jobs = await takeJobsOf(platform.clients.sqs, queueUrl, tenantId, count, 60_000);
    expect(jobs.map((job) => job.deliveryId).sort()).toEqual(dead.map((delivery) => delivery.id).sort());
    const statuses = async (status: string) =>
      (await client.get(`/v1/webhooks/${webhook.id}/deliveries?status=${status}&limit=100`)).body.items.map(
        (delivery: { id: string }) => delivery.id,
      );
    expect(await statuses('dead')).toEqual([qrDelivery.id, deadBefore.id]);
    expect(await statuses('succeeded')).toEqual([succeeded.id]);
  }, 120_000);

  it('pages newest first, by status and since', async () => {
    const { client, tenantId } = await world.newTenant();
    const webhook = await created(client);
    const base = Date.parse('2030-04-01T08:00:00.000Z');
    const made: Delivery[] = [];
    for (let index = 0; index < 5; index++) {
      made.push(
        await deliveryAt(
          tenantId,
          webhook.id,
          new Date(base + index * 60_000),
          index % 2 ? 'succeeded' : 'dead',
        ),
      );
    }
    const newestFirst = made.map((delivery) => delivery.id).reverse();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: ApiResponse = await client.get(
        `/v1/webhooks/${webhook.id}/deliveries?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((delivery: { id: string }) => delivery.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect([seen, pages]).toEqual([newestFirst, 3]);
    const ids = async (query: string) =>
      (await client.get(`/v1/webhooks/${webhook.id}/deliveries?${query}`)).body.items.map(
        (delivery: { id: string }) => delivery.id,
      );
    expect(await ids('status=dead')).toEqual([made[4]?.id, made[2]?.id, made[0]?.id]);
    expect(await ids(`since=${new Date(base + 120_000).toISOString()}`)).toEqual(newestFirst.slice(0, 3));
    expect(await ids(`since=${new Date(base + 120_000).toISOString()}&status=succeeded`)).toEqual([
      made[3]?.id,
    ]);
    // A cursor of one webhook's list is refused by another's.
    const other = await created(client);
    const first = (await client.get(`/v1/webhooks/${webhook.id}/deliveries?limit=1`)).body.nextCursor;
    const foreign = await client.get(
      `/v1/webhooks/${other.id}/deliveries?cursor=${encodeURIComponent(first)}`,
    );
    expect(foreign).toMatchObject({ status: 400, body: { error: { code: 'invalid_cursor' } } });
  });

  it('recover also reopens a pending delivery stuck far past its next try, not one due lately', async () => {
    const { client, tenantId } = await world.newTenant();
    const webhook = await created(client);
    const pendingAt = async (at: Date) => {
      const event = platformEvent(
        'webhook.test',
        { tenantId, channelId: null },
        { message: 'x', webhookId: webhook.id },
        at,
      );
      const delivery = newDelivery(event, webhook.id, at);
      await platform.deliveries.create(delivery);
      return delivery;
    };
    const stuck = await pendingAt(new Date(Date.now() - 3 * 3_600_000));
    const recent = await pendingAt(new Date(Date.now() - 60_000));
    const since = new Date(Date.now() - 4 * 3_600_000).toISOString();
    const recovered = await client.post(`/v1/webhooks/${webhook.id}/recover`, { since });
    expect(recovered).toMatchObject({ status: 202, body: { count: 1, complete: true } });
    const jobs = await takeJobsOf(platform.clients.sqs, queueUrl, tenantId, 1, 30_000);
    expect(jobs.map((job) => job.deliveryId)).toEqual([stuck.id]);
    expect(jobs[0]).toMatchObject({ generation: 1, attemptCount: 0 });
    expect(await platform.deliveries.get(tenantId, webhook.id, recent.id)).toMatchObject({ generation: 0 });
    // No longer stuck: the same request again reopens nothing.
    expect((await client.post(`/v1/webhooks/${webhook.id}/recover`, { since })).body).toEqual({
      count: 0,
      complete: true,
    });
  });

  it('a disabled webhook takes no test, redelivery or recovery until enabled again', async () => {
    const { client, tenantId } = await world.newTenant();
    const webhook = await created(client);
    const dead = await deliveryAt(tenantId, webhook.id, new Date(), 'dead');
    await client.request('PATCH', `/v1/webhooks/${webhook.id}`, { body: { enabled: false } });
    for (const response of [
      await client.post(`/v1/webhooks/${webhook.id}/test`),
      await client.post(`/v1/webhooks/${webhook.id}/deliveries/${dead.id}/redeliver`),
      await client.post(`/v1/webhooks/${webhook.id}/recover`, { since: '2020-01-01T00:00:00.000Z' }),
    ]) {
      expect(response).toMatchObject({ status: 409, body: { error: { code: 'webhook_disabled' } } });
    }
    expect(await takeJobsOf(platform.clients.sqs, queueUrl, tenantId, 1, 2_000)).toEqual([]);
  });
});

describe('another tenant', () => {
  it('gets the same 404 as for an absent webhook or delivery, on every webhook route, and changes nothing', async () => {
    const a = await world.newTenant();
    const b = await world.newTenant();
    const webhook = await created(a.client);
    const test = await a.client.post(`/v1/webhooks/${webhook.id}/test`);
    await takeJobsOf(platform.clients.sqs, queueUrl, a.tenantId, 1);
    const absentWebhook = newId('webhook');
    const absentDelivery = `dlv_${'1'.repeat(52)}`;
    const before = await snapshotPartition(platform.client, platform.resources.platformTable, a.tenantId);
    const requests = (webhookId: string, deliveryId: string): [string, string, unknown][] => [
      ['GET', `/v1/webhooks/${webhookId}`, undefined],
      ['PATCH', `/v1/webhooks/${webhookId}`, { enabled: false }],
      ['DELETE', `/v1/webhooks/${webhookId}`, undefined],
      ['POST', `/v1/webhooks/${webhookId}/rotate-secret`, undefined],
      ['POST', `/v1/webhooks/${webhookId}/test`, undefined],
      ['GET', `/v1/webhooks/${webhookId}/deliveries`, undefined],
      ['POST', `/v1/webhooks/${webhookId}/deliveries/${deliveryId}/redeliver`, undefined],
      ['POST', `/v1/webhooks/${webhookId}/recover`, { since: '2020-01-01T00:00:00.000Z' }],
    ];
    const theirs = requests(webhook.id, test.body.id);
    const absent = requests(absentWebhook, absentDelivery);
    for (const [index, [method, path, body]] of theirs.entries()) {
      const foreign = await b.client.request(method, path, body === undefined ? {} : { body });
      const [, absentPath, absentBody] = absent[index] as [string, string, unknown];
      const missing = await b.client.request(
        method,
        absentPath,
        absentBody === undefined ? {} : { body: absentBody },
      );
      expect([foreign.status, missing.status], path).toEqual([404, 404]);
      expect(foreign.body.error.code, path).toBe(missing.body.error.code);
      expect(foreign.body.error.message.replace(webhook.id, absentWebhook), path).toBe(
        missing.body.error.message,
      );
    }
    expect((await b.client.get('/v1/webhooks')).body.items).toEqual([]);
    const after = await snapshotPartition(platform.client, platform.resources.platformTable, a.tenantId);
    expect(partitionChanges(before, after)).toEqual([]);
    expect(await takeJobsOf(platform.clients.sqs, queueUrl, a.tenantId, 1, 2_000)).toEqual([]);
  });

  it('a key without webhooks:manage is refused every webhook route (403)', async () => {
    const { client } = await world.newTenant([
      'channels:read',
      'channels:write',
      'messages:send',
      'messages:read',
    ]);
    const id = newId('webhook');
    for (const [method, path] of [
      ['POST', '/v1/webhooks'],
      ['GET', '/v1/webhooks'],
      ['GET', `/v1/webhooks/${id}`],
      ['PATCH', `/v1/webhooks/${id}`],
      ['DELETE', `/v1/webhooks/${id}`],
      ['POST', `/v1/webhooks/${id}/rotate-secret`],
      ['POST', `/v1/webhooks/${id}/test`],
      ['GET', `/v1/webhooks/${id}/deliveries`],
      ['POST', `/v1/webhooks/${id}/deliveries/dlv_${'1'.repeat(52)}/redeliver`],
      ['POST', `/v1/webhooks/${id}/recover`],
    ] as const) {
      const response = await client.request(method, path);
      expect(response, `${method} ${path}`).toMatchObject({
        status: 403,
        body: { error: { code: 'insufficient_scope' } },
      });
    }
  });
});
