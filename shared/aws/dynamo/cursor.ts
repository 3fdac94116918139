import { ValidationError } from '../../domain/errors.ts';

// A cursor is the key of the last item of a page, base64url JSON. Decoding checks it names the
// partition being queried, so a cursor cannot be replayed against another tenant's partition.

type ItemKey = Record<string, string>;
const KEY_ATTRIBUTES = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk']);

export function encodeCursor(key: ItemKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** `sortKeyPrefix`: what the list's sort keys begin with (a key outside it would fail the query). */
export function decodeCursor(cursor: string, expectedPartition: ItemKey, sortKeyPrefix?: string): ItemKey {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!isItemKey(key)) throw invalidCursor();
  for (const [attribute, value] of Object.entries(expectedPartition)) {
    if (key[attribute] !== value) throw invalidCursor();
  }
  if (sortKeyPrefix !== undefined && !key.sk?.startsWith(sortKeyPrefix)) throw invalidCursor();
  return key;
}

function isItemKey(value: unknown): value is ItemKey {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  const lengthOk = entries.every(([, v]) => typeof v === 'string' && v.length <= 1024);
  if (!lengthOk) return false;
  return (
    entries.length > 0 && entries.every(([name, v]) => KEY_ATTRIBUTES.has(name) && typeof v === 'string')
  );
}

function invalidCursor(): ValidationError {
  const message = 'cursor is not one this API returned for this list';
  return new ValidationError(message, [{ field: 'cursor', message }], 'invalid_cursor');
}
