// Generated requests to the API: any route of the table (and paths of none), filled with the acting
// tenant's real ids, other tenants' ids, absent and malformed ones, encoded every which way; any
// method; odd headers, query strings, cursors and bodies. Each prints compactly when it fails.
import fc from 'fast-check';
import { ROUTES, type RouteSpec } from '#functions/http/routes.ts';
import { ID_PREFIXES, type IdKind } from '#shared/domain/ids.ts';
import { bodyFor, e164, validBody } from './fuzz-bodies.ts';
import type { RawRequest } from './raw-http.ts';
import type { TenantFixture } from './tenant-fixtures.ts';

export interface FuzzRequest extends RawRequest {
  /** The fuzzing tenant whose key (or a mangled form of it) the request carries. */
  readonly actor: number;
}

/** Who acts and whom the acts must not reach. */
export interface FuzzCast {
  /** Each acts with its `key` on its own ids. */
  readonly actors: readonly TenantFixture[];
  /** Tenants that only ever appear as targets. */
  readonly bystanders: readonly TenantFixture[];
  /** The routes to aim at (all by default). */
  readonly routes?: readonly RouteSpec[];
}

const OTHER_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'get', 'FOO'];

const PARAM_KINDS: Record<string, IdKind> = {
  tenantId: 'tenant',
  keyId: 'apiKey',
  channelId: 'channel',
  messageId: 'message',
  checkId: 'command',
  webhookId: 'webhook',
};

const absentId = (kind: IdKind) => fc.ulid().map((ulid) => `${ID_PREFIXES[kind]}_${ulid}`);

const channelIds = (tenant: TenantFixture) => Object.values(tenant.channels);
const messageIds = (tenant: TenantFixture) => [...tenant.messages.outbound, tenant.messages.inbound];

function ownIds(param: string, route: RouteSpec, actor: TenantFixture): string[] {
  switch (param) {
    case 'tenantId':
      return [actor.tenantId];
    case 'keyId':
      return [actor.keyId];
    case 'channelId':
      // Deleting the channels other requests aim at would leave the rest of the run nothing to reach.
      return route.operationId === 'deleteChannel'
        ? [actor.channels.disposable]
        : [actor.channels.sendable, actor.channels.sendable, actor.channels.idle];
    case 'messageId':
      return messageIds(actor);
    default:
      return [];
  }
}

function foreignIds(param: string, others: readonly TenantFixture[]): string[] {
  return others.flatMap((other) => {
    switch (param) {
      case 'tenantId':
        return [other.tenantId];
      case 'keyId':
        return [other.keyId];
      case 'channelId':
        return channelIds(other);
      case 'messageId':
        return messageIds(other);
      default:
        return [];
    }
  });
}

/** Values that are not ids of the kind asked for: wrong kinds, near misses, path tricks, junk. */
function malformedId(actor: TenantFixture): fc.Arbitrary<string> {
  const near = [actor.channels.sendable, actor.messages.inbound, actor.tenantId];
  return fc.oneof(
    fc.constantFrom(
      '',
      ' ',
      '\t',
      '..',
      '.',
      '%',
      '%zz',
      '%E0%A4%A',
      '%00',
      '%2e%2e',
      '%2F',
      '..%2F..%2Fv1%2Ftenants',
      '../../v1/tenants',
      'null',
      '-1',
      '*',
      "' OR '1'='1",
      '{channelId}',
      ':channelId',
      'TENANT#x',
      'chn_',
      '__proto__',
    ),
    fc
      .constantFrom(...near)
      .chain((id) =>
        fc.constantFrom(
          id.toLowerCase(),
          ` ${id}`,
          `${id} `,
          `${id}x`,
          id.slice(0, -1),
          `${id}/`,
          `${id}%00`,
          `${id}#`,
        ),
      ),
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.integer({ min: 41, max: 6_000 }).map((length) => `chn_${'A'.repeat(length)}`),
  );
}

type Encoding = 'encoded' | 'raw' | 'double';

/** Percent-encodes what `keep` rejects, byte by byte of its UTF-8 (a lone surrogate as U+FFFD). */
function percentEncode(value: string, keep: (char: string) => boolean): string {
  let out = '';
  for (const char of value) {
    out += keep(char)
      ? char
      : [...Buffer.from(char, 'utf8')]
          .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
          .join('');
  }
  return out;
}

const UNRESERVED = /^[A-Za-z0-9\-_.!~*'()]$/;
/** What node:http lets into a request line as is (0x21–0xff; 0x80–0xff go out as single bytes). */
const SENDABLE = (char: string) =>
  char.length === 1 && char.charCodeAt(0) >= 0x21 && char.charCodeAt(0) <= 0xff;

function encodeAs(value: string, encoding: Encoding): string {
  if (encoding === 'raw') return percentEncode(value, SENDABLE);
  const once = percentEncode(value, (char) => UNRESERVED.test(char));
  return encoding === 'double' ? percentEncode(once, (char) => UNRESERVED.test(char)) : once;
}

const encoding = fc.oneof(
  { weight: 10, arbitrary: fc.constant<Encoding>('encoded') },
  { weight: 1, arbitrary: fc.constant<Encoding>('raw') },
  { weight: 1, arbitrary: fc.constant<Encoding>('double') },
);

function paramValue(param: string, route: RouteSpec, actor: TenantFixture, others: readonly TenantFixture[]) {
  const kind = PARAM_KINDS[param] ?? 'channel';
  const own = ownIds(param, route, actor);
  const foreign = foreignIds(param, others);
  return fc.oneof(
    { weight: 10, arbitrary: own.length ? fc.constantFrom(...own) : absentId(kind) },
    { weight: 3, arbitrary: foreign.length ? fc.constantFrom(...foreign) : absentId(kind) },
    { weight: 2, arbitrary: absentId(kind) },
    { weight: 3, arbitrary: malformedId(actor) },
  );
}

/** A route's path with each `{param}` filled and encoded. */
function templatePath(route: RouteSpec, actor: TenantFixture, others: readonly TenantFixture[]) {
  const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);
  return fc
    .tuple(
      fc.tuple(...params.map((param) => fc.tuple(paramValue(param, route, actor, others), encoding))),
      fc.oneof(
        { weight: 12, arbitrary: fc.constant('') },
        fc.constantFrom('/', '//', '/extra', '/..', '/.', '%2F'),
      ),
    )
    .map(([values, suffix]) => {
      let index = 0;
      const path = route.path.replace(/\{\w+\}/g, () => {
        const [value, how] = values[index++] as [string, Encoding];
        return encodeAs(value, how);
      });
      return `${path}${suffix}`;
    });
}

/** Paths of no route, and tricks to reach one route through another's path. */
const strayPath = fc.oneof(
  fc.constantFrom(
    '/',
    '*',
    '//v1/channels',
    '/v1',
    '/v1/',
    '/V1/CHANNELS',
    '/v1/channels;a=b',
    '/v1/./channels',
    '/v1/channels/..',
    '/v1/channels/../tenants',
    '/v1/channels/%2e%2e/tenants',
    '/v1/channels/%2E%2E%2Ftenants',
    '/v1/%63hannels',
    '/v1/channels\\..\\tenants',
    '/health/',
    '/health/../v1/tenants',
    '/v1/openapi.json/x',
    '/docs/..',
    '/v2/channels',
    '/v1/channels%00',
    'http://127.0.0.1/v1/tenants',
    '/v1/tenants/%2E%2E/tenants',
  ),
  fc.webPath().map((path) => (path.startsWith('/') ? path : `/${path}`)),
);

function cursorOf(key: unknown): string {
  return Buffer.from(JSON.stringify(key) ?? 'null').toString('base64url');
}

/**
 * Cursors: the actor's own (valid for one list, not for another), other tenants', other channels',
 * and keys forged to pass a partition check but not the list's shape.
 */
function cursor(actor: TenantFixture, others: readonly TenantFixture[]): fc.Arbitrary<string> {
  const pk = `TENANT#${actor.tenantId}`;
  const real = [actor.cursors.channels, actor.cursors.messages];
  const foreign = others.flatMap((other) => [other.cursors.channels, other.cursors.messages]);
  const skJunk = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', minLength: 200, maxLength: 700 }),
  );
  const forged = fc.oneof(
    fc.constant({ pk }),
    fc.constant({ gsi1pk: 'TENANTS' }),
    skJunk.map((sk) => ({ pk, sk })),
    skJunk.map((sk) => ({ pk, sk: `CHANNEL#${sk}` })),
    skJunk.map((sk) => ({ pk, sk: `MSG#${actor.channels.sendable}#${sk}` })),
    skJunk.map((sk) => ({ pk, sk: `CHANNEL#${sk}`, gsi1pk: 'TENANTS', gsi1sk: sk })),
    ...others.map((other) =>
      fc.constant({ pk: `TENANT#${other.tenantId}`, sk: `CHANNEL#${other.channels.idle}` }),
    ),
    fc.jsonValue({ maxDepth: 2 }).map((sk) => ({ pk, sk })),
    fc.jsonValue({ maxDepth: 3 }),
  );
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...real) },
    { weight: 3, arbitrary: foreign.length ? fc.constantFrom(...foreign) : forged.map(cursorOf) },
    { weight: 4, arbitrary: forged.map(cursorOf) },
    { weight: 2, arbitrary: fc.base64String({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
    { weight: 1, arbitrary: fc.integer({ min: 2_000, max: 4_000 }).map((length) => 'e'.repeat(length)) },
  );
}

const limit = fc.oneof(
  fc.integer({ min: -5, max: 205 }).map(String),
  fc.constantFrom(
    '',
    '0',
    '1',
    '100',
    '101',
    '1e2',
    '1.5',
    '0x10',
    ' 5',
    'NaN',
    'Infinity',
    '-0',
    '9'.repeat(400),
    'abc',
    '[]',
  ),
);

function queryPart(actor: TenantFixture, others: readonly TenantFixture[]) {
  const known = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.constant('limit'), limit) },
    { weight: 4, arbitrary: fc.tuple(fc.constant('cursor'), cursor(actor, others)) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constant('contact'), fc.oneof(e164, fc.constant('+5511987650001'), fc.string())),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constant('direction'),
        fc.constantFrom('inbound', 'outbound', 'INBOUND', '', 'both'),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constant('format'), fc.constantFrom('text', 'png', 'svg', 'pdf', '', 'PNG')),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom('', '__proto__', 'constructor', 'limit[]', 'LIMIT', 'types', 'after', 'channelId'),
        fc.string({ maxLength: 30 }),
      ),
    },
  );
  return fc
    .tuple(
      fc.array(fc.tuple(known, encoding), { maxLength: 4 }),
      fc.constantFrom('', '', '', '?', '&', '#frag'),
    )
    .map(([pairs, tail]) => {
      if (pairs.length === 0) return tail === '?' ? '?' : '';
      const parts = pairs.map(([[name, value], how]) => `${encodeAs(name, how)}=${encodeAs(value, how)}`);
      return `?${parts.join('&')}${tail === '?' ? '' : tail}`;
    });
}

/** What node:http will put in a header value: tab, 0x20–0x7e and 0x80–0xff. */
const headerSafe = (value: string) =>
  [...value].filter((char) => /^[\t\x20-\x7e\x80-\xff]$/.test(char)).join('');

function authorization(
  actor: TenantFixture,
  others: readonly TenantFixture[],
): fc.Arbitrary<string | undefined> {
  const { key } = actor;
  const other = others[0] ?? actor;
  // The actor's key id and secret under another tenant's id: a key must not be moved between tenants.
  const transplanted = `cwa_${other.tenantId.slice(4)}${key.slice(30)}`;
  return fc.oneof(
    { weight: 14, arbitrary: fc.constant(`Bearer ${key}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        `bearer ${key}`,
        `Bearer  ${key}`,
        `Bearer ${key} `,
        `Bearer\t${key}`,
        `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
        'Bearer',
        'Bearer ',
        `Bearer ${key.slice(0, -1)}`,
        `Bearer ${key}x`,
        `Bearer ${transplanted}`,
        `Bearer ${key}, Bearer ${other.key}`,
        `Bearer ${'a'.repeat(600)}`,
        `Bearer cwa_${'A'.repeat(95)}`,
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 80 }).map((value) => headerSafe(`Bearer ${value}`)) },
  );
}

const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json;charset=latin1',
      'application/json; charset=utf-16',
      ' application/json',
      'application/json ',
      'application/jsonx',
      'application/json-patch+json',
      'application/vnd.api+json',
      'text/json',
      'text/plain',
      'text/plain; a=application/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'image/png',
      'application/pdf',
      '',
      '*/*',
      'application/json, text/plain',
    ),
  },
  { weight: 2, arbitrary: fc.constant(undefined) },
);

/** A few keys reused on purpose, so replays and reuses with another body happen. */
const idempotencyKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('retry-1', 'retry-2', 'retry-3') },
  { weight: 2, arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,64}$/) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'a b', 'chave-é', 'x'.repeat(256), 'x'.repeat(4_000)) },
);

const extraHeader = fc.constantFrom<[string, string]>(
  ['accept', 'application/xml'],
  ['accept-encoding', 'gzip, br'],
  ['content-encoding', 'gzip'],
  ['x-forwarded-for', '10.0.0.1, 127.0.0.1'],
  ['x-amzn-requestid', 'forged-request-id'],
  ['x-http-method-override', 'DELETE'],
  ['origin', 'https://attacker.example'],
  ['cookie', 'session=1'],
  ['x-api-key', 'cwa_x'],
  ['x-tenant-id', 'ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW'],
  ['x-padding', 'p'.repeat(20_000)],
);

/** A route of the table with its real method most of the time, or a path of none. */
function target(actor: TenantFixture, others: readonly TenantFixture[], routes: readonly RouteSpec[]) {
  const routed = fc.constantFrom(...routes).chain((route) =>
    fc.record({
      route: fc.constant<RouteSpec | undefined>(route),
      method: fc.oneof(
        { weight: 8, arbitrary: fc.constant(route.method) },
        fc.constantFrom(...OTHER_METHODS),
      ),
      path: templatePath(route, actor, others),
    }),
  );
  const stray = fc.record({
    route: fc.constant<RouteSpec | undefined>(undefined),
    method: fc.constantFrom(...OTHER_METHODS),
    path: strayPath,
  });
  return fc.oneof({ weight: 12, arbitrary: routed }, { weight: 1, arbitrary: stray });
}

/** The parts of a request a run may get wrong; the others are as a careful client sends them. */
const ASPECTS = [
  'target',
  'query',
  'authorization',
  'contentType',
  'idempotencyKey',
  'body',
  'extraHeaders',
] as const;
type Aspect = (typeof ASPECTS)[number];

/** The route's own method and path with the actor's own ids. */
function canonicalTarget(actor: TenantFixture, routes: readonly RouteSpec[]) {
  return fc.constantFrom(...routes).chain((route) => {
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);
    const values = params.map((param) => {
      const own = ownIds(param, route, actor);
      return own.length ? fc.constantFrom(...own) : absentId(PARAM_KINDS[param] ?? 'channel');
    });
    return fc.tuple(...values).map((ids) => {
      let index = 0;
      const path = route.path.replace(/\{\w+\}/g, () => encodeURIComponent(ids[index++] as string));
      return { route: route as RouteSpec | undefined, method: route.method as string, path };
    });
  });
}

/** A query the route takes as it is: a page size, one of the actor's cursors, a filter, a format. */
function canonicalQuery(route: RouteSpec | undefined, actor: TenantFixture): fc.Arbitrary<string> {
  const names = Object.keys(route?.request?.query?.shape ?? {});
  const values: Record<string, fc.Arbitrary<string>> = {
    limit: fc.integer({ min: 1, max: 100 }).map(String),
    cursor: fc.constant(route?.path.includes('messages') ? actor.cursors.messages : actor.cursors.channels),
    contact: fc.constantFrom('+5511987650001', '+5511987654321'),
    direction: fc.constantFrom('inbound', 'outbound'),
    format: fc.constantFrom('text', 'png', 'svg'),
  };
  const known = Object.fromEntries(names.flatMap((name) => (values[name] ? [[name, values[name]]] : [])));
  return fc
    .record(known, { requiredKeys: [] })
    .map((pairs) =>
      Object.keys(pairs).length ? `?${new URLSearchParams(pairs as Record<string, string>)}` : '',
    );
}

/** One request of one of the cast's actors, with up to three of its aspects odd. */
export function fuzzRequest(cast: FuzzCast): fc.Arbitrary<FuzzRequest> {
  return fc
    .tuple(fc.nat(cast.actors.length - 1), fc.shuffledSubarray([...ASPECTS], { maxLength: 3 }))
    .chain(([index, oddAspects]) => {
      const odd = (aspect: Aspect) => oddAspects.includes(aspect);
      const actor = cast.actors[index] as TenantFixture;
      const others = [...cast.actors.filter((other) => other !== actor), ...cast.bystanders];
      const foreignMessages = foreignIds('messageId', others);
      const messages = fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...messageIds(actor)) },
        {
          weight: 2,
          arbitrary: foreignMessages.length ? fc.constantFrom(...foreignMessages) : absentId('message'),
        },
        { weight: 1, arbitrary: absentId('message') },
        { weight: 1, arbitrary: malformedId(actor) },
      );
      const routes = cast.routes ?? ROUTES;
      const chosen = odd('target') ? target(actor, others, routes) : canonicalTarget(actor, routes);
      return chosen.chain(({ route, method, path }) =>
        fc
          .record({
            query: odd('query') ? queryPart(actor, others) : canonicalQuery(route, actor),
            body: bodyFor(route?.operationId, { messageIds: messages }, odd('body')),
            authorization: odd('authorization')
              ? authorization(actor, others)
              : fc.constant<string | undefined>(`Bearer ${actor.key}`),
            contentType: odd('contentType')
              ? fc.option(contentType, { freq: 4 })
              : fc.constant<string | undefined>('application/json'),
            idempotencyKey: odd('idempotencyKey')
              ? idempotencyKey
              : route?.idempotent
                ? fc.option(fc.uuid(), { freq: 2 })
                : fc.constant(null),
            extra: odd('extraHeaders')
              ? fc.array(extraHeader, { minLength: 1, maxLength: 2 })
              : fc.constant<[string, string][]>([]),
          })
          .map(({ query, body, authorization, contentType, idempotencyKey, extra }) => {
            const headers: Record<string, string> = Object.fromEntries(extra);
            if (authorization !== undefined) headers.authorization = authorization;
            // A careful client names the type of the body it sends, and sends no type without a body.
            if (contentType != null && (body !== undefined || odd('contentType')))
              headers['content-type'] = contentType;
            if (idempotencyKey !== null) headers['idempotency-key'] = idempotencyKey;
            return described({
              actor: index,
              method,
              path: `${path}${query}`,
              headers,
              ...(body !== undefined ? { body } : {}),
            });
          }),
      );
    });
}

/** A tenant's own lists with its own key: any cursor, limit and filter. */
export function listRequest(cast: FuzzCast): fc.Arbitrary<FuzzRequest> {
  return fc.nat(cast.actors.length - 1).chain((index) => {
    const actor = cast.actors[index] as TenantFixture;
    const others = [...cast.actors.filter((other) => other !== actor), ...cast.bystanders];
    const list = fc.oneof(
      fc.constant('/v1/channels'),
      fc.constantFrom(...channelIds(actor)).map((channelId) => `/v1/channels/${channelId}/messages`),
    );
    const query = fc.record(
      {
        cursor: cursor(actor, others),
        limit,
        direction: fc.constantFrom('inbound', 'outbound'),
        contact: fc.constantFrom('+5511987650001', '+5511987654321'),
      },
      { requiredKeys: [] },
    );
    return fc.tuple(list, query).map(([path, pairs]) =>
      described({
        actor: index,
        method: 'GET',
        path: `${path}?${new URLSearchParams(pairs as Record<string, string>)}`,
        headers: { authorization: `Bearer ${actor.key}` },
      }),
    );
  });
}

/** The request with a short form for fast-check's report (bodies can be megabytes). */
export function described(request: FuzzRequest): FuzzRequest {
  return Object.assign(request, { [fc.toStringMethod]: () => summarize(request) });
}

export function summarize(request: FuzzRequest): string {
  const clip = (text: string, max: number) =>
    text.length > max ? `${text.slice(0, max)}…(${text.length})` : text;
  const body =
    request.body === undefined
      ? ''
      : typeof request.body === 'string'
        ? ` body=${JSON.stringify(clip(request.body, 300))}`
        : ` body=<${request.body.length} bytes: ${Buffer.from(request.body.subarray(0, 40)).toString('hex')}>`;
  const headerText = Object.entries(request.headers)
    .map(([name, value]) => `${name}: ${clip(value, 80)}`)
    .join('; ');
  return `[actor ${request.actor}] ${request.method} ${clip(request.path, 400)} {${headerText}}${body}`;
}

/**
 * A batch of the same create sent at once under one new Idempotency-Key, some copies with another
 * body: what a client retrying over a flaky network, or a buggy one, sends.
 */
export function concurrentCreates(cast: FuzzCast): fc.Arbitrary<FuzzRequest[]> {
  return fc.nat(cast.actors.length - 1).chain((index) => {
    const actor = cast.actors[index] as TenantFixture;
    const messages = fc.constantFrom(...messageIds(actor));
    const creates = [
      { path: '/v1/channels', operationId: 'createChannel' },
      { path: `/v1/channels/${actor.channels.sendable}/messages`, operationId: 'sendMessage' },
    ];
    return fc.constantFrom(...creates).chain(({ path, operationId }) => {
      const body = (validBody(operationId, { messageIds: messages }) as fc.Arbitrary<unknown>).map((value) =>
        JSON.stringify(value),
      );
      return fc
        .record({
          key: fc.uuid(),
          bodies: fc.tuple(body, body),
          picks: fc.array(fc.nat(4), { minLength: 2, maxLength: 6 }),
        })
        .map(({ key, bodies, picks }) =>
          // Most copies carry the first body; a pick of 0 carries the other.
          picks.map((pick) =>
            described({
              actor: index,
              method: 'POST',
              path,
              headers: {
                authorization: `Bearer ${actor.key}`,
                'content-type': 'application/json',
                'idempotency-key': key,
              },
              body: pick === 0 ? bodies[1] : bodies[0],
            }),
          ),
        );
    });
  });
}
