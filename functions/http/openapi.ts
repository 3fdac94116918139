import {
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { EVENT_TYPES, type EventType } from '#shared/domain/events.ts';
import { MAX_REQUEST_BODY_BYTES } from './edge-limits.ts';
import { EVENT_SCHEMAS, eventDescription, eventExamples } from './event-schemas.ts';
import { ROUTES, type RouteSpec } from './routes.ts';
import { errorSchema, IDEMPOTENCY_KEY } from './schemas.ts';

// The OpenAPI 3.1 document, generated from the route table and its zod schemas: what the handlers
// validate with is what the document says, by construction.

const ERROR_STATUSES: Record<number, string> = {
  400: 'The request is not valid; `error.fields` names each failing field',
  401: 'No key, or a key that does not authenticate',
  403: 'The key lacks the scope (or is not the admin key); on any route, `forbidden` when the firewall refuses a known-bad request or address',
  404: 'Absent, or owned by another tenant',
  409: 'Conflicts with the current state, or an `Idempotency-Key` reused with another request',
  413: `A body over ${MAX_REQUEST_BODY_BYTES} bytes on any route (it would not fit the function's event), a JSON body over 1 MB, a file over 4 MB (\`media_too_large\`), or request line and headers over API Gateway's limits`,
  415: 'The body is not `application/json`',
  422: 'Valid JSON, impossible request',
  429: "Over the tenant's rate limit, the client address's or the whole API's: retry after `Retry-After` seconds",
};

const DESCRIPTION = `The clinics' API of clinic-wa: channels (one WhatsApp number each), messages and
their statuses. Authenticate with \`Authorization: Bearer <key>\`: the admin key manages tenants, a
tenant key acts on its own tenant within its scopes. Every error is
\`{ "error": { "code", "message", "requestId" } }\`. Every POST that creates something takes an
\`Idempotency-Key\` header: the same key and body within 24 h return the first response. Events reach
the clinic's webhooks as signed POSTs (the \`webhooks\` section).`;

let cached: object | undefined;

export function openApiDocument(): object {
  cached ??= generate();
  return cached;
}

function generate(): object {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'The admin key, or a tenant key (`cwa_…`)',
  });
  for (const route of ROUTES) registry.registerPath(pathConfig(route, bearer.name));
  for (const type of EVENT_TYPES) registry.registerWebhook(webhookConfig(type));
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'clinic-wa API', version: '1', description: DESCRIPTION },
    servers: [{ url: '/' }],
  });
}

/** What a webhook receiver is sent (Standard Webhooks): the headers every request carries. */
const webhookHeaders = z.object({
  'webhook-id': z.string().meta({
    description: 'The delivery id: the same on every try of one event to one webhook. Deduplicate on it',
  }),
  'webhook-timestamp': z
    .string()
    .regex(/^\d+$/)
    .meta({ description: 'When this try was signed, in seconds since the epoch: refuse stale ones' }),
  'webhook-signature': z.string().meta({
    description:
      'Space-separated `v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`, one per valid secret (more than one while a rotation overlaps)',
    example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  }),
});

const WEBHOOK_DELIVERY_RULES = `Sent as a POST to every enabled webhook subscribed to the type (and to the event's
channel, if it names channels), signed per Standard Webhooks: verify with the \`standardwebhooks\` or
\`svix\` package and the webhook's secret. A 2xx within 15 s is success; a 3xx fails (redirects are
not followed); 410 disables the webhook; 429 and 503 are retried after \`Retry-After\`; anything else is
retried with exponential backoff and jitter for about three days, then the delivery is dead (see
\`GET /v1/webhooks/{webhookId}/deliveries\`, redeliver or recover it). Deliveries are at least once.`;

function webhookConfig(type: EventType): RouteConfig {
  return {
    method: 'post',
    path: type,
    operationId: `event:${type}`,
    summary: eventDescription(type),
    description: `${eventDescription(type)}.\n\n${WEBHOOK_DELIVERY_RULES}`,
    tags: ['events'],
    request: {
      headers: webhookHeaders,
      body: {
        required: true,
        content: { 'application/json': { schema: EVENT_SCHEMAS[type], examples: eventExamples(type) } },
      },
    },
    responses: {
      '2XX': { description: 'Received: any 2xx within 15 s' },
      '410': { description: 'Gone: the webhook is disabled and nothing more is sent to it' },
      default: { description: 'Anything else (or no answer in 15 s) is a failed try, tried again later' },
    },
  };
}

function pathConfig(route: RouteSpec, securityScheme: string): RouteConfig {
  const secured = route.access.kind !== 'public';
  const responses: Record<string, ResponseConfig> = {};
  for (const [status, body] of Object.entries(route.responses)) {
    responses[status] = {
      description: route.summary,
      content:
        body instanceof z.ZodType
          ? { 'application/json': { schema: body } }
          : Object.fromEntries(body.binary.map((type) => [type, { schema: { type: 'string' } }])),
    };
  }
  const possible = new Set([
    // A malformed Idempotency-Key is a 400 too, on a route with neither body nor query (a test POST).
    ...(route.request?.body || route.request?.query || route.idempotent ? [400] : []),
    ...(secured ? [401] : []),
    // On any route: the firewall refuses known-bad requests and addresses (403), bodies too large for
    // the function's event (413) and floods from one address (429); the stage throttles the API (429).
    403,
    429,
    ...(route.request?.params ? [404] : []),
    413,
    ...(route.request?.body ? [415] : []),
    ...(route.method !== 'GET' && secured ? [409, 422] : []),
    ...(route.alsoRefuses ?? []),
  ]);
  for (const status of [...possible].sort()) {
    responses[status] = {
      description: ERROR_STATUSES[status] ?? 'Error',
      content: { 'application/json': { schema: errorSchema } },
    };
  }
  const scope = route.access.kind === 'tenant' ? ` Scope: \`${route.access.scope}\`.` : '';
  const who = route.access.kind === 'admin' ? ' Admin key.' : scope;
  return {
    method: route.method.toLowerCase() as RouteConfig['method'],
    path: route.path,
    operationId: route.operationId,
    summary: route.summary,
    description: `${route.summary}.${who}`,
    tags: [route.family],
    ...(secured ? { security: [{ [securityScheme]: [] }] } : {}),
    request: {
      ...(route.request?.params ? { params: route.request.params } : {}),
      ...(route.request?.query ? { query: route.request.query } : {}),
      ...(route.idempotent
        ? {
            headers: z.object({
              'Idempotency-Key': z.string().regex(IDEMPOTENCY_KEY).optional().meta({
                description:
                  '1 to 255 visible ASCII characters; replays within 24 h return the first response',
              }),
            }),
          }
        : {}),
      ...(route.request?.body
        ? {
            body: {
              required: !route.request.bodyOptional,
              content: { 'application/json': { schema: route.request.body } },
            },
          }
        : {}),
    },
    responses,
  };
}
