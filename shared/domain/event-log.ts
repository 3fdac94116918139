import { z } from 'zod';
import {
  EVENT_SOURCES,
  EVENT_TYPES,
  type EventType,
  PAIRING_SECRET_EVENTS,
  PAIRING_SECRET_VALIDITY_MS,
  type PlatformEvent,
} from './events.ts';
import { type IdKind, isId } from './ids.ts';

// The event log (`GET /v1/events`): a tenant's events in the order they ARRIVED, so a client can
// page through everything after an event id it has seen. Event ids are made by many runners whose
// clocks differ, and events arrive late, so ids do not give that order: each event is stored at a
// position made of the recorder's clock when it arrived and the id (ties between two events of one
// millisecond are broken by id).
//
// Positions are taken before the write and the writes of concurrent recorders land in any order, so
// a reader that read up to "now" could pass a position whose write lands a moment later: a gap
// nobody would ever see again. So:
//  - a reader sees only positions older than `settleMs` (the settle window): `visibleUpTo`;
//  - a writer measures its write (the time from taking the position to DynamoDB's answer) and, when
//    it took longer than half the window, stores the event once more at a new position (`isLateWrite`).
// A write that answered within settleMs/2 of its position was committed before any reader could see
// that position, even with the reader's clock up to settleMs/2 ahead of the writer's. A late one may
// have been missed by a reader: its copy at the new position is seen by every reader from then on.
// A read that spans both copies serves the first only (`isServedBy`); a client that saw the first
// and reads on from between them gets the event twice (rare, and receivers dedupe by id); nobody
// misses it. An event id given as `after` continues from its FIRST position: from the second, a
// client that saw the first would skip what arrived between them.

/** Default settle window: readers trail the newest arrivals by this much. docs/api.md says why. */
export const DEFAULT_SETTLE_MS = 5_000;
/** How long an event id stays usable as `after` once its event is past the tenant's retention. */
export const CURSOR_GRACE_DAYS = 7;

const DAY_MS = 24 * 3600_000;
/** Milliseconds since the epoch, zero-padded: positions sort as strings in time order. */
const TIME_DIGITS = 13;
const POSITION = /^\d{13}#evt_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Where an event that arrived at `arrivalMs` sits in its tenant's log. */
export function positionAt(arrivalMs: number, eventId: string): string {
  return `${String(Math.max(0, Math.floor(arrivalMs))).padStart(TIME_DIGITS, '0')}#${eventId}`;
}

export function isPosition(value: string): boolean {
  return POSITION.test(value);
}

/** When the event at `position` arrived (ms since the epoch). */
export function arrivalOf(position: string): number {
  return Number(position.slice(0, TIME_DIGITS));
}

/**
 * The greatest position a reader may see at `nowMs`: every position of a millisecond at least
 * `settleMs` old (`~` sorts after every event id, so the whole millisecond is included).
 */
export function visibleUpTo(nowMs: number, settleMs: number): string {
  return `${String(Math.max(0, Math.floor(nowMs - settleMs))).padStart(TIME_DIGITS, '0')}#~`;
}

/**
 * The smallest position after `position`: every position has the same length, so `position` plus
 * any character sorts after it and before every greater position.
 */
export function justAfter(position: string): string {
  return `${position}#`;
}

/** A stored copy of an event as a read finds it; `firstPosition` only on a copy written again. */
export interface StoredCopy {
  readonly eventId: string;
  readonly position: string;
  readonly firstPosition?: string;
}

/**
 * Whether a read of the positions from `from` on (continuing after the event `afterEventId`, when
 * it does) serves this copy. Two kinds are left out, losing nothing:
 *  - copies of the event the read continues after: the client has that event (and a read that
 *    continues after it can never end on it again, so paging after the last id always moves on);
 *  - a copy written again whose first position lies in this same read: the first copy is in it,
 *    committed before the second's position was taken, so before this read could see either.
 * A read that starts between the two copies serves the second one: a duplicate for a client that
 * saw the first, the price of not missing it.
 */
export function isServedBy(copy: StoredCopy, read: { from: string; afterEventId?: string }): boolean {
  if (copy.eventId === read.afterEventId) return false;
  return copy.firstPosition === undefined || copy.firstPosition < read.from;
}

/** Whether a write that took `elapsedMs` from its position to DynamoDB's answer must be written again. */
export function isLateWrite(elapsedMs: number, settleMs: number): boolean {
  return elapsedMs > settleMs / 2;
}

function isPairingSecret(type: EventType): boolean {
  return (PAIRING_SECRET_EVENTS as readonly EventType[]).includes(type);
}

/** The longest any pairing secret is valid: nothing keeps one longer, whatever its `expiresAt` says. */
const LONGEST_PAIRING_SECRET_MS = Math.max(...Object.values(PAIRING_SECRET_VALIDITY_MS));

/**
 * When a QR or pairing code stops being servable (ms): its `expiresAt` (the runner's clock, as the
 * channel's own QR uses it), and never later than the longest validity after it arrived.
 */
function secretExpiresAt(event: PlatformEvent, arrivalMs: number): number {
  const declared = Date.parse(String((event.data as { expiresAt?: unknown }).expiresAt));
  const cap = arrivalMs + LONGEST_PAIRING_SECRET_MS;
  return Number.isFinite(declared) ? Math.min(declared, cap) : arrivalMs;
}

/**
 * When the stored event is deleted (epoch seconds, DynamoDB's TTL): after the tenant's retention, or
 * for a pairing secret when it expires. null: not to be stored at all (a secret expired on arrival).
 */
export function eventExpiry(event: PlatformEvent, arrivalMs: number, retentionDays: number): number | null {
  if (isPairingSecret(event.type)) {
    const expiresAt = secretExpiresAt(event, arrivalMs);
    return expiresAt > arrivalMs ? Math.ceil(expiresAt / 1000) : null;
  }
  return Math.ceil((arrivalMs + retentionDays * DAY_MS) / 1000);
}

/**
 * When an event id stops being accepted as `after` (epoch seconds): the tenant's retention plus
 * `CURSOR_GRACE_DAYS`, for every type (the id item holds no secret; a client whose last event was a
 * QR must still be able to continue after it).
 */
export function cursorExpiry(arrivalMs: number, retentionDays: number): number {
  return Math.ceil((arrivalMs + (retentionDays + CURSOR_GRACE_DAYS) * DAY_MS) / 1000);
}

/**
 * Whether a stored event may still be served at `nowMs`: DynamoDB deletes expired items lazily
 * (within days), so a reader checks the expiry itself, and a pairing secret's own `expiresAt` to
 * the millisecond.
 */
export function isServable(event: PlatformEvent, expiresAtSeconds: number, nowMs: number): boolean {
  if (expiresAtSeconds * 1000 <= nowMs) return false;
  if (!isPairingSecret(event.type)) return true;
  const declared = Date.parse(String((event.data as { expiresAt?: unknown }).expiresAt));
  return Number.isFinite(declared) && declared > nowMs;
}

// ---- The events the recorder takes --------------------------------------------------------

const idOf = (kind: IdKind) =>
  z
    .string()
    .max(40, { abort: true })
    .refine((value) => isId(kind, value), `must be a ${kind} id`);

/**
 * A platform event as publishers send it (shared/domain/events.ts). `data` is kept as it came: the
 * log stores what was published. A pairing secret must say when it expires.
 */
export const platformEventSchema = z
  // An object, not a loose one: what it does not name is left out, the runner's internal `sequence`
  // with it (the log keeps the public event: `publicEventOf`).
  .object({
    id: idOf('event'),
    type: z.enum(EVENT_TYPES),
    createdAt: z.iso.datetime(),
    tenantId: idOf('tenant'),
    channelId: idOf('channel').nullable(),
    data: z.record(z.string(), z.unknown()),
  })
  .superRefine((event, context) => {
    if (isPairingSecret(event.type) && !z.iso.datetime().safeParse(event.data.expiresAt).success) {
      context.addIssue({ code: 'custom', path: ['data', 'expiresAt'], message: 'a pairing secret expires' });
    }
  });

/** What EventBridge delivers to an SQS target: the event as the `detail`, its type as `detail-type`. */
export const eventBridgeEnvelopeSchema = z
  .object({
    'detail-type': z.string(),
    source: z.enum(Object.values(EVENT_SOURCES)),
    detail: platformEventSchema,
  })
  .refine((envelope) => envelope['detail-type'] === envelope.detail.type, {
    path: ['detail-type'],
    message: 'must be the type of the detail',
  });
