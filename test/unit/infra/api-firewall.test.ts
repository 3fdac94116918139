// The web ACL's Content-Length rule compares digits, not numbers: its regular expression must match
// exactly the values over the limit, however written. (The web ACL itself is in api-stack.test.ts.)
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_REQUEST_BODY_BYTES } from '#functions/http/edge-limits.ts';
import { decimalAbove } from '#infra/constructs/api-firewall.construct.ts';

const over = (limit: number) => new RegExp(decimalAbove(limit));

describe('decimalAbove', () => {
  const pattern = over(MAX_REQUEST_BODY_BYTES);
  const limit = MAX_REQUEST_BODY_BYTES;

  it('matches the limit + 1 and not the limit', () => {
    expect(pattern.test(String(limit + 1))).toBe(true);
    expect(pattern.test(String(limit))).toBe(false);
    expect(pattern.test(String(limit - 1))).toBe(false);
  });

  it('matches every 8- and 9-digit value, and 7-digit ones only above the limit', () => {
    for (const value of ['10000000', '99999999', '100000000', '999999999', '12345678901234567890']) {
      expect(pattern.test(value), value).toBe(true);
    }
    for (const value of ['9999999', '5000000', '4400000', '4330000', '4325400', '4325380', '4325377']) {
      expect(pattern.test(value), value).toBe(true);
    }
    for (const value of ['1000000', '4000000', '4325376', '4325369', '4325299', '4319999', '0', '1', '']) {
      expect(pattern.test(value), value).toBe(false);
    }
  });

  it('reads leading zeros as the number they pad', () => {
    expect(pattern.test(`0${limit + 1}`)).toBe(true);
    expect(pattern.test(`0000000000${limit + 1}`)).toBe(true);
    expect(pattern.test(`00${limit}`)).toBe(false);
    expect(pattern.test('00000000000000000001')).toBe(false);
    expect(pattern.test('010000000')).toBe(true);
    expect(pattern.test('0009999999')).toBe(true);
  });

  it('matches nothing but a whole number: no sign, space, fraction or anything around it', () => {
    for (const value of [
      `+${limit + 1}`,
      `-${limit + 1}`,
      ` ${limit + 1}`,
      `${limit + 1} `,
      `${limit + 1}.0`,
      `${limit + 1}x`,
      `1e9`,
      `${limit + 1},${limit + 1}`,
    ]) {
      expect(pattern.test(value), value).toBe(false);
    }
  });

  it('uses what AWS WAF takes: anchored alternatives, no group, within its 512 characters', () => {
    const source = decimalAbove(MAX_REQUEST_BODY_BYTES);
    expect(source.length).toBeLessThanOrEqual(512);
    expect(source).not.toContain('(');
    for (const alternative of source.split('|')) expect(alternative).toMatch(/^\^0\*.*\$$/);
  });

  it('agrees with a numeric comparison for any limit and any value, zero-padded or not', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.bigInt({ min: 0n, max: 10n ** 17n }),
        fc.nat({ max: 5 }),
        (limitValue, value, zeros) => {
          const text = `${'0'.repeat(zeros)}${value}`;
          expect(over(Number(limitValue)).test(text), `${text} > ${limitValue}`).toBe(value > limitValue);
        },
      ),
      { numRuns: 2_000 },
    );
    // Values near the limit, where a wrong digit position would show.
    fc.assert(
      fc.property(fc.integer({ min: -2_000, max: 2_000 }), (offset) => {
        const value = limit + offset;
        expect(pattern.test(String(value)), String(value)).toBe(value > limit);
      }),
    );
  });

  it('handles limits of nines and zeros, where no same-length number or every one is greater', () => {
    expect(over(9_999_999).test('9999999')).toBe(false);
    expect(over(9_999_999).test('10000000')).toBe(true);
    expect(over(0).test('0')).toBe(false);
    expect(over(0).test('1')).toBe(true);
    expect(over(1_000_000).test('1000001')).toBe(true);
    expect(over(1_000_000).test('1000000')).toBe(false);
  });
});
