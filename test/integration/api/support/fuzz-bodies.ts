// Request bodies for fuzzing: valid ones per route (so requests get past validation and reach the use
// cases), the same with one field broken, arbitrary JSON, and bytes that are not JSON at all.
import fc from 'fast-check';
import { MAX_JSON_BODY_BYTES } from '#functions/http/api-router.ts';
import { MAX_REQUEST_BODY_BYTES } from '#functions/http/edge-limits.ts';
import { API_KEY_SCOPES } from '#shared/domain/api-key.ts';

type Json = fc.JsonValue;

/** Message ids a body may name (replies, reactions): the actor's own, others', absent ones. */
export interface BodyIds {
  readonly messageIds: fc.Arbitrary<string>;
}

export const e164 = fc.stringMatching(/^\+[1-9]\d{7,14}$/);
const text = (maxLength: number) =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
  );
const name = (maxLength: number) =>
  fc.oneof({ weight: 4, arbitrary: fc.string({ minLength: 1, maxLength }) }, text(maxLength));

const link = fc.oneof(
  { weight: 6, arbitrary: fc.webUrl({ validSchemes: ['https', 'http'] }) },
  fc.constantFrom(
    'https://example.com/a.jpg',
    'ftp://example.com/a',
    'javascript:alert(1)',
    'https://',
    'http://[::1]:80/',
  ),
  // Long links: a URL has no length limit of its own, but a queue message and a stored item do.
  fc.integer({ min: 2_000, max: 400_000 }).map((length) => `https://example.com/${'a'.repeat(length)}`),
);

/** Media by exactly one of a link or an upload id, as the schema wants. */
const media = fc
  .tuple(
    fc.oneof(fc.record({ link }), fc.record({ mediaId: fc.string({ minLength: 1, maxLength: 100 }) })),
    fc.record(
      {
        caption: text(1024),
        filename: name(255),
        mimeType: fc.constantFrom(
          'image/jpeg',
          'application/pdf',
          'audio/ogg; codecs=opus',
          'x',
          'video/mp4',
        ),
      },
      { requiredKeys: [] },
    ),
  )
  .map(([source, details]) => ({ ...source, ...details }));

const contact = fc.record({
  name: fc.record({ formattedName: name(200) }),
  phones: fc.array(
    fc.record(
      { phone: fc.string({ minLength: 3, maxLength: 32 }), type: fc.string({ maxLength: 20 }) },
      { requiredKeys: ['phone'] },
    ),
    { minLength: 1, maxLength: 10 },
  ),
});

function outboundContent(ids: BodyIds): fc.Arbitrary<Record<string, Json>> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        type: fc.constant('text'),
        text: fc.record({ body: name(4096) }),
      }),
    },
    ...(['image', 'document', 'audio', 'video'] as const).map((type) =>
      fc.record({ type: fc.constant(type), [type]: media }),
    ),
    fc.record({
      type: fc.constant('location'),
      location: fc.record(
        {
          latitude: fc.double({ min: -90, max: 90, noNaN: true }),
          longitude: fc.double({ min: -180, max: 180, noNaN: true }),
          name: text(200),
          address: text(500),
        },
        { requiredKeys: ['latitude', 'longitude'] },
      ),
    }),
    fc.record({
      type: fc.constant('contacts'),
      contacts: fc.array(contact, { minLength: 1, maxLength: 10 }),
    }),
    fc.record({
      type: fc.constant('reaction'),
      reaction: fc.record({
        messageId: ids.messageIds,
        emoji: fc.string({ unit: 'grapheme', maxLength: 4 }),
      }),
    }),
  ) as fc.Arbitrary<Record<string, Json>>;
}

/** A body each route takes, generated from what its schema asks for. */
export function validBody(operationId: string, ids: BodyIds): fc.Arbitrary<Json> | undefined {
  switch (operationId) {
    case 'createTenant':
      return fc.record(
        { name: name(200), retentionDays: fc.integer({ min: 1, max: 3650 }) },
        { requiredKeys: ['name'] },
      );
    case 'createApiKey':
    case 'createOwnApiKey':
      return fc.record({ name: name(100), scopes: fc.subarray([...API_KEY_SCOPES], { minLength: 1 }) });
    case 'createChannel':
      return fc.record({ name: name(100) });
    case 'connectChannel':
      return fc.oneof(
        fc.constant({ method: 'qr' }),
        fc.record({ method: fc.constant('pairing_code'), phoneNumber: e164 }),
      );
    case 'checkContacts':
      return fc.record({ phoneNumbers: fc.array(e164, { minLength: 1, maxLength: 50 }) });
    case 'sendMessage':
      return fc
        .tuple(
          fc.record(
            { to: e164, context: fc.record({ messageId: ids.messageIds }) },
            { requiredKeys: ['to'] },
          ),
          outboundContent(ids),
        )
        .map(([envelope, content]) => ({ ...envelope, ...content }));
    default:
      return undefined;
  }
}

/** Every place in a JSON value, as a path of keys and indexes (the root is `[]`). */
function placesOf(value: Json, path: (string | number)[] = []): (string | number)[][] {
  const places = [path];
  const children: [string | number, Json][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : value && typeof value === 'object'
      ? Object.entries(value).map(([key, inner]) => [key, inner as Json])
      : [];
  for (const [key, inner] of children) places.push(...placesOf(inner, [...path, key]));
  return places;
}

type Mutation = 'replace' | 'remove' | 'add';

/** `value` with the thing at one of its places replaced, removed, or given an unknown sibling key. */
function mutate(value: Json, pick: number, mutation: Mutation, replacement: Json): Json {
  const places = placesOf(value);
  const path = places[pick % places.length] ?? [];
  if (path.length === 0) return mutation === 'replace' ? replacement : value;
  const copy = structuredClone(value) as Record<string | number, Json>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
  const last = path.at(-1) as string | number;
  if (mutation === 'replace') parent[last] = replacement;
  else if (mutation === 'remove') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else if (!Array.isArray(parent)) parent[`unexpected_${String(last)}`] = replacement;
  return copy;
}

/** Values of every JSON type, with the edges a parser or a store might trip on. */
const wrongValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<Json>(
    null,
    true,
    0,
    -1,
    1e308,
    -1e-308,
    '',
    ' ',
    '\u0000',
    [],
    {},
    [[[]]],
    '__proto__',
    'x'.repeat(5_000),
  ),
  fc.string({ unit: 'binary', maxLength: 300 }),
);

/** Bytes that are not the JSON they claim to be. */
const notJson: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom(
    '{',
    '{"name":',
    '{"name":"x",}',
    "{'name':'x'}",
    '{"name":NaN}',
    '\uFEFF{"name":"x"}',
    '{"name":"x"}{"name":"y"}',
    '{"name":"x" /* comment */}',
    'null',
    '"{\\"name\\":\\"x\\"}"',
    '{"__proto__":{"polluted":true},"name":"x"}',
    '{"constructor":{"prototype":{"polluted":true}},"name":"x"}',
    '{"name":"a","name":{"b":1}}',
  ),
  // Invalid UTF-8 inside a string of otherwise valid JSON.
  fc.constant(
    Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}')]),
  ),
);

/** Nesting deep enough to exhaust a recursive parser or validator. */
const deeplyNested = fc
  .tuple(fc.integer({ min: 100, max: 200_000 }), fc.boolean())
  .map(([depth, asField]) => {
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    return asField ? `{"name":${nested}}` : nested;
  });

/** Around the JSON routes' 1 MiB limit, the largest body a Lambda event carries, and API Gateway's 10 MB. */
const huge = fc
  .constantFrom(
    MAX_JSON_BODY_BYTES - 64,
    MAX_JSON_BODY_BYTES + 1,
    3 * MAX_JSON_BODY_BYTES,
    MAX_REQUEST_BODY_BYTES,
    MAX_REQUEST_BODY_BYTES + 1,
    11 * MAX_JSON_BODY_BYTES,
  )
  .map((size) => `{"name":"${'x'.repeat(Math.max(0, size - 11))}"}`);

/**
 * The body of a request to a route. Canonical: a valid one where the route takes a body, none where
 * it does not. Odd: one field broken, anything at all (also where no body is taken), none, or huge.
 */
export function bodyFor(
  operationId: string | undefined,
  ids: BodyIds,
  odd: boolean,
): fc.Arbitrary<string | Uint8Array | undefined> {
  const valid = operationId ? validBody(operationId, ids) : undefined;
  if (!odd) return valid ? valid.map((body) => JSON.stringify(body)) : fc.constant(undefined);
  const anything = fc.oneof(
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null') },
    { weight: 3, arbitrary: notJson },
    { weight: 1, arbitrary: deeplyNested },
    { weight: 1, arbitrary: fc.constant('') },
  );
  if (!valid) return anything;
  const broken = fc
    .tuple(valid, fc.nat(), fc.constantFrom<Mutation>('replace', 'remove', 'add'), wrongValue)
    .map(
      ([body, pick, mutation, replacement]) =>
        JSON.stringify(mutate(body, pick, mutation, replacement)) ?? 'null',
    );
  return fc.oneof(
    { weight: 8, arbitrary: broken },
    { weight: 3, arbitrary: anything },
    { weight: 1, arbitrary: huge },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}
