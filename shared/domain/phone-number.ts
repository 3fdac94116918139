import { ValidationError } from './errors.ts';

/** E.164: a plus, a country code that does not start with 0, 8 to 15 digits in all. */
const E164 = /^\+[1-9]\d{7,14}$/;

export type PhoneNumber = string & { readonly __brand: 'E164' };

export function isPhoneNumber(value: string): value is PhoneNumber {
  return E164.test(value);
}

export function parsePhoneNumber(value: string, field = 'phoneNumber'): PhoneNumber {
  if (!isPhoneNumber(value)) {
    const message = `${field} must be an E.164 phone number such as +5511987654321`;
    throw new ValidationError(message, [{ field, message }], 'invalid_phone_number');
  }
  return value;
}

/**
 * Keeps the country code's first digits and the last four, which is enough to tell numbers apart in
 * a log without exposing a patient's number (LGPD).
 */
export function maskPhoneNumber(digitsOrE164: string): string {
  const plus = digitsOrE164.startsWith('+') ? '+' : '';
  const digits = digitsOrE164.slice(plus.length);
  if (digits.length <= 6) return `${plus}${'*'.repeat(digits.length)}`;
  return `${plus}${digits.slice(0, 2)}${'*'.repeat(digits.length - 6)}${digits.slice(-4)}`;
}
