import { describe, expect, it } from 'vitest';
import { maskPhoneNumber, maskPhoneNumbersInText } from '#shared/domain/phone-number.ts';

describe('phone numbers in text', () => {
  it('masks a number in E.164, as digits, and as the user of a JID or Signal address', () => {
    expect(maskPhoneNumbersInText('to +5511987654321')).toBe('to +55*******4321');
    expect(maskPhoneNumbersInText('5511987654321')).toBe('55*******4321');
    expect(maskPhoneNumbersInText('5511987654321:3@s.whatsapp.net')).toBe('55*******4321:3@s.whatsapp.net');
    expect(maskPhoneNumbersInText('86512345678552@lid')).toBe('86********8552@lid');
    expect(maskPhoneNumbersInText('at Object.5511912345678_1.0 [as awaitable]')).toBe(
      'at Object.55*******5678_1.0 [as awaitable]',
    );
    expect(maskPhoneNumbersInText('https://wa.me/5511922234567')).toBe('https://wa.me/55*******4567');
  });

  it('masks numbers written for people: spaces, dashes, parentheses, and local numbers', () => {
    const written = {
      '+55 11 91234-5678': '+55*******5678',
      '+55 (11) 91234-5678': '+55*******5678',
      '(11) 91234-5678': '11*****5678',
      '11 91234-5678': '11*****5678',
      '11 9 1234 5678': '11*****5678',
      '91234-5678': '*******78',
      '1234-5678': '******78',
      '912345678': '*******78',
      '12345678': '******78',
      '+1 415-555-2671': '+14*****2671',
      '+44 20 7946 0958': '+44******0958',
    };
    for (const [number, masked] of Object.entries(written)) {
      expect(maskPhoneNumbersInText(`ligue ${number}.`)).toBe(`ligue ${masked}.`);
    }
    expect(maskPhoneNumbersInText('TEL;type=CELL;waid=5521987651234:+55 21 98765-1234')).toBe(
      'TEL;type=CELL;waid=55*******1234:+55*******1234',
    );
  });

  it('keeps what operators need: times, ports, shards, counts, versions, ids, decimals, dates', () => {
    const kept = [
      '2026-11-30T20:58:26.727Z',
      '2026-11-30 20:58:26',
      '30-11-2026',
      '30/11/2026',
      'expires at 1733000000000',
      '127.0.0.1:8081',
      'port 8081 and 4566',
      'shard 12 fence 3',
      'retrying in 30000ms',
      'status 515',
      '[2048 bytes]',
      '1234567 items',
      '2.3000.1023223821',
      'v2.3000.1023223821',
      '3f2a9c1e-1b2c-4d5e-8f90-123456789abc',
      'chn_01M8Q419HF39DVAV26P1ZRTJT3',
      '3EB02A38BA25C93F2D41D3BC776D9750',
      '29901.9509-9',
      '-22.9068467,-43.1728965',
      'arn:aws:sqs:sa-east-1:123456789012:clinic-wa-recorder',
      '123456789012345678901',
    ];
    for (const text of kept) expect(maskPhoneNumbersInText(text)).toBe(text);
  });

  it('masks a time in seconds inside text: it has the shape of a landline with its area code', () => {
    expect(maskPhoneNumbersInText('t=1734567890')).toBe('t=17****7890');
  });

  it('shows the last two digits of a local number and the last four of a full one', () => {
    expect(maskPhoneNumber('+5511987654321')).toBe('+55*******4321');
    expect(maskPhoneNumber('912345678')).toBe('*******78');
    expect(maskPhoneNumber('123456')).toBe('******');
  });
});
