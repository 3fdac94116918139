// The event log's ordering rules (shared/domain/event-log.ts): positions, the readers' cut, the
// writers' rewrite, expiries; and a model of concurrent writers and polling readers that holds the
// rules to their promise: every event is seen, and nothing twice unless a write was late.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CURSOR_GRACE_DAYS,
  cursorExpiry,
  eventBridgeEnvelopeSchema,
  eventExpiry,
  isLateWrite,
  isPosition,
  isServable,
  isServedBy,
  justAfter,
  positionAt,
  type StoredCopy,
  visibleUpTo,
} from '#shared/domain/event-log.ts';
import { type PlatformEvent, platformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const DAY_MS = 24 * 3600_000;
const scope = { tenantId: newId('tenant'), channelId: newId('channel') };

function status(at = T0): PlatformEvent {
  return platformEvent(
    'channel.status',
    scope,
    { status: 'open', previousStatus: 'connecting' },
    new Date(at),
  );
}

function qr(expiresAt: number, at = T0): PlatformEvent {
  return platformEvent(
    'channel.qr',
    scope,
    { qr: 'SECRET', expiresAt: new Date(expiresAt).toISOString() },
    new Date(at),
  );
}

describe('positions', () => {
  it('sort by arrival, then by event id, whatever the ids say about creation', () => {
    // Made by a runner an hour behind and one an hour ahead: the first arrived a millisecond later.
    const behind = 'evt_01JNJ3000000000000000000AA';
    const ahead = 'evt_01JNJB000000000000000000AA';
    const positions = [
      positionAt(T0 + 1, behind),
      positionAt(T0, ahead),
      positionAt(T0, behind.replace('AA', 'AB')),
    ];
    expect([...positions].sort()).toEqual([
      positionAt(T0, behind.replace('AA', 'AB')),
      positionAt(T0, ahead),
      positionAt(T0 + 1, behind),
    ]);
    for (const position of positions) expect(isPosition(position)).toBe(true);
    expect(new Set(positions.map((position) => position.length)).size).toBe(1);
  });

  it('continue right after a position: past it, before every later one', () => {
    const ids = [newId('event', T0), newId('event', T0), newId('event', T0 + 1)];
    const [first, second, third] = ids.map((id, i) => positionAt(T0 + (i === 2 ? 1 : 0), id)) as [
      string,
      string,
      string,
    ];
    expect(justAfter(first) > first).toBe(true);
    expect(justAfter(first) < second).toBe(true);
    expect(justAfter(second) < third).toBe(true);
  });

  it('are visible once their millisecond is a whole settle window old, every event of it at once', () => {
    const settle = 5_000;
    const at = positionAt(T0, newId('event', T0));
    const next = positionAt(T0 + 1, newId('event', T0));
    expect(at <= visibleUpTo(T0 + settle - 1, settle)).toBe(false);
    expect(at <= visibleUpTo(T0 + settle, settle)).toBe(true);
    expect(positionAt(T0, 'evt_ZZZZZZZZZZZZZZZZZZZZZZZZZZ') <= visibleUpTo(T0 + settle, settle)).toBe(true);
    expect(next <= visibleUpTo(T0 + settle, settle)).toBe(false);
  });

  it('call a write late past half the window', () => {
    expect(isLateWrite(2_500, 5_000)).toBe(false);
    expect(isLateWrite(2_501, 5_000)).toBe(true);
  });
});

describe('expiry', () => {
  it('keeps an event for the tenant’s retention from its arrival, and its id a grace period longer', () => {
    expect(eventExpiry(status(T0 - DAY_MS), T0, 30)).toBe((T0 + 30 * DAY_MS) / 1000);
    expect(cursorExpiry(T0, 30)).toBe((T0 + (30 + CURSOR_GRACE_DAYS) * DAY_MS) / 1000);
  });

  it('keeps a QR or pairing code only until it expires, never longer than three minutes after arrival', () => {
    expect(eventExpiry(qr(T0 + 20_000), T0, 30)).toBe((T0 + 20_000) / 1000);
    expect(eventExpiry(qr(T0 + 20_000_000), T0, 30)).toBe((T0 + 180_000) / 1000);
    expect(eventExpiry(qr(T0 - 1), T0, 30)).toBeNull();
    expect(eventExpiry(qr(T0), T0, 30)).toBeNull();
    const code = platformEvent(
      'channel.pairing_code',
      scope,
      {
        pairingCode: 'ABCD-EFGH',
        phoneNumber: '+5511987654321',
        expiresAt: new Date(T0 + 60_000).toISOString(),
      },
      new Date(T0),
    );
    expect(eventExpiry(code, T0, 30)).toBe((T0 + 60_000) / 1000);
  });

  it('serves nothing past its expiry, and a pairing secret not a millisecond past its own', () => {
    const secret = qr(T0 + 20_500);
    const expiresAt = eventExpiry(secret, T0, 30) as number;
    expect(isServable(secret, expiresAt, T0 + 20_499)).toBe(true);
    expect(isServable(secret, expiresAt, T0 + 20_500)).toBe(false);
    expect(isServable(status(), (T0 + 1000) / 1000, T0 + 999)).toBe(true);
    expect(isServable(status(), (T0 + 1000) / 1000, T0 + 1000)).toBe(false);
  });
});

describe('the envelope the recorder parses', () => {
  const envelope = (detail: unknown, detailType: string = (detail as PlatformEvent).type) => ({
    version: '0',
    id: 'eb-1',
    'detail-type': detailType,
    source: 'clinic-wa.runner',
    account: '123456789012',
    time: new Date(T0).toISOString(),
    region: 'us-east-1',
    resources: [],
    detail,
  });

  it('takes every platform event as published, its data untouched', () => {
    const event = platformEvent(
      'message.received',
      scope,
      {
        messageId: newId('message'),
        from: { phoneNumber: '+5511987654321', lid: null, name: null },
        timestamp: new Date(T0).toISOString(),
        type: 'text',
        content: { text: { body: 'Olá' }, extra: [1, { nested: true }] },
      },
      new Date(T0),
    );
    expect(eventBridgeEnvelopeSchema.parse(envelope(event)).detail).toEqual(event);
    expect(
      eventBridgeEnvelopeSchema.parse(envelope({ ...event, channelId: null })).detail.channelId,
    ).toBeNull();
  });

  it('refuses what is not one, naming where', () => {
    const paths = (value: unknown) => {
      const result = eventBridgeEnvelopeSchema.safeParse(value);
      return result.success ? [] : result.error.issues.map((issue) => issue.path.join('.'));
    };
    const event = status();
    expect(paths(envelope({ ...event, type: 'channel.teleported' }, 'channel.teleported'))).toEqual([
      'detail.type',
    ]);
    expect(paths(envelope(event, 'message.received'))).toEqual(['detail-type']);
    expect(paths(envelope({ ...event, id: 'evt_1' }))).toEqual(['detail.id']);
    expect(paths(envelope({ ...event, tenantId: newId('channel') }))).toEqual(['detail.tenantId']);
    expect(paths({ ...envelope(event), source: 'someone.else' })).toEqual(['source']);
    expect(paths(envelope({ ...qr(T0 + 1000), data: { qr: 'x' } }))).toEqual(['detail.data.expiresAt']);
    expect(paths({ eventId: 'x' })).toEqual(['detail-type', 'source', 'detail']);
  });
});

// ---- A model of the log: writers that commit late, readers that poll with skewed clocks ---------

interface Write {
  /** Real time the writer took its position. */
  readonly start: number;
  /** The writer's clock minus real time. */
  readonly skew: number;
  /** Real time from the position to the commit, and from the commit to the writer hearing of it. */
  readonly commitDelay: number;
  readonly answerDelay: number;
}

interface Stored extends StoredCopy {
  readonly committedAt: number;
}

const SETTLE = 1_000;

/** Stores each event as DynamoEventLog does; returns what lands when, and each id's first position. */
function runWriters(writes: readonly (Write & { rewrites: readonly Write[] })[]) {
  const stored: Stored[] = [];
  const firstPosition = new Map<string, string>();
  const rewritten = new Set<string>();
  for (const [i, write] of writes.entries()) {
    const eventId = `evt_${String(i).padStart(26, '0')}`;
    let attempt: Write = write;
    for (let n = 0; ; n++) {
      const position = positionAt(attempt.start + attempt.skew, eventId);
      const first = firstPosition.get(eventId);
      if (first === undefined) firstPosition.set(eventId, position);
      stored.push({
        position,
        eventId,
        committedAt: attempt.start + attempt.commitDelay,
        ...(first === undefined ? {} : { firstPosition: first }),
      });
      const elapsed = attempt.commitDelay + attempt.answerDelay;
      if (!isLateWrite(elapsed, SETTLE)) break;
      rewritten.add(eventId);
      // The next write starts when the writer heard of the late one; past the given ones, in time.
      const next = write.rewrites[n] ?? { start: 0, skew: 0, commitDelay: 0, answerDelay: 0 };
      attempt = { ...next, start: attempt.start + elapsed, skew: write.skew };
    }
  }
  return { stored, firstPosition, rewritten };
}

/**
 * A client polling at `polls` (real times, its clock's skews), `pageSize` at a time, as docs/api.md
 * tells it to: each poll starts `after` the last event it got, and pages on with `nextCursor`.
 */
function poll(
  log: ReturnType<typeof runWriters>,
  polls: readonly { at: number; skew: number }[],
  pageSize: number,
): string[] {
  const seen: string[] = [];
  let last: string | undefined;
  for (const { at, skew } of polls) {
    const upTo = visibleUpTo(at + skew, SETTLE);
    let cursor: string | undefined;
    for (let pages = 0; ; pages++) {
      if (pages > 1_000) throw new Error('paging does not move on');
      const read =
        cursor !== undefined
          ? { from: justAfter(cursor) }
          : last === undefined
            ? { from: '' }
            : { from: justAfter(log.firstPosition.get(last) as string), afterEventId: last };
      const page = log.stored
        .filter((copy) => copy.committedAt <= at && copy.position >= read.from && copy.position <= upTo)
        .sort((a, b) => a.position.localeCompare(b.position))
        .filter((copy) => isServedBy(copy, read))
        .slice(0, pageSize);
      for (const copy of page) seen.push(copy.eventId);
      if (page.length > 0) last = page.at(-1)?.eventId;
      if (page.length < pageSize) break;
      cursor = page.at(-1)?.position;
    }
  }
  return seen;
}

/** Clocks agree within a quarter of the window either way (half of it between any two), often at the edge. */
const skew = fc.oneof(
  fc.constantFrom(-SETTLE / 4, SETTLE / 4),
  fc.integer({ min: -SETTLE / 4, max: SETTLE / 4 }),
);

const write = (maxDelay: number) =>
  fc.record({
    start: fc.integer({ min: 1_000, max: 3_000 }),
    skew,
    // Mostly quick; some around half the window (the rule's edge), some far beyond it.
    commitDelay: fc.oneof(
      fc.integer({ min: 0, max: 50 }),
      fc.integer({ min: SETTLE / 2 - 50, max: SETTLE / 2 + 50 }),
      fc.integer({ min: 0, max: maxDelay }),
    ),
    answerDelay: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 })),
  });

describe('concurrent writers and polling readers (model)', () => {
  it('lose no event, and serve none twice unless its write was late', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(write(4 * SETTLE), fc.array(write(4 * SETTLE), { maxLength: 2 })), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.array(
          fc.record({
            at: fc.integer({ min: 1_000, max: 9_000 }),
            skew,
          }),
          { maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 7 }),
        (generated, polls, pageSize) => {
          const log = runWriters(generated.map(([first, rewrites]) => ({ ...first, rewrites })));
          // A last poll long after everything landed: what the client has then is all it gets.
          const ordered = [...polls].sort((a, b) => a.at - b.at);
          const seen = poll(log, [...ordered, { at: 60_000, skew: 0 }], pageSize);
          const ids = [...log.firstPosition.keys()];
          expect(new Set(seen)).toEqual(new Set(ids));
          if (log.rewritten.size === 0) expect(seen).toHaveLength(ids.length);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('would lose an event without the settle window, or without writing a late one again (controls)', () => {
    // No window: a reader at t = 200 sees the second event and passes the first, landing at 400.
    const racing = runWriters([
      { start: 1_000, skew: 0, commitDelay: 400, answerDelay: 0, rewrites: [] },
      { start: 1_100, skew: 0, commitDelay: 0, answerDelay: 0, rewrites: [] },
    ]);
    const eager = racing.stored.filter(
      (copy) => copy.committedAt <= 1_200 && copy.position <= visibleUpTo(1_200, 0),
    );
    expect(eager.map((copy) => copy.eventId)).toEqual(['evt_00000000000000000000000001']);

    // A write landing two windows late, never written again: a reader with the window passes it too.
    const late = { start: 1_000, skew: 0, commitDelay: 2 * SETTLE, answerDelay: 0 };
    const stored: Stored[] = [
      {
        position: positionAt(1_000, 'evt_00000000000000000000000000'),
        eventId: 'evt_00000000000000000000000000',
        committedAt: late.start + late.commitDelay,
      },
      {
        position: positionAt(1_010, 'evt_00000000000000000000000001'),
        eventId: 'evt_00000000000000000000000001',
        committedAt: 1_010,
      },
    ];
    const at = 1_010 + SETTLE;
    const visible = stored.filter(
      (copy) => copy.committedAt <= at && copy.position <= visibleUpTo(at, SETTLE),
    );
    expect(visible.map((copy) => copy.eventId)).toEqual(['evt_00000000000000000000000001']);
    // The rule writes it again, and a client continuing after what it saw gets it.
    expect(isLateWrite(late.commitDelay, SETTLE)).toBe(true);
    const rewritten = runWriters([
      { ...late, rewrites: [] },
      { start: 1_010, skew: 0, commitDelay: 0, answerDelay: 0, rewrites: [] },
    ]);
    expect(
      poll(
        rewritten,
        [
          { at, skew: 0 },
          { at: 60_000, skew: 0 },
        ],
        10,
      ).sort(),
    ).toEqual(['evt_00000000000000000000000000', 'evt_00000000000000000000000001']);
  });
});
