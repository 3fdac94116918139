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
 * a log without exposing a patient's number (LGPD). A number too short to hold a country code (a
 * local number) keeps only its last two digits.
 */
export function maskPhoneNumber(digitsOrE164: string): string {
  const plus = digitsOrE164.startsWith('+') ? '+' : '';
  const digits = digitsOrE164.slice(plus.length);
  if (digits.length <= 6) return `${plus}${'*'.repeat(digits.length)}`;
  if (digits.length < 10) return `${plus}${'*'.repeat(digits.length - 2)}${digits.slice(-2)}`;
  return `${plus}${digits.slice(0, 2)}${'*'.repeat(digits.length - 6)}${digits.slice(-4)}`;
}

/**
 * 10–15 digits in a row (after an optional +) are a number in E.164 or the user of a WhatsApp JID
 * or Signal address, whatever punctuation surrounds them (`5511…:3@s.whatsapp.net`, `5511….0`).
 * Not the last part of a version (`2.3000.1023223821`), nor the AWS account of an ARN.
 */
const LONG_RUN = /(?<![A-Za-z0-9]|\d\.|\barn:[\w-]+:[\w-]+:[\w-]*:)\+?\d{10,15}(?!\d)/g;
/** A run of 13 starting with 1 is a time in milliseconds: no number in E.164 has that shape. */
const EPOCH_MILLISECONDS = /^1\d{12}$/;

/**
 * A number written for people: an optional +country, an optional (area), then groups of digits
 * joined by single spaces or dashes (`+55 11 91234-5678`, `(11) 91234-5678`, `91234-5678`), or a
 * bare local number of 8–9 digits. Never next to a letter, digit, `:` or `/`, nor a `.` that is part
 * of a number (a + may follow a `:` or `=`, as in a vCard's TEL), so decimals, versions, addresses,
 * times and paths are left alone.
 */
const WRITTEN =
  /(?:(?<![\w+])\+\d{1,3}[ -]?|(?<![\w.:/+-]))(?:\(\d{1,4}\) ?)?\d{1,9}(?:[ -]\d{1,5})*(?![\w:/-]|\.\d|[ -]\d)/g;

/**
 * Masks everything in free text that may be a phone number (log messages, error messages, stack
 * traces), in any of the forms above. What is kept on purpose: ISO dates and times, times in
 * milliseconds, ports, shard numbers, counts, durations and sizes below 8 digits, ids with letters in
 * them, decimals. A 10-digit time in seconds is masked: it cannot be told from a landline with its
 * area code (area codes 17 and 18 exist); log times as ISO strings or as numbers, not inside text.
 */
export function maskPhoneNumbersInText(text: string): string {
  return text
    .replace(LONG_RUN, (run) => (EPOCH_MILLISECONDS.test(run) ? run : maskPhoneNumber(run)))
    .replace(WRITTEN, (written) => (isWrittenPhoneNumber(written) ? maskWritten(written) : written));
}

function isWrittenPhoneNumber(written: string): boolean {
  const digits = written.replace(/\D/g, '');
  if (digits.length < 8 || digits.length > 15) return false;
  if (written.startsWith('+') || written.includes('(')) return true;
  const groups = written.split(/[ -]/);
  if (groups.length === 1) return digits.length <= 9;
  if (digits.length >= 10) return true;
  // 8–9 digits in groups: a local number ends in four digits after a group of three or more
  // (`1234-5678`, `9 1234-5678`); a date does not (`30-11-2026`, `2026-11-30`).
  const [last, previous] = [groups.at(-1) ?? '', groups.at(-2) ?? ''];
  return last.length === 4 && previous.length >= 3;
}

function maskWritten(written: string): string {
  return maskPhoneNumber(`${written.startsWith('+') ? '+' : ''}${written.replace(/\D/g, '')}`);
}
