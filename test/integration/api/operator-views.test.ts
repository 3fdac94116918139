// The operator's views over real HTTP (`GET /v1/admin/runners`, `/v1/admin/channels`, `…/counts`):
// what they answer from the records the runners and the API write, and that every DynamoDB request
// they make is one their role's grant allows (a query naming only listed attributes, in the
// partitions listed). This file brings its own emulator (three shards), so the lists across tenants
// hold exactly its own channels; its DynamoDB requests pass a recording proxy.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, startLocalAws } from '#infra/local/local-aws.ts';
import { LeaseTable } from '#runner/leases/lease-table.ts';
import {
  CHANNEL_DIRECTORY_ATTRIBUTES,
  DynamoChannelDirectory,
} from '#shared/aws/dynamo/channel-directory.ts';
import {
  SHARD_OWNERSHIP_ATTRIBUTES,
  shardOwnershipPartitions,
} from '#shared/aws/dynamo/shard-ownership-reader.ts';
import { CHANNEL_STATUSES, type ChannelStatus, shardFor } from '#shared/domain/channel.ts';
import { newId } from '#shared/domain/ids.ts';
import { stringLike } from '#test/unit/infra/iam-grants.ts';
import { type DynamoProxy, type ProxiedRequest, startDynamoProxy } from '../support/dynamo-proxy.ts';
import { type EmulatorContext, platformRepositories } from '../support/platform.ts';
import type { ApiClient } from './support/api-client.ts';
import { type ApiWorld, startApiWorld } from './support/api-world.ts';

const SHARDS = 3;
const CLUSTER = `ops-${randomUUID()}`;
const TTL_MS = 30_000;

let aws: LocalAws;
let proxy: DynamoProxy;
let world: ApiWorld;
let runner: ReturnType<typeof platformRepositories>;
let recording: ProxiedRequest[] | null = null;

beforeAll(async () => {
  aws = await startLocalAws({ context: { shardCount: SHARDS } });
  proxy = await startDynamoProxy(aws.endpoint, (request) => {
    recording?.push(request);
    return 'forward';
  });
  const emulator: EmulatorContext = { endpoint: aws.endpoint, region: aws.region, env: aws.env };
  world = await startApiWorld(
    { RUNNER_CLUSTER: CLUSTER, AWS_ENDPOINT_URL_DYNAMODB: proxy.url },
    { emulator },
  );
  runner = platformRepositories(emulator);
});
afterAll(async () => {
  await world?.stop();
  await proxy?.close();
  await aws?.stop();
});

/** The admin key's GET, with every DynamoDB request it caused (the admin key itself needs none). */
async function asOperator(path: string) {
  const requests: ProxiedRequest[] = [];
  recording = requests;
  try {
    return { response: await world.admin.get(path), requests };
  } finally {
    recording = null;
  }
}

interface QueryRequest {
  TableName: string;
  IndexName?: string;
  Select?: string;
  ProjectionExpression?: string;
  FilterExpression?: string;
  KeyConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, { S?: string }>;
}

const WORDS = new Set(['AND', 'OR', 'NOT', 'attribute_not_exists', 'attribute_exists', 'begins_with']);

/** The attributes a request names anywhere (projection, key condition, filter): what IAM checks. */
function attributesNamed(query: QueryRequest): string[] {
  const expressions = [query.ProjectionExpression, query.KeyConditionExpression, query.FilterExpression];
  const names = expressions
    .flatMap((expression) => (expression ?? '').match(/[#:]?[A-Za-z_]\w*/g) ?? [])
    .filter((token) => !token.startsWith(':') && !WORDS.has(token));
  return [...new Set(names.map((name) => query.ExpressionAttributeNames?.[name] ?? name))].sort();
}

/** What the role's grant allows (infra/api-stack.ts): a query stating Select and naming listed attributes. */
function problemsOf(requests: ProxiedRequest[], allowed: readonly string[], partitions?: readonly string[]) {
  return requests.flatMap((request) => {
    if (request.operation !== 'Query') return [`${request.operation} is not granted`];
    const query = JSON.parse(request.body) as QueryRequest;
    const problems = attributesNamed(query)
      .filter((name) => !allowed.includes(name))
      .map((name) => `reads ${name}`);
    if (query.Select !== 'SPECIFIC_ATTRIBUTES') problems.push(`Select ${query.Select}`);
    if (!query.ProjectionExpression) problems.push('no projection');
    if (partitions) {
      const pk = query.ExpressionAttributeValues?.[':pk']?.S ?? '';
      if (!partitions.some((pattern) => stringLike(pattern, pk))) problems.push(`partition ${pk}`);
    }
    return problems;
  });
}

async function readAll(client: ApiClient, path: string, limit: number) {
  const items: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page: { status: number; body: { items: Record<string, unknown>[]; nextCursor: string | null } } =
      await client.get(
        `${path}${separator}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
    expect(page.status).toBe(200);
    items.push(...page.body.items);
    cursor = page.body.nextCursor;
    pages++;
  } while (cursor && pages < 50);
  return items;
}

describe('GET /v1/admin/runners', () => {
  it('shows each runner with its shards as the lease and membership records say, clocks named', async () => {
    const leases = new LeaseTable(runner.client, runner.resources.sessionsTable, CLUSTER);
    const t0 = Date.UTC(2030, 0, 1, 9, 0, 0);
    await leases.heartbeat('runner-a', t0, TTL_MS);
    await leases.heartbeat('runner-b', t0 + 1_000, TTL_MS);
    await leases.heartbeat('runner-a', t0 + 10_000, TTL_MS);
    const a0 = await leases.acquire(0, 'runner-a', t0, TTL_MS);
    expect(a0 && (await leases.renew(a0, t0 + 10_000, TTL_MS))).toBe(true);
    // runner-b held shard 1 and handed it back: the lease keeps its token and names nobody.
    const b1 = await leases.acquire(1, 'runner-b', t0 + 1_000, TTL_MS);
    if (!b1) throw new Error('runner-b could not take shard 1');
    await leases.release(b1);
    // A runner that took shard 2 and is no member (it left without releasing).
    await leases.acquire(2, 'ghost', t0 + 2_000, TTL_MS);
    // Another cluster's records are not this view's.
    await new LeaseTable(runner.client, runner.resources.sessionsTable, `${CLUSTER}-other`).heartbeat(
      'elsewhere',
      t0,
      TTL_MS,
    );

    const { response, requests } = await asOperator('/v1/admin/runners');
    expect(response.status).toBe(200);
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(response.body).toEqual({
      cluster: CLUSTER,
      shardCount: SHARDS,
      observedAt: expect.any(String),
      runners: [
        {
          runnerId: 'runner-a',
          member: true,
          beats: 2,
          lastHeartbeatAtRunnerClock: iso(t0 + 10_000),
          shards: [{ shard: 0, token: 1, renewals: 2, expiresAtOwnerClock: iso(t0 + 10_000 + TTL_MS) }],
        },
        {
          runnerId: 'runner-b',
          member: true,
          beats: 1,
          lastHeartbeatAtRunnerClock: iso(t0 + 1_000),
          shards: [],
        },
        {
          runnerId: 'ghost',
          member: false,
          beats: null,
          lastHeartbeatAtRunnerClock: null,
          shards: [{ shard: 2, token: 1, renewals: 1, expiresAtOwnerClock: iso(t0 + 2_000 + TTL_MS) }],
        },
      ],
      unownedShards: [1],
    });
    expect(Math.abs(Date.parse(response.body.observedAt) - Date.now())).toBeLessThan(60_000);
    // One query per shard and one of the memberships, each within the grant.
    expect(requests).toHaveLength(SHARDS + 1);
    expect(problemsOf(requests, SHARD_OWNERSHIP_ATTRIBUTES, shardOwnershipPartitions(CLUSTER))).toEqual([]);
    for (const request of requests) {
      expect(JSON.parse(request.body).TableName).toBe(runner.resources.sessionsTable);
    }
  });
});

describe('channels across tenants', () => {
  let tenants: { id: string; client: ApiClient }[];
  /** The live channels, as their tenants read them. */
  let live: (Record<string, unknown> & { id: string; tenantId: string; status: string })[];
  const qrSecret = `2@qr-secret-${randomUUID()}`;

  beforeAll(async () => {
    tenants = [];
    live = [];
    for (const names of [
      ['Recepção', 'Financeiro', 'Antigo'],
      ['Unidade Sul', 'Unidade Norte'],
    ]) {
      const { tenantId, client } = await world.newTenant();
      tenants.push({ id: tenantId, client });
      for (const name of names) {
        const created = await client.post('/v1/channels', { name });
        expect(created.status).toBe(201);
      }
    }
    const [first, second] = tenants as [(typeof tenants)[0], (typeof tenants)[0]];
    const firstChannels = (await first.client.get('/v1/channels')).body.items as { id: string }[];
    // Deleted: out of every view, though its item stays in its shard's list until its session is erased.
    expect((await first.client.delete(`/v1/channels/${firstChannels[2]?.id}`)).status).toBe(202);
    // What a runner writes for a channel waiting for a scan: the QR, a pairing secret, on its item.
    const waiting = ((await second.client.get('/v1/channels')).body.items as { id: string }[])[0]
      ?.id as string;
    const at = new Date().toISOString();
    await runner.channels.transition(second.id, waiting, {
      from: 'disconnected',
      to: 'connecting',
      expectedVersion: 1,
      at,
    });
    await runner.channels.recordPairing(second.id, waiting, {
      method: 'qr',
      qr: qrSecret,
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
    });
    await runner.channels.transition(second.id, waiting, {
      from: 'connecting',
      to: 'qr',
      expectedVersion: 2,
      at,
    });
    for (const tenant of tenants) {
      for (const channel of (await tenant.client.get('/v1/channels')).body.items) {
        live.push({ ...channel, tenantId: tenant.id });
      }
    }
    expect(live).toHaveLength(4);
    expect(JSON.stringify(live)).toContain(qrSecret);
  });

  /** A channel as the operator sees it: its tenant's view, without the pairing secret, with its tenant and shard. */
  const asAdmin = (channel: (typeof live)[number]) => {
    const { qr: _qr, pairingCode: _code, pairingExpiresAt: _expires, ...rest } = channel;
    return { ...rest, shard: shardFor(channel.id, SHARDS) };
  };
  const byShardThenId = (a: { id: string }, b: { id: string }) =>
    shardFor(a.id, SHARDS) - shardFor(b.id, SHARDS) || a.id.localeCompare(b.id);

  it('lists every live channel once, by shard then creation, across pages, without any pairing secret', async () => {
    for (const limit of [1, 2, 100]) {
      const items = await readAll(world.admin, '/v1/admin/channels', limit);
      expect(items, `limit ${limit}`).toEqual(live.map(asAdmin).sort(byShardThenId));
    }
    const { response, requests } = await asOperator('/v1/admin/channels?limit=100');
    expect(JSON.stringify(response.body)).not.toContain(qrSecret);
    expect(response.body.items.find((channel: { status: string }) => channel.status === 'qr')).toBeDefined();
    expect(requests.length).toBeGreaterThanOrEqual(SHARDS);
    expect(problemsOf(requests, CHANNEL_DIRECTORY_ATTRIBUTES)).toEqual([]);
    for (const request of requests) expect(JSON.parse(request.body).IndexName).toBe('gsi1');
  });

  it("lists one tenant's channels oldest first, and narrows by status", async () => {
    const [first, second] = tenants as [(typeof tenants)[0], (typeof tenants)[0]];
    const ofTenant = (tenantId: string) =>
      live.filter((channel) => channel.tenantId === tenantId).map(asAdmin);
    expect(await readAll(world.admin, `/v1/admin/channels?tenantId=${first.id}`, 1)).toEqual(
      ofTenant(first.id),
    );
    expect(await readAll(world.admin, `/v1/admin/channels?tenantId=${second.id}`, 10)).toEqual(
      ofTenant(second.id),
    );
    const { response, requests } = await asOperator(`/v1/admin/channels?tenantId=${second.id}&status=qr`);
    expect(response.body).toEqual({
      items: ofTenant(second.id).filter((channel) => channel.status === 'qr'),
      nextCursor: null,
    });
    expect(problemsOf(requests, CHANNEL_DIRECTORY_ATTRIBUTES)).toEqual([]);
    expect(await readAll(world.admin, '/v1/admin/channels?status=disconnected', 2)).toEqual(
      live
        .filter((channel) => channel.status === 'disconnected')
        .map(asAdmin)
        .sort(byShardThenId),
    );
    expect((await world.admin.get(`/v1/admin/channels?tenantId=${newId('tenant')}`)).body).toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it('refuses a cursor of another list, a forged one and malformed filters with 400', async () => {
    const [first] = tenants as [(typeof tenants)[0]];
    const tenantCursor = (await world.admin.get(`/v1/admin/channels?tenantId=${first.id}&limit=1`)).body
      .nextCursor;
    const shardCursor = (await world.admin.get('/v1/admin/channels?limit=1')).body.nextCursor;
    expect(tenantCursor && shardCursor).toBeTruthy();
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const [query, field] of [
      [`cursor=${encodeURIComponent(tenantCursor)}`, 'cursor'],
      [`tenantId=${tenants[1]?.id}&cursor=${encodeURIComponent(tenantCursor)}`, 'cursor'],
      [`tenantId=${first.id}&cursor=${encodeURIComponent(shardCursor)}`, 'cursor'],
      [`cursor=${forged({ shard: SHARDS })}`, 'cursor'],
      [`cursor=${forged({ shard: 0, after: forged({ pk: 'TENANT#x', sk: 'WEBHOOK#y' }) })}`, 'cursor'],
      ['cursor=not-a-cursor', 'cursor'],
      ['status=asleep', 'query.status'],
      ['tenantId=chn_01JDQ7Z8K3M4N5P6Q7R8S9T0VW', 'query.tenantId'],
    ] as const) {
      const response = await world.admin.get(`/v1/admin/channels?${query}`);
      expect(response.status, query).toBe(400);
      if (field === 'cursor') expect(response.body.error.code, query).toBe('invalid_cursor');
      else
        expect(
          response.body.error.fields.map((f: { field: string }) => f.field),
          query,
        ).toEqual([field]);
    }
  });

  it('counts live channels per tenant and status, all or one tenant’s', async () => {
    const expected = (tenantIds: string[]) => {
      const counts = new Map<string, { tenantId: string; status: string; count: number }>();
      for (const channel of live.filter((c) => tenantIds.includes(c.tenantId))) {
        const key = `${channel.tenantId} ${channel.status}`;
        const known = counts.get(key);
        counts.set(key, {
          tenantId: channel.tenantId,
          status: channel.status,
          count: (known?.count ?? 0) + 1,
        });
      }
      return [...counts.values()].sort(
        (a, b) =>
          a.tenantId.localeCompare(b.tenantId) ||
          CHANNEL_STATUSES.indexOf(a.status as ChannelStatus) -
            CHANNEL_STATUSES.indexOf(b.status as ChannelStatus),
      );
    };
    const all = await asOperator('/v1/admin/channels/counts');
    expect(all.response.body).toEqual({
      counts: expected(tenants.map((tenant) => tenant.id)),
      counted: 4,
      complete: true,
    });
    expect(problemsOf(all.requests, CHANNEL_DIRECTORY_ATTRIBUTES)).toEqual([]);
    const second = tenants[1]?.id as string;
    expect((await world.admin.get(`/v1/admin/channels/counts?tenantId=${second}`)).body).toEqual({
      counts: expected([second]),
      counted: 2,
      complete: true,
    });
  });

  it('stops counting at its bound and says so, with counts no greater than the true ones', async () => {
    const bounded = new DynamoChannelDirectory(runner.client, runner.resources.platformTable, SHARDS, {
      countLimit: 2,
    });
    const counts = await bounded.count({});
    expect(counts.complete).toBe(false);
    expect(counts.counted).toBeLessThanOrEqual(SHARDS * Math.ceil(2 / SHARDS));
    for (const { tenantId, status, count } of counts.counts) {
      const truth = live.filter((channel) => channel.tenantId === tenantId && channel.status === status);
      expect(count).toBeLessThanOrEqual(truth.length);
    }
    const unbounded = new DynamoChannelDirectory(runner.client, runner.resources.platformTable, SHARDS, {
      countLimit: 1_000,
    });
    expect(await unbounded.count({})).toMatchObject({ counted: 4, complete: true });
  });

  it('is the admin key’s only: a tenant key with every scope gets 403 admin_only', async () => {
    const [first] = tenants as [(typeof tenants)[0]];
    for (const path of ['/v1/admin/channels', '/v1/admin/channels/counts', '/v1/admin/runners']) {
      expect((await first.client.get(path)).body.error.code, path).toBe('admin_only');
    }
  });
});
