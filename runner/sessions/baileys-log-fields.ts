import { maskPhoneNumbersInText } from '#shared/domain/phone-number.ts';
import { REDACTED } from '#shared/observability.ts';
import { attributesSkeleton, maskedAddress, stanzaSkeleton } from './stanza-skeleton.ts';

/**
 * What a Baileys log object may bring into our logs. Baileys logs stanzas, message keys, errors with
 * their data and whatever else a call site had at hand, and patients' names (`notify`, pushName),
 * numbers and message content ride along. So a field passes only when it is known here, and then
 * only in a form that cannot carry them: errors as name, code and message with numbers masked;
 * stanzas as skeletons; addresses masked; ids, protocol words, counts and flags as they are.
 * Anything else keeps its name and loses its value.
 */
export function baileysLogFields(fields: Record<string, unknown>): Record<string, unknown> {
  const safe: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (!FIELD_NAME.test(name) || value === undefined) continue;
    const shape = SHAPES[name];
    // `key` is a message's key here, but key material to our logger, which would drop it.
    safe[name === 'key' ? 'messageKey' : name] = shape ? shape(value) : unknownField(value);
  }
  return safe;
}

/** The error a Baileys log object is about, if any. */
export function errorOf(fields: Record<string, unknown>): unknown {
  return fields.error ?? fields.err ?? fields.e;
}

type Shape = (value: unknown) => unknown;

const FIELD_NAME = /^[A-Za-z_$][\w$]{0,63}$/;
const TOKEN = /^[\w.:-]{1,64}$/;
const MAX_LIST = 10;
const MAX_FRAMES = 10;

const error: Shape = (value) => {
  if (typeof value === 'string') return maskPhoneNumbersInText(value);
  if (!(value instanceof Error)) {
    const message = (value as { message?: unknown } | null)?.message;
    return typeof message === 'string' ? { message: maskPhoneNumbersInText(message) } : REDACTED;
  }
  const { code, data, output } = value as {
    code?: unknown;
    data?: unknown;
    output?: { statusCode?: unknown };
  };
  return {
    name: TOKEN.test(value.name) ? value.name : 'Error',
    message: maskPhoneNumbersInText(value.message),
    ...(typeof output?.statusCode === 'number' ? { statusCode: output.statusCode } : {}),
    ...(typeof code === 'string' && TOKEN.test(code) ? { code } : typeof code === 'number' ? { code } : {}),
    ...(typeof data === 'number' ? { data } : {}),
    ...(value.stack ? { stack: stackFrames(value.stack) } : {}),
  };
};

/** The frames of a stack trace (its first line repeats the message, masked on its own). */
function stackFrames(stack: string): string {
  return stack
    .split('\n')
    .filter((line) => /^\s*at /.test(line))
    .slice(0, MAX_FRAMES)
    .map((line) => maskPhoneNumbersInText(line.trim()))
    .join('\n');
}

/** A stack trace Baileys logs on its own: the error's first line, masked, and its frames. */
const trace: Shape = (value) => {
  if (typeof value !== 'string') return REDACTED;
  const [first = ''] = value.split('\n', 1);
  const frames = stackFrames(value);
  return /^\s*at /.test(first) ? frames : `${maskPhoneNumbersInText(first)}\n${frames}`;
};

const stanza: Shape = (value) => stanzaSkeleton(value);

const attributes: Shape = (value) =>
  typeof value === 'object' && value !== null
    ? attributesSkeleton(value as Record<string, unknown>).trim()
    : REDACTED;

const address: Shape = (value) => {
  if (Array.isArray(value)) return list(value, address);
  if (typeof value !== 'string') return REDACTED;
  return maskedAddress(value) ?? (/^\+?\d{1,20}$/.test(value) ? maskPhoneNumbersInText(value) : REDACTED);
};

const token: Shape = (value) => {
  if (Array.isArray(value)) return list(value, token);
  return typeof value === 'string' && TOKEN.test(value) ? maskPhoneNumbersInText(value) : REDACTED;
};

const text: Shape = (value) => (typeof value === 'string' ? maskPhoneNumbersInText(value) : REDACTED);

const numberOrFlag: Shape = (value) =>
  typeof value === 'number' || typeof value === 'boolean' ? value : REDACTED;

const messageKey: Shape = (value) => {
  if (typeof value !== 'object' || value === null) return REDACTED;
  const key = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(MESSAGE_KEY_FIELDS)
      .filter(([name]) => key[name] !== undefined && key[name] !== null)
      .map(([name, shape]) => [name, shape(key[name])]),
  );
};

function list(values: unknown[], shape: Shape): unknown[] {
  const shown = values.slice(0, MAX_LIST).map(shape);
  return values.length > MAX_LIST ? [...shown, `[${values.length - MAX_LIST} more]`] : shown;
}

/** A flag is a flag; a whole number below 10⁷ is too short for a phone number and is no coordinate. */
function unknownField(value: unknown): unknown {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 1e7) return value;
  return REDACTED;
}

const MESSAGE_KEY_FIELDS: Record<string, Shape> = {
  id: token,
  fromMe: numberOrFlag,
  remoteJid: address,
  remoteJidAlt: address,
  participant: address,
  participantAlt: address,
  addressingMode: token,
};

const SHAPES: Record<string, Shape> = {
  ...Object.fromEntries(['err', 'error', 'e', 'ackErr', 'uploadError'].map((name) => [name, error])),
  trace,
  ...Object.fromEntries(
    ['node', 'fullErrorNode', 'reasonNode', 'payloadNode', 'child', 'frame', 'groupNode', 'recv', 'xml'].map(
      (name) => [name, stanza],
    ),
  ),
  attrs: attributes,
  msgAttrs: attributes,
  ...Object.fromEntries(
    [
      'jid',
      'jids',
      'from',
      'to',
      'sender',
      'senderAlt',
      'author',
      'participant',
      'participants',
      'remoteJid',
      'lid',
      'pn',
      'fromJid',
      'chatId',
      'user',
      'meId',
      'meLid',
      'myPN',
      'myLID',
      'ownId',
      'storageJid',
      'targetUser',
      'contactId',
      'lidUser',
      'pnUser',
      'destinationJid',
      'recipient',
      'deviceJids',
      'wireJids',
      'senderKeyJids',
      'jidsRequiringFetch',
    ].map((name) => [name, address]),
  ),
  key: messageKey,
  messageKey,
  ...Object.fromEntries(
    [
      'id',
      'ids',
      'msgId',
      'messageId',
      'messageIds',
      'requestId',
      'tag',
      'type',
      'class',
      'messageType',
      'reason',
      'operation',
      'opName',
      'platform',
      'unavailableType',
      'recreateReason',
      'enforcementType',
      'bufferedType',
      'newType',
      'errorCode',
      'keyType',
    ].map((name) => [name, token]),
  ),
  msg: text,
  ...Object.fromEntries(
    [
      'count',
      'retryCount',
      'attempt',
      'length',
      'offset',
      'remaining',
      'cacheSize',
      'bufferCount',
      'userCount',
      'mutationCount',
      'requestedCount',
      'timestamp',
      'messageAge',
      'fromTimestamp',
      'senderTimestamp',
      'newDuration',
      'timeEnforcementEnds',
      'device',
      'statusCode',
      'version',
      'fromMe',
    ].map((name) => [name, numberOrFlag]),
  ),
};
