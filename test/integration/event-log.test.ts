// The event log's DynamoDB adapter on the emulator: arrival order, dedupe by id, late writes and
// redeliveries written again, what a read serves of the copies, expiry, cursors, isolation.
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoEventLog } from '#shared/aws/dynamo/event-log.ts';
import { eventIdKey, tenantPartition } from '#shared/aws/dynamo/platform-keys.ts';
import { NotFoundError, ValidationError } from '#shared/domain/errors.ts';
import { type PlatformEvent, platformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import { platformRepositories } from './support/platform.ts';

const platform = platformRepositories();
const SETTLE = 1_000;

/**
 * A log whose clocks the test moves: wall time `now`, and how long each write seems to take (the
 * next of `writes`, else no time: every second reading of the monotonic clock ends a write).
 */
function logWithClocks() {
  const clock = { now: Date.now(), writes: [] as number[] };
  let monotonic = 0;
  let readings = 0;
  const log = new DynamoEventLog(platform.client, platform.resources.platformTable, {
    settleMs: SETTLE,
    now: () => clock.now,
    elapsed: () => {
      readings++;
      if (readings % 2 === 0) monotonic += clock.writes.shift() ?? 0;
      return monotonic;
    },
  });
  return { log, clock };
}

function statusEvent(tenantId: string, channelId: string | null = newId('channel')): PlatformEvent {
  return platformEvent(
    'channel.status',
    { tenantId, channelId },
    { status: 'open', previousStatus: 'connecting' },
  );
}

async function everything(
  log: DynamoEventLog,
  tenantId: string,
  request: { after?: string; types?: PlatformEvent['type'][] } = {},
) {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await log.list(tenantId, { ...request, ...(cursor ? { cursor } : {}), limit: 3 });
    ids.push(...page.items.map((event) => event.id));
    cursor = page.nextCursor ?? undefined;
    if (cursor) delete request.after;
  } while (cursor);
  return ids;
}

async function storedCopies(tenantId: string) {
  const result = await platform.client.send(
    new QueryCommand({
      TableName: platform.resources.platformTable,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPartition(tenantId), ':prefix': 'EVLOG#' },
      ConsistentRead: true,
    }),
  );
  return result.Items ?? [];
}

describe('the event log', () => {
  it('serves events in the order they arrived, not by id, once their settle window has passed', async () => {
    const { log, clock } = logWithClocks();
    const tenantId = newId('tenant');
    // Made by runners an hour apart; they arrive in the other order.
    const ahead = platformEvent(
      'channel.logged_out',
      { tenantId, channelId: null },
      { reason: 'x' },
      new Date(clock.now + 3_600_000),
    );
    const behind = platformEvent(
      'channel.logged_out',
      { tenantId, channelId: null },
      { reason: 'y' },
      new Date(clock.now - 3_600_000),
    );
    await log.append([{ event: ahead, retentionDays: 30 }]);
    clock.now += 1;
    await log.append([{ event: behind, retentionDays: 30 }]);
    expect((await log.list(tenantId, {})).items).toEqual([]);
    clock.now += SETTLE;
    expect((await log.list(tenantId, {})).items).toEqual([ahead, behind]);
    expect((await log.list(tenantId, { after: ahead.id })).items).toEqual([behind]);
  });

  it('stores an event once, whoever delivers it again', async () => {
    const { log, clock } = logWithClocks();
    const tenantId = newId('tenant');
    const event = statusEvent(tenantId);
    expect(await log.append([{ event, retentionDays: 30, writer: 'message-1' }])).toEqual(['recorded']);
    expect(await log.append([{ event, retentionDays: 30, writer: 'message-2' }])).toEqual(['duplicate']);
    expect(await log.append([{ event, retentionDays: 30 }])).toEqual(['duplicate']);
    clock.now += SETTLE;
    expect(await everything(log, tenantId)).toEqual([event.id]);
  });

  it('writes again an event whose write took over half the window, and a reader that passed it still gets it', async () => {
    const { log, clock } = logWithClocks();
    const tenantId = newId('tenant');
    const [before, late, after] = [statusEvent(tenantId), statusEvent(tenantId), statusEvent(tenantId)];
    await log.append([{ event: before, retentionDays: 30 }]);
    clock.now += 10;
    // Its position is taken now; its write takes 501 ms, and it is written again 600 ms later.
    clock.writes.push(SETTLE / 2 + 1);
    const lateAt = clock.now;
    const appended = log.append([{ event: late, retentionDays: 30 }]);
    clock.now += 600;
    expect(await appended).toEqual(['rewritten']);
    clock.now += 10;
    await log.append([{ event: after, retentionDays: 30 }]);
    const copies = await storedCopies(tenantId);
    expect(copies.filter((item) => JSON.parse(item.event).id === late.id)).toHaveLength(2);
    expect(lateAt).toBeLessThan(clock.now);

    clock.now += SETTLE;
    // A read over both copies serves the first only; one that starts between them serves the second.
    expect(await everything(log, tenantId)).toEqual([before.id, late.id, after.id]);
    const between = await log.list(tenantId, { after: before.id });
    expect(between.items.map((event) => event.id)).toEqual([late.id, after.id]);
    const lateFirst = copies.map((item) => String(item.sk)).sort()[1] as string;
    expect(lateFirst).toContain(late.id);
    // A reader whose cursor sits after the first copy (it passed it before it landed) gets the second.
    const cursorPastFirst = Buffer.from(
      JSON.stringify({ pk: tenantPartition(tenantId), sk: lateFirst }),
    ).toString('base64url');
    expect((await log.list(tenantId, { cursor: cursorPastFirst })).items.map((event) => event.id)).toEqual([
      late.id,
      after.id,
    ]);
    // Continuing after the late event itself never serves it again.
    expect((await log.list(tenantId, { after: late.id })).items.map((event) => event.id)).toEqual([after.id]);
  });

  it('writes again an event a redelivery of the same message finds stored (its first outcome unknown)', async () => {
    const { log, clock } = logWithClocks();
    const tenantId = newId('tenant');
    const event = statusEvent(tenantId);
    expect(await log.append([{ event, retentionDays: 30, writer: 'message-1' }])).toEqual(['recorded']);
    clock.now += 5_000;
    expect(await log.append([{ event, retentionDays: 30, writer: 'message-1' }])).toEqual(['rewritten']);
    expect(await storedCopies(tenantId)).toHaveLength(2);
    clock.now += SETTLE;
    expect(await everything(log, tenantId)).toEqual([event.id]);
  });

  it('keeps each event for its tenant’s retention, and its id a week longer', async () => {
    const { log, clock } = logWithClocks();
    const tenantId = newId('tenant');
    const event = statusEvent(tenantId);
    await log.append([{ event, retentionDays: 7 }]);
    const [item] = await storedCopies(tenantId);
    expect(item?.expiresAt).toBe(Math.ceil((clock.now + 7 * 86_400_000) / 1000));
    const id = await platform.client.send(
      new GetCommand({ TableName: platform.resources.platformTable, Key: eventIdKey(tenantId, event.id) }),
    );
    expect(id.Item?.expiresAt).toBe(Math.ceil((clock.now + 14 * 86_400_000) / 1000));
  });

  it('serves nothing past retention (TTL deletes lazily), and an expired id as `after` is not found', async () => {
    const { log, clock } = logWithClocks();
    const tenantId = newId('tenant');
    const [old, recent] = [statusEvent(tenantId), statusEvent(tenantId)];
    await log.append([{ event: old, retentionDays: 1 }]);
    clock.now += 2 * 86_400_000;
    await log.append([{ event: recent, retentionDays: 1 }]);
    clock.now += SETTLE;
    // Past its retention, within the grace: continuing after it serves what is still kept.
    expect((await log.list(tenantId, {})).items.map((event) => event.id)).toEqual([recent.id]);
    expect((await log.list(tenantId, { after: old.id })).items.map((event) => event.id)).toEqual([recent.id]);
    clock.now += 8 * 86_400_000;
    await expect(log.list(tenantId, { after: old.id })).rejects.toThrow(NotFoundError);
  });

  it('keeps a QR only until it expires, and its id as a cursor for the retention', async () => {
    const { log, clock } = logWithClocks();
    const tenantId = newId('tenant');
    const channelId = newId('channel');
    const expiresAt = new Date(clock.now + 20_000).toISOString();
    const qr = platformEvent('channel.qr', { tenantId, channelId }, { qr: 'SECRET-QR', expiresAt });
    const stale = platformEvent(
      'channel.qr',
      { tenantId, channelId },
      { qr: 'OLD-QR', expiresAt: new Date(clock.now - 1).toISOString() },
    );
    const status = statusEvent(tenantId, channelId);
    expect(
      await log.append([
        { event: qr, retentionDays: 30 },
        { event: stale, retentionDays: 30 },
      ]),
    ).toEqual(['recorded', 'expired']);
    clock.now += 10;
    await log.append([{ event: status, retentionDays: 30 }]);
    clock.now += SETTLE;
    expect((await log.list(tenantId, {})).items.map((event) => event.id)).toEqual([qr.id, status.id]);
    clock.now = Date.parse(expiresAt);
    const after = await log.list(tenantId, {});
    expect(after.items.map((event) => event.id)).toEqual([status.id]);
    expect(JSON.stringify(after)).not.toContain('SECRET-QR');
    expect((await log.list(tenantId, { after: qr.id })).items.map((event) => event.id)).toEqual([status.id]);
    const [stored] = await storedCopies(tenantId);
    expect(stored?.expiresAt).toBe(Math.ceil(Date.parse(expiresAt) / 1000));
  });

  it('filters by type and channel, and fills pages past what the filter leaves out', async () => {
    const { log, clock } = logWithClocks();
    const tenantId = newId('tenant');
    const [one, two] = [newId('channel'), newId('channel')];
    const events: PlatformEvent[] = [];
    for (let i = 0; i < 12; i++) {
      const event =
        i % 3 === 0
          ? platformEvent('channel.logged_out', { tenantId, channelId: i % 2 ? one : two }, { reason: 'x' })
          : statusEvent(tenantId, i % 2 ? one : two);
      events.push(event);
      await log.append([{ event, retentionDays: 30 }]);
      clock.now += 1;
    }
    clock.now += SETTLE;
    const ids = (predicate: (event: PlatformEvent) => boolean) =>
      events.filter(predicate).map((event) => event.id);
    expect(await everything(log, tenantId, { types: ['channel.logged_out'] })).toEqual(
      ids((event) => event.type === 'channel.logged_out'),
    );
    const page = await log.list(tenantId, { channelId: one, types: ['channel.status'], limit: 100 });
    expect(page.items.map((event) => event.id)).toEqual(
      ids((event) => event.channelId === one && event.type === 'channel.status'),
    );
    expect(page.nextCursor).toBeNull();
  });

  it('never serves another tenant’s events, nor continues after another tenant’s event or cursor', async () => {
    const { log, clock } = logWithClocks();
    const [a, b] = [newId('tenant'), newId('tenant')];
    const theirs = statusEvent(b);
    const ours = statusEvent(a);
    await log.append([
      { event: theirs, retentionDays: 30 },
      { event: ours, retentionDays: 30 },
    ]);
    clock.now += SETTLE;
    expect(await everything(log, a)).toEqual([ours.id]);
    await expect(log.list(a, { after: theirs.id })).rejects.toThrow(NotFoundError);
    await expect(log.list(a, { after: newId('event') })).rejects.toThrow(NotFoundError);
    const theirCursor = Buffer.from(
      JSON.stringify({ pk: tenantPartition(b), sk: `EVLOG#${'0'.repeat(13)}#${theirs.id}` }),
    ).toString('base64url');
    await expect(log.list(a, { cursor: theirCursor })).rejects.toThrow(ValidationError);
    await expect(log.list(a, { cursor: 'not-a-cursor' })).rejects.toThrow(ValidationError);
  });

  it('takes an event id whose item says nothing usable as absent', async () => {
    const { log } = logWithClocks();
    const tenantId = newId('tenant');
    const event = statusEvent(tenantId);
    await log.append([{ event, retentionDays: 30 }]);
    await platform.client.send(
      new UpdateCommand({
        TableName: platform.resources.platformTable,
        Key: eventIdKey(tenantId, event.id),
        UpdateExpression: 'SET #position = :bad',
        ExpressionAttributeNames: { '#position': 'position' },
        ExpressionAttributeValues: { ':bad': 'nonsense' },
      }),
    );
    await expect(log.list(tenantId, { after: event.id })).rejects.toThrow(NotFoundError);
  });
});
