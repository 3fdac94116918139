import { encodeTime, monotonicFactory } from 'ulid';

// Public ids are opaque strings: a short type prefix (so a misplaced id is obvious in a log or a
// support ticket) and a ULID (so ids sort by creation time, which list pages rely on).

export const ID_PREFIXES = {
  tenant: 'ten',
  apiKey: 'key',
  channel: 'chn',
  event: 'evt',
  message: 'msg',
  command: 'cmd',
  media: 'med',
  webhook: 'whk',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ULID_PATTERN = '[0-9A-HJKMNP-TV-Z]{26}';

/** Monotonic: ids made in the same millisecond still sort in the order they were made. */
const ulid = monotonicFactory();

export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${ulid(now)}`;
}

/** Sorts after every id of `kind` made before `at` and before every one made from then on. */
export function idsMadeBefore(kind: IdKind, at: number): string {
  return `${ID_PREFIXES[kind]}_${encodeTime(at, 10)}`;
}

export function isId(kind: IdKind, value: string): boolean {
  return new RegExp(`^${ID_PREFIXES[kind]}_${ULID_PATTERN}$`).test(value);
}

/** The ULID part of an id, used where a fixed-width form is needed (API key layout). */
export function idBody(id: string): string {
  return id.slice(id.indexOf('_') + 1);
}
