import { maskPhoneNumber } from '#shared/domain/phone-number.ts';

/**
 * A stanza as a log may show it: tags, attribute names, and only the attribute values that cannot
 * hold patient data — masked addresses, status codes, message ids, a few protocol words. Content is
 * reduced to its size. `notify` (the sender's push name), `t`, anything else: name only.
 *
 * Baileys logs stanzas as nodes or already printed (`binaryNodeToString`, `<tag k='v'>…`). A printed
 * attribute value can contain `' k='` itself, so nothing read from print is trusted because of the
 * attribute it seems to belong to: every kept value must have a shape a person's name or message
 * cannot take, wherever it came from.
 */
export function stanzaSkeleton(stanza: unknown, depth = 0): string {
  if (typeof stanza === 'string') return printedSkeleton(stanza);
  if (!isNode(stanza)) return '[not a stanza]';
  const open = `<${safeTag(stanza.tag)}${attributesSkeleton(stanza.attrs ?? {})}`;
  const content = stanza.content;
  if (content === undefined || content === null) return `${open}/>`;
  return `${open}>${contentSkeleton(content, depth)}</${safeTag(stanza.tag)}>`;
}

/** The attributes of a stanza, as ` name='value'` for the values kept and ` name` for the others. */
export function attributesSkeleton(attributes: Record<string, unknown>): string {
  return Object.entries(attributes)
    .filter(([name]) => ATTRIBUTE_NAME.test(name))
    .map(([name, value]) => {
      const safe = typeof value === 'string' ? safeAttributeValue(name, value) : undefined;
      return safe === undefined ? ` ${name}` : ` ${name}='${safe}'`;
    })
    .join('');
}

/** A user@server address with its user masked, or undefined when `value` is not one. */
export function maskedAddress(value: string): string | undefined {
  const address = ADDRESS.exec(value);
  if (!address) return SERVERS.has(value) ? value : undefined;
  const [, user = '', device = '', server = ''] = address;
  return SERVERS.has(server) ? `${maskPhoneNumber(user)}${device}@${server}` : undefined;
}

interface Node {
  readonly tag: string;
  readonly attrs?: Record<string, unknown>;
  readonly content?: unknown;
}

const MAX_DEPTH = 6;
const MAX_CHILDREN = 20;
const ATTRIBUTE_NAME = /^[a-z][\w:-]{0,40}$/i;
const ADDRESS = /^(\d{1,20})((?:[:_.]\d{1,5})*)@([a-z.]{2,20})$/;
const SERVERS = new Set(['s.whatsapp.net', 'c.us', 'g.us', 'lid', 'broadcast', 'newsletter', 'call']);
const CODE = /^\d{1,4}$/;
/** Message ids: hex with a letter in it (`3EB0…`, `A5D3…`), or an iq's `<n>.<n>-<n>`. */
const MESSAGE_ID = /^(?=.*[A-F])[0-9A-F]{12,64}$|^\d{1,6}\.\d{1,6}-\d{1,6}$/;
/** Words of the protocol: stanza, encryption and receipt types, stream error reasons. */
const PROTOCOL_WORDS = new Set([
  'text',
  'media',
  'reaction',
  'pkmsg',
  'msg',
  'skmsg',
  'plaintext',
  'get',
  'set',
  'result',
  'error',
  'notification',
  'available',
  'unavailable',
  'read',
  'read-self',
  'played',
  'sender',
  'inactive',
  'retry',
  'delivery',
  'server-error',
  'replaced',
  'device_removed',
  'message',
  'receipt',
  'call',
  'presence',
  'iq',
]);

function safeAttributeValue(name: string, value: string): string | undefined {
  const address = maskedAddress(value);
  if (address !== undefined) return address;
  if ((name === 'code' || name === 'v' || name === 'count') && CODE.test(value)) return value;
  if (name === 'id' && MESSAGE_ID.test(value)) return value;
  if ((name === 'type' || name === 'class') && PROTOCOL_WORDS.has(value)) return value;
  return undefined;
}

function contentSkeleton(content: unknown, depth: number): string {
  if (content instanceof Uint8Array) return `[${content.byteLength} bytes]`;
  if (typeof content === 'string') return `[${content.length} chars]`;
  if (!Array.isArray(content)) return '[content]';
  if (depth >= MAX_DEPTH) return `[${content.length} children]`;
  const shown = content.slice(0, MAX_CHILDREN).map((child) => stanzaSkeleton(child, depth + 1));
  const more = content.length - shown.length;
  return shown.join('') + (more > 0 ? `[${more} more]` : '');
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as Node).tag === 'string';
}

function safeTag(tag: string): string {
  return ATTRIBUTE_NAME.test(tag) ? tag : '?';
}

const PRINTED_TAG = /<(\/?)([^\s/>]+)((?:\s+[^\s=/>]+='[^']*')*)\s*(\/?)>/g;
const PRINTED_ATTRIBUTE = /([^\s=]+)='([^']*)'/g;

/** The skeleton of a printed stanza: its tags with their attributes, text between them dropped. */
function printedSkeleton(printed: string): string {
  const parts: string[] = [];
  for (const [, closing, tag = '', attributes = '', selfClosing] of printed.matchAll(PRINTED_TAG)) {
    if (closing) {
      parts.push(`</${safeTag(tag)}>`);
      continue;
    }
    const values = Object.fromEntries(
      [...attributes.matchAll(PRINTED_ATTRIBUTE)].map(([, name = '', value = '']) => [name, value]),
    );
    parts.push(`<${safeTag(tag)}${attributesSkeleton(values)}${selfClosing ? '/>' : '>'}`);
  }
  return parts.length > 0 ? parts.join('') : '[not a stanza]';
}
