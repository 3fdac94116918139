import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_BODY_BYTES } from '#functions/http/edge-limits.ts';
import { platformRepositories } from '../support/platform.ts';
import { type ApiWorld, startApiWorld } from './support/api-world.ts';
import { snapshotPartition } from './support/partition-snapshot.ts';
import { sendBytes, sendRaw } from './support/raw-http.ts';

let world: ApiWorld;
beforeAll(async () => {
  world = await startApiWorld();
});
afterAll(() => world?.front.stop());

describe('the local front', () => {
  it('answers /health and the OpenAPI document without a key', async () => {
    expect(await world.anonymous.get('/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const openApi = await world.anonymous.get('/v1/openapi.json');
    expect(openApi.status).toBe(200);
    expect(openApi.body.openapi).toBe('3.1.0');
    expect(Object.keys(openApi.body.paths)).toContain('/v1/channels/{channelId}/messages');
    const docs = await world.anonymous.get('/docs');
    expect(docs.headers.get('content-type')).toContain('text/html');
    expect(docs.headers.get('cache-control')).toBe('no-store');
    expect(docs.body).toContain('/v1/channels/{channelId}/connect');
  });

  it('answers an unknown route and a missing or wrong key in the API error body', async () => {
    const unknown = await world.anonymous.get('/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'route_not_found', requestId: expect.any(String) });
    const missing = await world.anonymous.get('/v1/channels');
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('unauthenticated');
    const wrong = await world.anonymous.as('cwa_nonsense').get('/v1/channels');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.requestId).toBe(wrong.headers.get('x-amzn-requestid'));
  });

  it("answers what Node's HTTP parser refuses in the API error body", async () => {
    const { key } = await world.newTenant(['channels:write']);
    const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;
    const post = ['POST /v1/channels HTTP/1.1', 'host: 127.0.0.1', `authorization: Bearer ${key}`];
    const refused = [
      [head([...post, `x-padding: ${'p'.repeat(20_000)}`, 'content-length: 0']), 413, false],
      [head(['FOO /v1/channels HTTP/1.1', 'host: 127.0.0.1']), 400, false],
      [`${head([...post, 'transfer-encoding: chunked'])}zz\r\n{}\r\n0\r\n\r\n`, 400, false],
      [`${head([...post, 'content-length: 50'])}{"name":"x"}`, 400, true],
      [head(['GET /v1/channels HTTP/1.1', `authorization: Bearer ${key}`]), 400, false],
    ] as const;
    for (const [request, status, givesUp] of refused) {
      const answer = await sendBytes(world.front.url, Buffer.from(request), {
        closeAfterMs: givesUp ? 100 : 5_000,
      });
      expect(answer?.status, request.slice(0, 60)).toBe(status);
      const body = JSON.parse(answer?.text ?? '');
      expect(body.error).toMatchObject({
        code: expect.any(String),
        requestId: answer?.headers['x-amzn-requestid'],
      });
    }
  });

  it('answers a HEAD it cannot parse without a body, as HTTP wants of any answer to a HEAD', async () => {
    const answer = await sendRaw(world.front.url, {
      method: 'HEAD',
      path: '/v1/channels',
      headers: { 'x-padding': 'p'.repeat(20_000) },
    });
    expect(answer).toMatchObject({ status: 413, text: '' });
  });

  it("refuses a body over API Gateway's 10 MB and drops that connection, so the next request is answered", async () => {
    const json = { 'content-type': 'application/json' };
    const huge = await sendRaw(world.front.url, {
      method: 'POST',
      path: '/v1/channels',
      headers: json,
      body: `{"name":"${'x'.repeat(11 * 1024 * 1024)}"}`,
    });
    expect(huge.status).toBe(413);
    expect(JSON.parse(huge.text).error.code).toBe('request_too_large');
    const next = await sendRaw(world.front.url, { method: 'GET', path: '/health', headers: json });
    expect(next.status).toBe(200);
  });

  it('answers request targets that are no URL path of its own: //, *, another host', async () => {
    const targets = [
      ['GET', '//?cursor=x', 404],
      ['GET', '//', 404],
      ['OPTIONS', '*', 400],
      ['GET', 'http://127.0.0.1/health', 200],
    ] as const;
    for (const [method, path, status] of targets) {
      const answer = await sendRaw(world.front.url, { method, path, headers: {} });
      expect(answer.status, `${method} ${path}`).toBe(status);
    }
  });

  it('passes a query parameter named __proto__ on like any other', async () => {
    const { client } = await world.newTenant(['channels:read']);
    const listed = await client.get('/v1/channels?__proto__=x&limit=5');
    expect(listed).toMatchObject({ status: 200, body: { items: [], nextCursor: null } });
  });
});

describe('the largest body a Lambda event carries (MAX_REQUEST_BODY_BYTES)', () => {
  const platform = platformRepositories();
  const tooLarge = (requestId: string | undefined) => ({
    error: {
      code: 'request_too_large',
      message: `The request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes`,
      requestId,
    },
  });

  /** What the tenant has stored: its partition's items (not the rate limiter's) and media objects. */
  async function storedBy(tenantId: string) {
    const items = await snapshotPartition(platform.client, platform.resources.platformTable, tenantId);
    const objects = await platform.clients.s3.send(
      new ListObjectsV2Command({ Bucket: platform.resources.mediaBucket, Prefix: `media/${tenantId}/` }),
    );
    return { items: [...items.keys()].sort(), objects: (objects.Contents ?? []).map((object) => object.Key) };
  }

  function upload(key: string, bytes: number, framing: 'length' | 'chunked' = 'length') {
    return sendRaw(world.front.url, {
      method: 'POST',
      path: '/v1/media?filename=scan.png',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'image/png',
        ...(framing === 'chunked' ? { 'transfer-encoding': 'chunked' } : {}),
      },
      body: Buffer.alloc(bytes, 0x89),
    });
  }

  it('refuses a body one byte over before any function runs, and nothing is written', async () => {
    const { tenantId, key } = await world.newTenant();
    const before = await storedBy(tenantId);
    const refused = await upload(key, MAX_REQUEST_BODY_BYTES + 1);
    expect(refused.status).toBe(413);
    // The front's answer, not the upload route's (which would say media_too_large, 4 MiB).
    expect(JSON.parse(refused.text)).toEqual(tooLarge(refused.headers['x-amzn-requestid']));
    expect(refused.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(await storedBy(tenantId)).toEqual(before);
    // The connection read the rest of the body: it serves the next request.
    expect((await sendRaw(world.front.url, { method: 'GET', path: '/health', headers: {} })).status).toBe(
      200,
    );
  });

  it('counts a body sent without a length (chunked) and refuses it past the limit', async () => {
    const { tenantId, key } = await world.newTenant();
    const before = await storedBy(tenantId);
    const refused = await upload(key, MAX_REQUEST_BODY_BYTES + 1, 'chunked');
    expect(refused.status).toBe(413);
    expect(JSON.parse(refused.text)).toEqual(tooLarge(refused.headers['x-amzn-requestid']));
    expect(await storedBy(tenantId)).toEqual(before);
  });

  it('passes a body of exactly the limit on to the function, whose own 413 answers', async () => {
    const { tenantId, key } = await world.newTenant();
    const before = await storedBy(tenantId);
    for (const framing of ['length', 'chunked'] as const) {
      const media = await upload(key, MAX_REQUEST_BODY_BYTES, framing);
      expect(media.status, framing).toBe(413);
      expect(JSON.parse(media.text).error, framing).toMatchObject({
        code: 'media_too_large',
        requestId: media.headers['x-amzn-requestid'],
      });
    }
    const json = await sendRaw(world.front.url, {
      method: 'POST',
      path: '/v1/channels',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: `{"name":"${'x'.repeat(MAX_REQUEST_BODY_BYTES - 12)}"}`,
    });
    expect(json.status).toBe(413);
    // The JSON routes' own limit, 1 MiB.
    expect(JSON.parse(json.text).error).toMatchObject({
      code: 'request_too_large',
      message: 'The request body is larger than 1048576 bytes',
      requestId: json.headers['x-amzn-requestid'],
    });
    expect(await storedBy(tenantId)).toEqual(before);
  });
});

describe('requests as API Gateway passes them on', () => {
  it('answers a GET that carries a body as it answers one without (fetch cannot send it)', async () => {
    const { key } = await world.newTenant(['channels:read']);
    const withBody = await sendRaw(world.front.url, {
      method: 'GET',
      path: '/v1/channels',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{"name":"x"}',
    });
    expect(withBody.status).toBe(200);
    expect(JSON.parse(withBody.text)).toEqual({ items: [], nextCursor: null });
  });

  it('answers a blank path id as any other malformed one: 404', async () => {
    const { client } = await world.newTenant(['channels:read', 'messages:read']);
    for (const blank of ['%20', '%09', '%20%20']) {
      const channel = await client.get(`/v1/channels/${blank}`);
      expect(channel).toMatchObject({ status: 404, body: { error: { code: 'channel_not_found' } } });
    }
    const message = await client.get('/v1/channels/chn_01JDQ7Z8K3M4N5P6Q7R8S9T0VW/messages/%20');
    expect(message).toMatchObject({ status: 404, body: { error: { code: 'message_not_found' } } });
  });
});

describe('tenants and keys', () => {
  it('lets the admin create a tenant and a key that the tenant then uses', async () => {
    const { tenantId, client } = await world.newTenant(['channels:read', 'channels:write']);
    const created = await client.post('/v1/channels', { name: 'Recepção' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Recepção', status: 'disconnected', phoneNumber: null });
    const listed = await client.get('/v1/channels');
    expect(listed.body.items.map((channel: { id: string }) => channel.id)).toEqual([created.body.id]);
    const tenant = await world.admin.get(`/v1/tenants/${tenantId}`);
    expect(tenant.body).toMatchObject({ id: tenantId, status: 'active' });
  });

  it('keeps a tenant key off admin routes and out of scopes it lacks', async () => {
    const { client } = await world.newTenant(['channels:read']);
    expect((await client.get('/v1/tenants')).status).toBe(403);
    const write = await client.post('/v1/channels', { name: 'x' });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('insufficient_scope');
    expect((await world.admin.get('/v1/channels')).status).toBe(403);
  });

  it('names each failing field of a bad body, and writes nothing', async () => {
    const { client } = await world.newTenant();
    const bad = await client.post('/v1/channels', { name: '', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((field: { field: string }) => field.field).sort()).toEqual(
      expect.arrayContaining(['body.name']),
    );
    expect((await client.get('/v1/channels')).body.items).toEqual([]);
    const notJson = await client.request('POST', '/v1/channels', {
      rawBody: '{"name":',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson).toMatchObject({ status: 400, body: { error: { code: 'invalid_json' } } });
    const text = await client.request('POST', '/v1/channels', {
      rawBody: 'name=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text).toMatchObject({ status: 415, body: { error: { code: 'unsupported_media_type' } } });
    const huge = await client.post('/v1/channels', { name: 'x'.repeat(1024 * 1024 + 10) });
    expect(huge).toMatchObject({ status: 413, body: { error: { code: 'request_too_large' } } });
  });

  it("answers another tenant's channel exactly as an absent one", async () => {
    const a = await world.newTenant();
    const b = await world.newTenant();
    const channel = (await a.client.post('/v1/channels', { name: 'A' })).body;
    const theirs = await b.client.get(`/v1/channels/${channel.id}`);
    const absent = await b.client.get('/v1/channels/chn_01JDQ7Z8K3M4N5P6Q7R8S9T0VW');
    expect(theirs.status).toBe(404);
    expect(absent.status).toBe(404);
    expect(theirs.body.error.code).toBe(absent.body.error.code);
    const malformed = await b.client.get('/v1/channels/not-an-id');
    expect(malformed.status).toBe(404);
  });

  it('refuses a forged cursor on every list with 400 invalid_cursor', async () => {
    const { tenantId, client } = await world.newTenant();
    const channel = (await client.post('/v1/channels', { name: 'Recepção' })).body;
    const pk = `TENANT#${tenantId}`;
    const forged = (key: object) => Buffer.from(JSON.stringify(key)).toString('base64url');
    const lists = [
      [world.admin, '/v1/tenants', { gsi1pk: 'TENANTS' }],
      [world.admin, `/v1/tenants/${tenantId}/api-keys`, { pk }],
      [world.admin, `/v1/tenants/${tenantId}/api-keys`, { pk, sk: `CHANNEL#${channel.id}` }],
      [client, '/v1/channels', { pk, sk: `CHANNEL#${channel.id}`, gsi1pk: 'SHARD#0' }],
      [client, `/v1/channels/${channel.id}/messages`, { pk, sk: `MSG#${channel.id}#${'é'.repeat(600)}` }],
    ] as const;
    for (const [caller, path, key] of lists) {
      const page = await caller.get(`${path}?cursor=${forged(key)}`);
      expect(page.status, `${path} ${JSON.stringify(key)}`).toBe(400);
      expect(page.body.error.code).toBe('invalid_cursor');
    }
  });

  it("refuses a channel to a tenant erased while the authorizer's cache still takes its key: 401", async () => {
    const { tenantId, client } = await world.newTenant();
    expect((await client.get('/v1/channels')).status).toBe(200);
    expect((await world.admin.delete(`/v1/tenants/${tenantId}`)).status).toBe(202);
    const created = await client.post('/v1/channels', { name: 'Recepção' });
    expect(created).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated' } } });
  });

  it('answers a malformed path id with the same 404 as an absent one', async () => {
    const { tenantId, client } = await world.newTenant();
    const channel = (await client.post('/v1/channels', { name: 'Recepção' })).body;
    const pairs = [
      [world.admin, 'DELETE', `/v1/tenants/${tenantId}/api-keys/`, 'key_01JDQ7Z8K3M4N5P6Q7R8S9T0VW'],
      [client, 'GET', `/v1/channels/${channel.id}/contacts/checks/`, 'cmd_01JDQ7Z8K3M4N5P6Q7R8S9T0VW'],
      [client, 'GET', `/v1/channels/${channel.id}/messages/`, 'msg_01JDQ7Z8K3M4N5P6Q7R8S9T0VW'],
    ] as const;
    for (const [caller, method, path, absent] of pairs) {
      const forAbsent = await caller.request(method, `${path}${absent}`);
      const forMalformed = await caller.request(method, `${path}not-an-id`);
      expect(forAbsent.status, path).toBe(404);
      expect(forMalformed.status, path).toBe(404);
      expect(forMalformed.body.error.code, path).toBe(forAbsent.body.error.code);
    }
  });

  it('replays an idempotent create and refuses a reused key with another body', async () => {
    const { client } = await world.newTenant();
    const headers = { 'idempotency-key': 'create-reception-1' };
    const first = await client.post('/v1/channels', { name: 'Recepção' }, headers);
    const again = await client.post('/v1/channels', { name: 'Recepção' }, headers);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect((await client.get('/v1/channels')).body.items).toHaveLength(1);
    const reused = await client.post('/v1/channels', { name: 'Outra' }, headers);
    expect(reused).toMatchObject({ status: 409, body: { error: { code: 'idempotency_key_reused' } } });
  });
});

describe('the rate limit', () => {
  it("answers 429 with Retry-After past the tenant's limit, and other tenants go on", async () => {
    const limited = await startApiWorld({
      TENANT_RATE_LIMIT_REQUESTS: '5',
      TENANT_RATE_LIMIT_WINDOW_SECONDS: '3600',
    });
    try {
      const { client } = await limited.newTenant();
      const statuses: number[] = [];
      for (let request = 0; request < 7; request++) statuses.push((await client.get('/v1/channels')).status);
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      const refused = await client.get('/v1/channels');
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('rate_limited');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(3600);
      const other = await limited.newTenant();
      expect((await other.client.get('/v1/channels')).status).toBe(200);
    } finally {
      await limited.front.stop();
    }
  });
});

describe('API keys and idempotency', () => {
  it('never keeps an issued key for replays: the same Idempotency-Key issues a new key', async () => {
    const tenant = (await world.admin.post('/v1/tenants', { name: 'Clínica Chaves' })).body;
    const headers = { 'idempotency-key': 'issue-key-1' };
    const first = await world.admin.post(
      `/v1/tenants/${tenant.id}/api-keys`,
      { name: 'a', scopes: ['*'] },
      headers,
    );
    const second = await world.admin.post(
      `/v1/tenants/${tenant.id}/api-keys`,
      { name: 'a', scopes: ['*'] },
      headers,
    );
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.id).not.toBe(first.body.id);
    const platform = platformRepositories();
    const records = await platform.client.send(
      new ScanCommand({ TableName: platform.resources.idempotencyTable }),
    );
    expect(JSON.stringify(records.Items ?? [])).not.toContain(first.body.key);
    expect(JSON.stringify(records.Items ?? [])).not.toContain('cwa_');
  });
});

describe('a send re-executed under its Idempotency-Key', () => {
  it('answers as the first run when Powertools kept no response, and a reused key the same 409 either way', async () => {
    const { tenantId, client } = await world.newTenant();
    const platform = platformRepositories();
    const channel = (await client.post('/v1/channels', { name: 'Recepção' })).body;
    // Sendable: the runner would have moved it on after a connect.
    await platform.channels.transition(tenantId, channel.id, {
      from: 'disconnected',
      expectedVersion: channel.version ?? 1,
      to: 'connecting',
      at: new Date().toISOString(),
    });
    const path = `/v1/channels/${channel.id}/messages`;
    const headers = { 'idempotency-key': 'lembrete-0001' };
    const text = (body: string) => ({ to: '+5511987654321', type: 'text', text: { body } });
    /** What a timeout leaves: no idempotency record of the request, so its retry runs again. */
    const forgetResponses = async (messageId: string) => {
      const records = await platform.client.send(
        new ScanCommand({ TableName: platform.resources.idempotencyTable }),
      );
      const ours = (records.Items ?? []).filter((item) => JSON.stringify(item).includes(messageId));
      expect(ours.length).toBeGreaterThan(0);
      for (const item of ours) {
        await platform.client.send(
          new DeleteCommand({ TableName: platform.resources.idempotencyTable, Key: { id: item.id } }),
        );
      }
    };

    const first = await client.post(path, text('Sua consulta é amanhã.'), headers);
    expect(first).toMatchObject({ status: 202, body: { id: expect.any(String), status: 'queued' } });
    await forgetResponses(first.body.id);
    const again = await client.post(path, text('Sua consulta é amanhã.'), headers);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect((await client.get(path)).body.items.map((item: { id: string }) => item.id)).toEqual([
      first.body.id,
    ]);

    const byPowertools = await client.post(path, text('Outro texto'), headers);
    await forgetResponses(first.body.id);
    const byClaim = await client.post(path, text('Outro texto'), headers);
    for (const reused of [byPowertools, byClaim]) {
      expect(reused).toMatchObject({ status: 409, body: { error: { code: 'idempotency_key_reused' } } });
    }
    const { requestId: _one, ...powertoolsError } = byPowertools.body.error;
    const { requestId: _two, ...claimError } = byClaim.body.error;
    expect(claimError).toEqual(powertoolsError);
    expect((await client.get(path)).body.items).toHaveLength(1);
  });
});
