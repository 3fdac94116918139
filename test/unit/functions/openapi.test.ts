import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { EVENT_EXAMPLES, EVENT_SCHEMAS } from '#functions/http/event-schemas.ts';
import { openApiDocument } from '#functions/http/openapi.ts';
import { ROUTES } from '#functions/http/routes.ts';
import { API_KEY_SCOPES } from '#shared/domain/api-key.ts';
import { EVENT_TYPES } from '#shared/domain/events.ts';
import { RECEIVED_MESSAGE_TYPES } from '#shared/domain/message.ts';

type Operation = {
  responses: Record<string, unknown>;
  parameters?: { name: string; in: string; schema: { pattern?: string; maxLength?: number } }[];
};
type Document = { paths: Record<string, Record<string, Operation>> };

const statusesOf = (path: string, method: string) =>
  Object.keys((openApiDocument() as Document).paths[path]?.[method]?.responses ?? {}).map(Number);

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(
      structuredClone(openApiDocument()) as Parameters<Validator['validate']>[0],
    );
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has one operation per route of the route table, with its security and errors', () => {
    const document = openApiDocument() as {
      paths: Record<
        string,
        Record<string, { operationId: string; security?: unknown[]; responses: Record<string, unknown> }>
      >;
    };
    for (const route of ROUTES) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation?.operationId, `${route.method} ${route.path}`).toBe(route.operationId);
      expect(Boolean(operation?.security), route.operationId).toBe(route.access.kind !== 'public');
      if (route.access.kind !== 'public') expect(Object.keys(operation?.responses ?? {})).toContain('401');
    }
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods));
    expect(operations).toHaveLength(ROUTES.length);
  });

  it('names only scopes API keys can have', () => {
    for (const route of ROUTES) {
      if (route.access.kind === 'tenant') expect(API_KEY_SCOPES).toContain(route.access.scope);
    }
  });

  it('declares the 409 of a QR asked for while the channel waits for no scan', () => {
    expect(statusesOf('/v1/channels/{channelId}/qr', 'get')).toEqual(
      expect.arrayContaining([200, 400, 401, 403, 404, 409, 429]),
    );
  });

  it('declares no conflict for a read that cannot have one', () => {
    expect(statusesOf('/v1/channels/{channelId}', 'get')).not.toContain(409);
  });

  it('declares the Idempotency-Key the API takes: 1 to 255 visible ASCII characters', () => {
    const operation = (openApiDocument() as Document).paths['/v1/channels']?.post;
    const header = operation?.parameters?.find((parameter) => parameter.name === 'Idempotency-Key');
    const pattern = new RegExp(header?.schema.pattern ?? '');
    expect(['retry-1', 'x'.repeat(255)].every((key) => pattern.test(key))).toBe(true);
    expect(['', 'a b', 'chave-é', 'x'.repeat(256)].some((key) => pattern.test(key))).toBe(false);
  });

  it('declares 403, 413 and 429 on every operation: the firewall and API Gateway refuse on any route', () => {
    const operations = Object.values((openApiDocument() as Document).paths).flatMap((path) =>
      Object.values(path),
    );
    expect(operations.length).toBeGreaterThan(20);
    for (const operation of operations)
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['403', '413', '429']));
  });
});

describe('the OpenAPI document’s webhooks', () => {
  type WebhookOperation = {
    operationId: string;
    requestBody: {
      required: boolean;
      content: {
        'application/json': {
          schema: unknown;
          examples: Record<string, { summary: string; value: unknown }>;
        };
      };
    };
    parameters: { name: string; in: string }[];
  };
  const webhooks = () =>
    (openApiDocument() as { webhooks: Record<string, { post: WebhookOperation }> }).webhooks;

  it('document every event type’s payload, with examples the API’s own schema takes', () => {
    expect(Object.keys(webhooks()).sort()).toEqual([...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) {
      const operation = webhooks()[type]?.post;
      const examples = Object.values(operation?.requestBody.content['application/json'].examples ?? {});
      expect(examples.map((example) => example.value)).toContainEqual(EVENT_EXAMPLES[type]);
      for (const example of examples) {
        const parsed = EVENT_SCHEMAS[type].safeParse(example.value);
        expect(parsed.error?.issues ?? [], `${type}: ${example.summary}`).toEqual([]);
        // Nothing of the example is left out by the schema: it documents every field shown.
        expect(parsed.data, `${type}: ${example.summary}`).toEqual(example.value);
      }
      expect(operation?.requestBody.content['application/json'].schema, type).toEqual({
        $ref: expect.stringMatching(/^#\/components\/schemas\/\w+Event$/),
      });
      expect(
        operation?.parameters.map((parameter) => `${parameter.in} ${parameter.name}`).sort(),
        type,
      ).toEqual(['header webhook-id', 'header webhook-signature', 'header webhook-timestamp']);
    }
  });

  it('show a received message of every kind, a file with its SHA-256, size, name and a download URL', () => {
    const examples = Object.values(
      webhooks()['message.received']?.post.requestBody.content['application/json'].examples ?? {},
    ).map((example) => example.value as (typeof EVENT_EXAMPLES)['message.received']);
    const shown = new Set(examples.map((example) => example.data.type));
    for (const type of ['text', 'image', 'document', 'location', 'contacts', 'reaction'])
      expect(shown, type).toContain(type);
    for (const example of examples) {
      expect(Object.keys(example.data.content)).toEqual([example.data.type]);
      expect(example.data.from).toHaveProperty('name');
    }
    const photo = examples.find((example) => example.data.type === 'image')?.data.content.image;
    expect(photo).toEqual({
      mediaId: expect.stringMatching(/^med_/),
      mimeType: 'image/jpeg',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      size: expect.any(Number),
      fileName: null,
      caption: expect.any(String),
      url: expect.stringMatching(/^https:/),
      urlExpiresAt: expect.any(String),
    });
    expect(RECEIVED_MESSAGE_TYPES).toEqual(expect.arrayContaining([...shown]));
  });

  it('refuse a received message whose content is not under its type’s key', () => {
    const text = EVENT_EXAMPLES['message.received'];
    const flat = { ...text, data: { ...text.data, content: { body: 'Posso remarcar para quinta?' } } };
    expect(EVENT_SCHEMAS['message.received'].safeParse(flat).success).toBe(false);
    const nameless = { ...text, data: { ...text.data, from: { phoneNumber: '+5511987654321', lid: null } } };
    expect(EVENT_SCHEMAS['message.received'].safeParse(nameless).success).toBe(false);
  });

  it('refuse an event whose data is not its type’s', () => {
    const wrong = { ...EVENT_EXAMPLES['webhook.test'], data: EVENT_EXAMPLES['channel.qr'].data };
    expect(EVENT_SCHEMAS['webhook.test'].safeParse(wrong).success).toBe(false);
  });

  it('let a secret rotation and a message search leave their body out, and nothing else that takes one', () => {
    const document = openApiDocument() as Document & {
      paths: Record<string, Record<string, { requestBody?: { required: boolean } }>>;
    };
    const optional = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).flatMap(([method, operation]) =>
        operation.requestBody && !operation.requestBody.required ? [`${method} ${path}`] : [],
      ),
    );
    // A search's body is its filters (all optional: the channel's messages, newest first).
    expect(optional).toEqual([
      'post /v1/channels/{channelId}/messages/search',
      'post /v1/webhooks/{webhookId}/rotate-secret',
    ]);
  });
});

describe('the OpenAPI document’s operator views', () => {
  type Schemas = Record<string, { properties?: Record<string, { description?: string }> }>;
  const schemas = () => (openApiDocument() as { components: { schemas: Schemas } }).components.schemas;

  it('show a channel of any tenant with its tenant and shard, and never its QR or pairing code', () => {
    const properties = Object.keys(schemas().AdminChannel?.properties ?? {});
    expect(properties).toEqual(expect.arrayContaining(['id', 'tenantId', 'shard', 'status', 'phoneNumber']));
    for (const secret of ['qr', 'pairingCode', 'pairingExpiresAt', 'pairing'])
      expect(properties).not.toContain(secret);
  });

  it('name whose clock every time of a runner or a lease was read from', () => {
    expect(Object.keys(schemas().Runner?.properties ?? {}).sort()).toEqual(
      ['beats', 'lastHeartbeatAtRunnerClock', 'member', 'runnerId', 'shards'].sort(),
    );
    expect(Object.keys(schemas().ShardLease?.properties ?? {}).sort()).toEqual(
      ['expiresAtOwnerClock', 'renewals', 'shard', 'token'].sort(),
    );
  });

  it('keep the admin routes to the admin key, and a tenant’s own keys to keys:manage', () => {
    const access = (operationId: string) => ROUTES.find((route) => route.operationId === operationId)?.access;
    for (const operationId of ['getRunners', 'listAllChannels', 'countChannels'])
      expect(access(operationId), operationId).toEqual({ kind: 'admin' });
    for (const operationId of ['listOwnApiKeys', 'createOwnApiKey', 'revokeOwnApiKey'])
      expect(access(operationId), operationId).toEqual({ kind: 'tenant', scope: 'keys:manage' });
    expect(statusesOf('/v1/api-keys/{keyId}', 'delete')).toEqual(expect.arrayContaining([403, 404, 409]));
  });
});
