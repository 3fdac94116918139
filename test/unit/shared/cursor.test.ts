import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '#shared/aws/dynamo/cursor.ts';
import { ValidationError } from '#shared/domain/errors.ts';
import { pageSize } from '#shared/domain/pagination.ts';

const channels = {
  partition: { pk: 'TENANT#ten_a' },
  keyAttributes: ['pk', 'sk'],
  sortKeyPrefix: 'CHANNEL#',
};
const tenants = { partition: { gsi1pk: 'TENANTS' }, keyAttributes: ['pk', 'sk', 'gsi1pk', 'gsi1sk'] };

function refusal(cursor: string, shape: Parameters<typeof decodeCursor>[1]): string | undefined {
  try {
    decodeCursor(cursor, shape);
    return undefined;
  } catch (error) {
    return (error as ValidationError).code;
  }
}

describe('list cursors', () => {
  it('round-trips the key of the last item', () => {
    const key = { pk: 'TENANT#ten_a', sk: 'CHANNEL#chn_b' };
    expect(decodeCursor(encodeCursor(key), channels)).toEqual(key);
    const tenant = { pk: 'TENANT#ten_b', sk: 'TENANT', gsi1pk: 'TENANTS', gsi1sk: 'ten_b' };
    expect(decodeCursor(encodeCursor(tenant), tenants)).toEqual(tenant);
  });

  it("refuses a cursor made for another tenant's partition", () => {
    const cursor = encodeCursor({ pk: 'TENANT#ten_other', sk: 'CHANNEL#chn_b' });
    expect(() => decodeCursor(cursor, channels)).toThrow(ValidationError);
  });

  it('refuses garbage and foreign attributes with invalid_cursor', () => {
    for (const cursor of [
      '%%%',
      Buffer.from('[1,2]').toString('base64url'),
      encodeCursor({ pk: 'TENANT#ten_a', evil: 'x' }),
    ]) {
      expect(refusal(cursor, channels)).toBe('invalid_cursor');
    }
  });

  it('refuses a key DynamoDB would refuse to start from: missing or extra attributes, empty or oversized values', () => {
    const refused = [
      [{ pk: 'TENANT#ten_a' }, channels],
      [{ pk: 'TENANT#ten_a', sk: 'CHANNEL#chn_b', gsi1pk: 'SHARD#1' }, channels],
      [{ pk: 'TENANT#ten_a', sk: `CHANNEL#${'é'.repeat(600)}` }, channels],
      [{ gsi1pk: 'TENANTS' }, tenants],
      [{ pk: 'TENANT#ten_b', sk: '', gsi1pk: 'TENANTS', gsi1sk: 'ten_b' }, tenants],
      [{ pk: 'TENANT#ten_b', sk: 'TENANT', gsi1pk: 'TENANTS', gsi1sk: 1 }, tenants],
    ] as const;
    for (const [key, shape] of refused) {
      expect(
        refusal(encodeCursor(key as unknown as Record<string, string>), shape),
        JSON.stringify(key),
      ).toBe('invalid_cursor');
    }
  });

  it("refuses a sort key outside the list's range", () => {
    expect(refusal(encodeCursor({ pk: 'TENANT#ten_a', sk: 'APIKEY#key_b' }), channels)).toBe(
      'invalid_cursor',
    );
  });

  it('bounds the page size to 1..100', () => {
    expect(pageSize({})).toBe(20);
    expect(pageSize({ limit: 100 })).toBe(100);
    expect(() => pageSize({ limit: 101 })).toThrow(ValidationError);
    expect(() => pageSize({ limit: 0 })).toThrow(ValidationError);
  });
});
