// GET /v1/events over real HTTP: events published through the real EventBridge publisher to the
// emulator's bus, routed by the stack's rules to the recorder's queues, recorded by the recorder's
// Lambda handler under the local event source, listed by the API behind its local front.
// This file brings its own emulator: its recorder consumes the recorder queues, which the suite's
// shared emulator leaves to provisioning.test.ts.
import { createHash } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, startLocalAws } from '#infra/local/local-aws.ts';
import { eventIdKey, tenantPartition } from '#shared/aws/dynamo/platform-keys.ts';
import { type PlatformEvent, platformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import { createPlatform } from '#shared/platform.ts';
import { captureOutput } from '#test/support/captured-output.ts';
import { until } from '../runner/support/runner-harness.ts';
import type { ApiClient } from './support/api-client.ts';
import { type ApiWorld, startApiWorld } from './support/api-world.ts';

/** Short enough for a test to wait, long enough that a loaded emulator's writes stay within half of it. */
const SETTLE_MS = 4_000;

let aws: LocalAws;
let world: ApiWorld;
/** A runner's view of the platform: publishes to the bus as a runner does. */
let runner: ReturnType<typeof createPlatform>;

beforeAll(async () => {
  aws = await startLocalAws();
  world = await startApiWorld(
    { EVENT_LOG_SETTLE_MS: String(SETTLE_MS) },
    { emulator: { endpoint: aws.endpoint, region: aws.region, env: aws.env }, recorder: true },
  );
  runner = createPlatform({ source: 'runner', env: world.env });
});
afterAll(async () => {
  await world?.stop();
  await aws?.stop();
});

const status = (tenantId: string, channelId: string | null = newId('channel')) =>
  platformEvent('channel.status', { tenantId, channelId }, { status: 'open', previousStatus: 'connecting' });

const received = (tenantId: string, channelId: string, body: string) =>
  platformEvent(
    'message.received',
    { tenantId, channelId },
    {
      messageId: newId('message'),
      from: { phoneNumber: '+5511987654321', lid: null, name: null },
      timestamp: new Date().toISOString(),
      type: 'text',
      content: { text: { body } },
    },
  );

const delivered = (tenantId: string, channelId: string) =>
  platformEvent(
    'message.status',
    { tenantId, channelId },
    {
      messageId: newId('message'),
      status: 'delivered',
      timestamp: new Date().toISOString(),
      recipient: { phoneNumber: '+5511987654321', lid: null },
    },
  );

function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter(
    (entry): entry is [string, string | number] => entry[1] !== undefined,
  );
  return entries.length
    ? `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)]))}`
    : '';
}

/** Every page from `params` on, following `nextCursor` as docs/api.md tells clients to. */
async function readAll(client: ApiClient, params: Record<string, string | number | undefined> = {}) {
  const events: PlatformEvent[] = [];
  let next: Record<string, string | number | undefined> = params;
  for (let pages = 0; pages < 500; pages++) {
    const response = await client.get(`/v1/events${query(next)}`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    events.push(...response.body.items);
    if (response.body.nextCursor === null) return events;
    const { after: _after, ...rest } = next;
    next = { ...rest, cursor: response.body.nextCursor };
  }
  throw new Error('paging does not end');
}

/** Reads until every id in `ids` is listed (the recorder and the settle window take seconds). */
async function readUntilListed(
  client: ApiClient,
  ids: readonly string[],
  params: Record<string, string | number | undefined> = {},
) {
  let events: PlatformEvent[] = [];
  await until(
    async () => {
      events = await readAll(client, params);
      const listed = new Set(events.map((event) => event.id));
      return ids.every((id) => listed.has(id)) || undefined;
    },
    `${ids.length} events listed`,
    60_000,
  );
  return events;
}

/** Events the log holds a second copy of (a late write): the only ones a reader may get twice. */
async function rewrittenIn(tenantId: string): Promise<Set<string>> {
  const result = await runner.clients.dynamo.send(
    new QueryCommand({
      TableName: runner.resources.platformTable,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      FilterExpression: 'attribute_exists(firstPosition)',
      ExpressionAttributeValues: { ':pk': tenantPartition(tenantId), ':prefix': 'EVLOG#' },
      ConsistentRead: true,
    }),
  );
  return new Set((result.Items ?? []).map((item) => JSON.parse(item.event).id as string));
}

function repeated(ids: readonly string[]): string[] {
  return ids.filter((id, i) => ids.indexOf(id) !== i);
}

describe('GET /v1/events', () => {
  it('pages through everything after an event id once, in order of arrival: several publishers at once, duplicates published again', async () => {
    const { tenantId, client } = await world.newTenant(['messages:read']);
    const channelId = newId('channel');
    const marker = status(tenantId, channelId);
    await runner.events.publish([marker]);
    await readUntilListed(client, [marker.id]);

    // Four publishers (their own clients, as four runners), fifteen events each, all at once; then
    // eight of them published again, as a runner's outbox does after a failed publish.
    const publishers = Array.from(
      { length: 4 },
      () => createPlatform({ source: 'runner', env: world.env }).events,
    );
    const batches = publishers.map(() =>
      Array.from({ length: 15 }, (_, i) =>
        i % 3 === 0
          ? received(tenantId, channelId, `mensagem ${i}`)
          : i % 3 === 1
            ? delivered(tenantId, channelId)
            : status(tenantId, channelId),
      ),
    );
    await Promise.all(publishers.map((publisher, p) => publisher.publish(batches[p] ?? [])));
    await publishers[0]?.publish(batches[1]?.slice(0, 8) ?? []);
    const published = batches.flat().map((event) => event.id);

    const listed = (await readUntilListed(client, published, { after: marker.id, limit: 7 })).map(
      (event) => event.id,
    );
    expect(new Set(listed)).toEqual(new Set(published));
    expect(listed).not.toContain(marker.id);
    const rewritten = await rewrittenIn(tenantId);
    for (const id of repeated(listed)) expect(rewritten, `${id} served twice`).toContain(id);

    // The same order in one page, and paging with `after` = the last id of each page instead of the cursor.
    const onePage = await client.get(`/v1/events${query({ after: marker.id, limit: 100 })}`);
    expect(onePage.body.items.map((event: PlatformEvent) => event.id)).toEqual(listed);
    const byAfter: string[] = [];
    let after = marker.id;
    for (;;) {
      const page = await client.get(`/v1/events${query({ after, limit: 7 })}`);
      const ids = page.body.items.map((event: PlatformEvent) => event.id);
      byAfter.push(...ids);
      if (ids.length < 7) break;
      after = ids.at(-1);
    }
    expect(byAfter).toEqual(listed);
    // Each item is the event as published (the webhook payload), nothing more.
    const first = batches[0]?.[0] as PlatformEvent;
    expect(onePage.body.items.find((event: PlatformEvent) => event.id === first.id)).toEqual(first);
  });

  it('presents a received file with a download URL made for each read, which the log does not keep', async () => {
    const { tenantId, client } = await world.newTenant(['messages:read']);
    const scan = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(50_000, 5)]);
    const stored = await runner.media.putStream(tenantId, {
      body: (async function* () {
        yield scan;
      })(),
      mimeType: 'application/pdf',
      fileName: 'laudo.pdf',
      maxBytes: 1_000_000,
    });
    const document = { ...stored, mimeType: 'application/pdf', fileName: 'laudo.pdf' };
    const event = platformEvent(
      'message.received',
      { tenantId, channelId: newId('channel') },
      {
        messageId: newId('message'),
        from: { phoneNumber: '+5511987654321', lid: null, name: 'Maria Quintela' },
        timestamp: new Date().toISOString(),
        type: 'document',
        content: { document },
      },
    );
    await runner.events.publish([event]);
    const readAt = Date.now();
    const [listed] = (await readUntilListed(client, [event.id])).filter((item) => item.id === event.id);
    const linked = (listed as PlatformEvent<'message.received'>).data.content.document as Record<
      string,
      string
    >;
    expect(listed).toEqual({
      ...event,
      data: {
        ...event.data,
        content: { document: { ...document, url: expect.any(String), urlExpiresAt: expect.any(String) } },
      },
    });
    expect(Date.parse(linked.urlExpiresAt ?? '') - readAt).toBeGreaterThan(290_000);
    const download = await fetch(linked.url ?? '');
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(download.status).toBe(200);
    expect(bytes.length).toBe(document.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(document.sha256);

    // Another read, another URL: made when read, not kept.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const again = (await client.get(`/v1/events${query({ types: 'message.received' })}`)).body.items.find(
      (item: PlatformEvent) => item.id === event.id,
    );
    expect(again.data.content.document.urlExpiresAt).not.toBe(linked.urlExpiresAt);
    const kept = await runner.clients.dynamo.send(
      new QueryCommand({
        TableName: runner.resources.platformTable,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': tenantPartition(tenantId), ':prefix': 'EVLOG#' },
        ConsistentRead: true,
      }),
    );
    expect(kept.Items?.map((item) => JSON.parse(item.event))).toEqual([event]);
  });

  it('narrows by types and channelId, and answers a bad query with 400 naming the field', async () => {
    const { tenantId, client } = await world.newTenant(['messages:read']);
    const [one, two] = [newId('channel'), newId('channel')];
    const events = [
      received(tenantId, one, 'olá'),
      delivered(tenantId, one),
      status(tenantId, two),
      delivered(tenantId, two),
      platformEvent('channel.logged_out', { tenantId, channelId: null }, { reason: 'logout' }),
    ];
    await runner.events.publish(events);
    await readUntilListed(
      client,
      events.map((event) => event.id),
    );
    const ids = async (params: Record<string, string>) =>
      (await readAll(client, params)).map((event) => event.id).sort();
    const expected = (keep: (event: PlatformEvent) => boolean) =>
      events
        .filter(keep)
        .map((event) => event.id)
        .sort();

    expect(await ids({ types: 'message.status' })).toEqual(
      expected((event) => event.type === 'message.status'),
    );
    expect(await ids({ types: 'message.received,channel.logged_out', limit: '1' })).toEqual(
      expected((event) => event.type === 'message.received' || event.type === 'channel.logged_out'),
    );
    expect(await ids({ channelId: one })).toEqual(expected((event) => event.channelId === one));
    expect(await ids({ channelId: two, types: 'message.status' })).toEqual(
      expected((event) => event.channelId === two && event.type === 'message.status'),
    );
    expect(await ids({ channelId: newId('channel') })).toEqual([]);

    for (const [params, field] of [
      [{ types: 'message.received,message.teleported' }, 'query.types'],
      [{ types: '' }, 'query.types'],
      [{ after: 'evt_1' }, 'query.after'],
      [{ channelId: 'chn_nope' }, 'query.channelId'],
      [{ limit: '0' }, 'query.limit'],
      [{ limit: '101' }, 'query.limit'],
      [{ after: events[0]?.id as string, cursor: 'abc' }, 'query.cursor'],
    ] as const) {
      const response = await client.get(`/v1/events${query(params)}`);
      expect(response.status, JSON.stringify(params)).toBe(400);
      expect(response.body.error.code).toBe('validation_failed');
      expect(response.body.error.fields.map((issue: { field: string }) => issue.field)).toEqual([field]);
    }
    const badCursor = await client.get('/v1/events?cursor=bm90LWEtY3Vyc29y');
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.code).toBe('invalid_cursor');
  });

  it("never lists another tenant's events: its event id as `after` is 404, as an unknown one is, and its cursor is refused", async () => {
    const a = await world.newTenant(['messages:read']);
    const b = await world.newTenant(['messages:read']);
    const theirs = [received(b.tenantId, newId('channel'), 'segredo de B'), status(b.tenantId)];
    const ours = status(a.tenantId);
    await runner.events.publish([...theirs, ours]);
    await readUntilListed(
      b.client,
      theirs.map((event) => event.id),
    );
    const listed = await readUntilListed(a.client, [ours.id]);
    expect(listed.map((event) => event.id)).toEqual([ours.id]);

    const foreign = await a.client.get(`/v1/events?after=${theirs[0]?.id}`);
    const unknown = await a.client.get(`/v1/events?after=${newId('event')}`);
    expect(foreign.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(foreign.body.error.code).toBe('event_not_found');
    expect(unknown.body.error.code).toBe('event_not_found');
    expect(JSON.stringify(foreign.body)).not.toContain('segredo');
    const theirCursor = (await b.client.get('/v1/events?limit=1')).body.nextCursor;
    expect(theirCursor).toEqual(expect.any(String));
    const refused = await a.client.get(`/v1/events?cursor=${theirCursor}`);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('invalid_cursor');
  });

  it('lists a QR and a pairing code only while they are valid; their ids still work as `after`', async () => {
    const { tenantId, client } = await world.newTenant(['messages:read']);
    const channelId = newId('channel');
    const expiresAt = new Date(Date.now() + SETTLE_MS + 6_000).toISOString();
    const qr = platformEvent('channel.qr', { tenantId, channelId }, { qr: '2@SECRET-QR-CONTENT', expiresAt });
    const code = platformEvent(
      'channel.pairing_code',
      { tenantId, channelId },
      { pairingCode: 'SECRETCD', phoneNumber: '+5511987654321', expiresAt },
    );
    const after = status(tenantId, channelId);
    await runner.events.publish([qr, code]);
    const whileValid = await readUntilListed(client, [qr.id, code.id]);
    expect(whileValid.find((event) => event.id === qr.id)?.data).toEqual(qr.data);
    await runner.events.publish([after]);
    await readUntilListed(client, [after.id]);

    await until(() => Date.now() > Date.parse(expiresAt) || undefined, 'the QR expired', 20_000);
    const expired = await readAll(client);
    expect(expired.map((event) => event.id)).toEqual([after.id]);
    const everything = JSON.stringify(expired);
    expect(everything).not.toContain('SECRET-QR-CONTENT');
    expect(everything).not.toContain('SECRETCD');
    // TTL deletes lazily: the item may still be there; the API does not serve it.
    expect((await readAll(client, { after: qr.id })).map((event) => event.id)).toEqual([after.id]);
  });

  it('drops the events of a tenant that does not exist, and fails a record that is not an event alone, logging no content', async () => {
    const { tenantId, client } = await world.newTenant(['messages:read']);
    const ghost = status(newId('tenant'));
    const output = captureOutput();
    try {
      await runner.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: runner.resources.recorderQueueUrl,
          MessageBody: JSON.stringify({
            'detail-type': 'message.received',
            source: 'clinic-wa.runner',
            detail: { id: 'evt_bad', tenantId, data: { text: 'Maria da Silva, consulta às 9h' } },
          }),
        }),
      );
      const ok = status(tenantId);
      await runner.events.publish([ghost, ok]);
      await readUntilListed(client, [ok.id]);
      await until(
        () =>
          output
            .entries()
            .some(
              (entry) =>
                entry.message === 'record is not a platform event: it fails until the queue gives it up',
            ) || undefined,
        'the malformed record logged',
      );
    } finally {
      output.restore();
    }
    const logged = output.text();
    expect(logged).not.toContain('Maria');
    const warning = output
      .entries()
      .find((entry) => String(entry.message).startsWith('record is not a platform event'));
    expect(warning).toMatchObject({ level: 'WARN', messageId: expect.any(String), receiveCount: 1 });
    expect(JSON.stringify(warning?.issues)).toContain('detail.id');
    const ghostId = await runner.clients.dynamo.send(
      new GetCommand({
        TableName: runner.resources.platformTable,
        Key: eventIdKey(ghost.tenantId, ghost.id),
      }),
    );
    expect(ghostId.Item).toBeUndefined();
  });
});
