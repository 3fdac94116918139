import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '#shared/aws/dynamo/cursor.ts';
import { ValidationError } from '#shared/domain/errors.ts';
import { pageSize } from '#shared/domain/pagination.ts';

describe('list cursors', () => {
  it('round-trips the key of the last item', () => {
    const key = { pk: 'TENANT#ten_a', sk: 'CHANNEL#chn_b' };
    expect(decodeCursor(encodeCursor(key), { pk: 'TENANT#ten_a' })).toEqual(key);
  });

  it("refuses a cursor made for another tenant's partition", () => {
    const cursor = encodeCursor({ pk: 'TENANT#ten_other', sk: 'CHANNEL#chn_b' });
    expect(() => decodeCursor(cursor, { pk: 'TENANT#ten_a' })).toThrow(ValidationError);
  });

  it('refuses garbage and foreign attributes with invalid_cursor', () => {
    for (const cursor of [
      '%%%',
      Buffer.from('[1,2]').toString('base64url'),
      encodeCursor({ pk: 'TENANT#ten_a', evil: 'x' }),
    ]) {
      try {
        decodeCursor(cursor, { pk: 'TENANT#ten_a' });
        expect.unreachable();
      } catch (error) {
        expect((error as ValidationError).code).toBe('invalid_cursor');
      }
    }
  });

  it('bounds the page size to 1..100', () => {
    expect(pageSize({})).toBe(20);
    expect(pageSize({ limit: 100 })).toBe(100);
    expect(() => pageSize({ limit: 101 })).toThrow(ValidationError);
    expect(() => pageSize({ limit: 0 })).toThrow(ValidationError);
  });
});
