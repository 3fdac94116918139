// The event recorder's handler on fakes: which records fail alone, what it appends, the tenant cache.
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEventRecorder, TenantRetentionCache } from '#functions/consumers/event-recorder.ts';
import { type PlatformEvent, platformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import type { EventLogEntry, EventLogOutcome } from '#shared/ports.ts';

const context = { awsRequestId: 'req-1', functionName: 'recorder' } as Context;

function recordOf(body: unknown, messageId = newId('command'), receiveCount = '1'): SQSRecord {
  return {
    messageId,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: receiveCount },
  } as SQSRecord;
}

const envelope = (event: PlatformEvent) => ({
  version: '0',
  id: 'eb-1',
  'detail-type': event.type,
  source: 'clinic-wa.runner',
  detail: event,
});

function fakes(outcome: EventLogOutcome = 'recorded') {
  const appended: EventLogEntry[] = [];
  const lookups: string[] = [];
  const retention = new Map<string, number | null>();
  return {
    appended,
    lookups,
    retention,
    deps: {
      eventLog: {
        append: async (entries: readonly EventLogEntry[]) => {
          if (entries.some((entry) => (entry.event.data as { failHere?: boolean }).failHere))
            throw new Error('DynamoDB is down');
          appended.push(...entries);
          return entries.map(() => outcome);
        },
        list: async () => ({ items: [], nextCursor: null }),
      },
      tenantRetention: {
        retentionOf: async (tenantId: string) => {
          lookups.push(tenantId);
          return retention.has(tenantId) ? (retention.get(tenantId) ?? null) : 30;
        },
      },
    },
  };
}

describe('the event recorder', () => {
  beforeEach(() => {
    // Its log lines and EMF documents, kept out of the test's output.
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => vi.restoreAllMocks());

  it('appends each event with its tenant’s retention and the message id as its writer', async () => {
    const { deps, appended, retention } = fakes();
    const tenantId = newId('tenant');
    retention.set(tenantId, 7);
    const event = platformEvent('channel.logged_out', { tenantId, channelId: null }, { reason: 'x' });
    const record = recordOf(envelope(event));
    const answer = await createEventRecorder(deps)({ Records: [record] } as SQSEvent, context);
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(appended).toEqual([{ event, retentionDays: 7, writer: record.messageId }]);
  });

  it('keeps the public event: a runner event’s place in its channel’s order stays out of the log', async () => {
    const { deps, appended } = fakes();
    const tenantId = newId('tenant');
    const event = platformEvent(
      'channel.logged_out',
      { tenantId, channelId: newId('channel') },
      { reason: 'x' },
    );
    const record = recordOf(envelope({ ...event, sequence: { epoch: 3, seq: 8 } }));
    await createEventRecorder(deps)({ Records: [record] } as SQSEvent, context);
    expect(appended.map((entry) => entry.event)).toEqual([event]);
    expect(appended[0]?.event).not.toHaveProperty('sequence');
  });

  it('fails alone a record that is not an event, or whose append failed; the others succeed', async () => {
    const { deps, appended } = fakes();
    const tenantId = newId('tenant');
    const good = platformEvent('channel.logged_out', { tenantId, channelId: null }, { reason: 'x' });
    const failing = platformEvent('channel.logged_out', { tenantId, channelId: null }, {
      reason: 'y',
      failHere: true,
    } as never);
    const records = [
      recordOf('not json'),
      recordOf({ 'detail-type': 'channel.qr', source: 'clinic-wa.runner', detail: { id: 'evt_x' } }),
      recordOf(envelope(failing)),
      recordOf(envelope(good)),
    ];
    const answer = await createEventRecorder(deps)({ Records: records } as SQSEvent, context);
    expect(answer.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(
      records.slice(0, 3).map((record) => record.messageId),
    );
    expect(appended.map((entry) => entry.event.id)).toEqual([good.id]);
  });

  it('drops the events of a tenant absent or being erased, as done', async () => {
    const { deps, appended, retention } = fakes();
    const gone = newId('tenant');
    retention.set(gone, null);
    const event = platformEvent('channel.logged_out', { tenantId: gone, channelId: null }, { reason: 'x' });
    const answer = await createEventRecorder(deps)(
      { Records: [recordOf(envelope(event))] } as SQSEvent,
      context,
    );
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(appended).toEqual([]);
  });

  it('throws when the whole batch failed (Lambda retries it; its Errors metric counts it)', async () => {
    const { deps } = fakes();
    await expect(
      createEventRecorder(deps)({ Records: [recordOf('x'), recordOf('y')] } as SQSEvent, context),
    ).rejects.toMatchObject({ name: 'FullBatchFailureError' });
  });
});

describe('the tenant retention cache', () => {
  it('reads a tenant once per 5 minutes, an absent one once per 30 s, and forgets the oldest past its size', async () => {
    let now = 0;
    const reads: string[] = [];
    const cache = new TenantRetentionCache(
      {
        retentionOf: async (tenantId) => {
          reads.push(tenantId);
          return tenantId.startsWith('gone') ? null : 30;
        },
      },
      { clock: () => now },
      2,
    );
    await cache.of('a');
    await cache.of('gone');
    now = 29_999;
    await cache.of('a');
    await cache.of('gone');
    expect(reads).toEqual(['a', 'gone']);
    now = 30_000;
    expect(await cache.of('gone')).toBeNull();
    expect(reads).toEqual(['a', 'gone', 'gone']);
    now = 300_000;
    expect(await cache.of('a')).toBe(30);
    expect(reads).toEqual(['a', 'gone', 'gone', 'a']);
    // Two entries at most: a third tenant pushes out the oldest (gone), not the one just read (a).
    await cache.of('b');
    await cache.of('a');
    expect(reads).toEqual(['a', 'gone', 'gone', 'a', 'b']);
  });
});
