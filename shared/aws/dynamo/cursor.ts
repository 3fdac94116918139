import { ValidationError } from '../../domain/errors.ts';

// A cursor is the key of the last item of a page, base64url JSON. Decoding checks it is a key the
// list's query can start from: the partition being queried (so a cursor cannot be replayed against
// another tenant's partition), exactly the key attributes of the table or index read, and sort keys
// inside the list's range. Anything else DynamoDB would refuse with a ValidationException: a fault
// of ours to the client, when it is the cursor that is wrong.

type ItemKey = Record<string, string>;

/** What a list's cursor must be to start its query. */
export interface CursorShape {
  /** The attributes the query's partition is named by, and their values. */
  readonly partition: ItemKey;
  /** Every key attribute of the table or index read (DynamoDB wants all of them, and no others). */
  readonly keyAttributes: readonly string[];
  /** What the list's sort keys begin with (a key outside it would fail the query). */
  readonly sortKeyPrefix?: string;
}

/** DynamoDB's limit for a sort key (partition keys are compared with the expected ones); none is empty. */
const MAX_KEY_BYTES = 1024;

export function encodeCursor(key: ItemKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string, shape: CursorShape): ItemKey {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!isKeyOf(key, shape.keyAttributes)) throw invalidCursor();
  for (const [attribute, value] of Object.entries(shape.partition)) {
    if (key[attribute] !== value) throw invalidCursor();
  }
  if (shape.sortKeyPrefix !== undefined && !key.sk?.startsWith(shape.sortKeyPrefix)) throw invalidCursor();
  return key;
}

function isKeyOf(value: unknown, attributes: readonly string[]): value is ItemKey {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return (
    entries.length === attributes.length &&
    entries.every(
      ([name, v]) =>
        attributes.includes(name) &&
        typeof v === 'string' &&
        v.length > 0 &&
        Buffer.byteLength(v) <= MAX_KEY_BYTES,
    )
  );
}

export function invalidCursor(): ValidationError {
  const message = 'cursor is not one this API returned for this list';
  return new ValidationError(message, [{ field: 'cursor', message }], 'invalid_cursor');
}
