import { z } from 'zod';
import type { ApiKeyScope } from '#shared/domain/api-key.ts';
import { DIRECT_UPLOAD_MAX_BYTES, MEDIA_MAX_BYTES } from '#shared/domain/media.ts';
import { isDeliveryId, MAX_RECOVERED_PER_REQUEST, MAX_WEBHOOKS_PER_TENANT } from '#shared/domain/webhook.ts';
import {
  acceptedSchema,
  adminChannelListQuery,
  adminChannelSchema,
  apiKeyPageSchema,
  apiKeySchema,
  channelCountQuery,
  channelCountsSchema,
  channelSchema,
  connectSchema,
  contactCheckRequestSchema,
  contactCheckSchema,
  deliveryListQuery,
  deliverySchema,
  eventListQuery,
  eventSchema,
  healthSchema,
  idParam,
  issuedApiKeySchema,
  issuedWebhookSchema,
  mediaDownloadSchema,
  mediaSchema,
  mediaUploadSchema,
  messageListQuery,
  messageSchema,
  messageSearchSchema,
  newApiKeySchema,
  newChannelSchema,
  newTenantSchema,
  newUploadSchema,
  newWebhookSchema,
  pageOf,
  pageQuery,
  qrQuery,
  qrSchema,
  queuedDeliverySchema,
  queuedMessageSchema,
  recoveryRequestSchema,
  recoverySchema,
  rotatedSecretSchema,
  runnersSchema,
  secretRotationSchema,
  sendMessageSchema,
  tenantSchema,
  uploadQuery,
  webhookPatchSchema,
  webhookSchema,
} from './schemas.ts';

// The API's routes, declared once: each handler registers its family's routes from here, the CDK
// stack creates one API Gateway method per route, the local front dispatches with it, and the
// OpenAPI document is generated from it.

/** Which Lambda function serves a route. */
export const FUNCTION_FAMILIES = ['public', 'tenants', 'admin', 'channels', 'messages', 'webhooks'] as const;
export type FunctionFamily = (typeof FUNCTION_FAMILIES)[number];

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Who may call: anyone, the admin key, or a tenant key with a scope. */
export type Access =
  | { readonly kind: 'public' }
  | { readonly kind: 'admin' }
  | { readonly kind: 'tenant'; readonly scope: ApiKeyScope };

export interface RouteSpec {
  readonly operationId: string;
  readonly method: HttpMethod;
  /** OpenAPI form: `/v1/channels/{channelId}`. */
  readonly path: string;
  readonly family: FunctionFamily;
  readonly access: Access;
  readonly summary: string;
  readonly request?: {
    readonly params?: z.ZodObject;
    readonly query?: z.ZodObject;
    readonly body?: z.ZodType;
    /** The body may be left out: an empty one is taken as `{}` (its fields all optional). */
    readonly bodyOptional?: boolean;
    /** A file as the body itself (any media type) or as the `file` part of a multipart form. */
    readonly upload?: { readonly maxBytes: number };
  };
  /** Status → body schema; `binary` for a body that is not JSON (a QR image). */
  readonly responses: Readonly<Record<number, z.ZodType | { readonly binary: readonly string[] }>>;
  /** Honours `Idempotency-Key` (every POST that creates something). */
  readonly idempotent?: boolean;
  /** Error statuses beyond those its method, access and inputs imply (a GET that can conflict). */
  readonly alsoRefuses?: readonly number[];
}

const admin = { kind: 'admin' } as const;
const tenant = (scope: ApiKeyScope) => ({ kind: 'tenant', scope }) as const;

/**
 * What each path parameter names, in the words of the use cases' 404s (`api_key_not_found`), so a
 * malformed id and an absent one are answered alike.
 */
export const PATH_PARAM_RESOURCES: Readonly<Record<string, string>> = {
  tenantId: 'tenant',
  keyId: 'api_key',
  channelId: 'channel',
  messageId: 'message',
  checkId: 'contact_check',
  mediaId: 'media',
  webhookId: 'webhook',
  deliveryId: 'delivery',
};

const tenantParams = z.object({ tenantId: idParam('tenant') });
const keyParams = tenantParams.extend({ keyId: idParam('apiKey') });
const ownKeyParams = z.object({ keyId: idParam('apiKey') });
const channelParams = z.object({ channelId: idParam('channel') });
const messageParams = channelParams.extend({ messageId: idParam('message') });
const checkParams = channelParams.extend({ checkId: idParam('command') });
const mediaParams = z.object({ mediaId: idParam('media') });
const webhookParams = z.object({ webhookId: idParam('webhook') });
const deliveryParams = webhookParams.extend({
  deliveryId: z
    .string()
    .max(60)
    .refine((value) => isDeliveryId(value), 'must be a delivery id'),
});
const webhooks = tenant('webhooks:manage');
const messagePage = pageOf(messageSchema, 'MessagePage');

export const ROUTES: readonly RouteSpec[] = [
  {
    operationId: 'getHealth',
    method: 'GET',
    path: '/health',
    family: 'public',
    access: { kind: 'public' },
    summary: 'Liveness',
    responses: { 200: healthSchema },
  },
  {
    operationId: 'getOpenApi',
    method: 'GET',
    path: '/v1/openapi.json',
    family: 'public',
    access: { kind: 'public' },
    summary: 'This API as an OpenAPI 3.1 document',
    responses: { 200: z.record(z.string(), z.unknown()) },
  },
  {
    operationId: 'getDocs',
    method: 'GET',
    path: '/docs',
    family: 'public',
    access: { kind: 'public' },
    summary: 'Documentation page for this API',
    responses: { 200: { binary: ['text/html'] } },
  },
  // Tenants and keys: the platform operator
  {
    operationId: 'createTenant',
    method: 'POST',
    path: '/v1/tenants',
    family: 'tenants',
    access: admin,
    summary: 'Create a tenant (a clinic)',
    request: { body: newTenantSchema },
    responses: { 201: tenantSchema },
    idempotent: true,
  },
  {
    operationId: 'listTenants',
    method: 'GET',
    path: '/v1/tenants',
    family: 'tenants',
    access: admin,
    summary: 'List tenants, oldest first',
    request: { query: pageQuery },
    responses: { 200: pageOf(tenantSchema, 'TenantPage') },
  },
  {
    operationId: 'getTenant',
    method: 'GET',
    path: '/v1/tenants/{tenantId}',
    family: 'tenants',
    access: admin,
    summary: 'Read a tenant',
    request: { params: tenantParams },
    responses: { 200: tenantSchema },
  },
  {
    operationId: 'eraseTenant',
    method: 'DELETE',
    path: '/v1/tenants/{tenantId}',
    family: 'tenants',
    access: admin,
    summary:
      "Erase a tenant: its keys stop working within a minute (the authorizer's cache), its data is erased after",
    request: { params: tenantParams },
    responses: { 202: tenantSchema },
  },
  {
    operationId: 'createApiKey',
    method: 'POST',
    path: '/v1/tenants/{tenantId}/api-keys',
    family: 'tenants',
    access: admin,
    summary: 'Issue a tenant key; the key is shown only in this response',
    request: { params: tenantParams, body: newApiKeySchema },
    responses: { 201: issuedApiKeySchema },
    // No Idempotency-Key: a replay would have to show the secret again, so the idempotency table
    // would keep it in clear for a day. A lost answer is a key to revoke and issue again.
  },
  {
    operationId: 'listApiKeys',
    method: 'GET',
    path: '/v1/tenants/{tenantId}/api-keys',
    family: 'tenants',
    access: admin,
    summary: "List a tenant's keys (never their secrets)",
    request: { params: tenantParams, query: pageQuery },
    responses: { 200: apiKeyPageSchema },
  },
  {
    operationId: 'revokeApiKey',
    method: 'DELETE',
    path: '/v1/tenants/{tenantId}/api-keys/{keyId}',
    family: 'tenants',
    access: admin,
    summary: 'Revoke a key (effective within a minute)',
    request: { params: keyParams },
    responses: { 200: apiKeySchema },
  },
  // The operator's read-only views, behind the operator dashboard: a function of their own, which may
  // read only what these show (docs/api.md, "The operator's views").
  {
    operationId: 'getRunners',
    method: 'GET',
    path: '/v1/admin/runners',
    family: 'admin',
    access: admin,
    summary: 'The runners and the shards each holds, as their lease and membership records say',
    responses: { 200: runnersSchema },
  },
  {
    operationId: 'listAllChannels',
    method: 'GET',
    path: '/v1/admin/channels',
    family: 'admin',
    access: admin,
    summary:
      "Channels across tenants (by shard, then oldest first) or one tenant's (oldest first), without pairing secrets",
    request: { query: adminChannelListQuery },
    responses: { 200: pageOf(adminChannelSchema, 'AdminChannelPage') },
  },
  {
    operationId: 'countChannels',
    method: 'GET',
    path: '/v1/admin/channels/counts',
    family: 'admin',
    access: admin,
    summary:
      'Live channels per tenant and status, from a bounded read (`complete` says whether it read them all)',
    request: { query: channelCountQuery },
    responses: { 200: channelCountsSchema },
  },
  // A tenant's own keys: the operator's key routes for one's own tenant, within the key's own scopes.
  {
    operationId: 'listOwnApiKeys',
    method: 'GET',
    path: '/v1/api-keys',
    family: 'tenants',
    access: tenant('keys:manage'),
    summary: "List your tenant's keys, oldest first (never their secrets)",
    request: { query: pageQuery },
    responses: { 200: apiKeyPageSchema },
  },
  {
    operationId: 'createOwnApiKey',
    method: 'POST',
    path: '/v1/api-keys',
    family: 'tenants',
    access: tenant('keys:manage'),
    summary:
      'Issue a key of your tenant with scopes your key holds itself (403 `scope_not_held` otherwise); the key is shown only in this response',
    request: { body: newApiKeySchema },
    responses: { 201: issuedApiKeySchema },
    // No Idempotency-Key, as for the operator's: a replay would keep the secret in the idempotency table.
  },
  {
    operationId: 'revokeOwnApiKey',
    method: 'DELETE',
    path: '/v1/api-keys/{keyId}',
    family: 'tenants',
    access: tenant('keys:manage'),
    summary:
      'Revoke another key of your tenant (effective within a minute); not the key making the request (409 `revoking_own_key`), nor one with a scope your key lacks (403 `scope_not_held`)',
    request: { params: ownKeyParams },
    responses: { 200: apiKeySchema },
  },
  // Channels
  {
    operationId: 'createChannel',
    method: 'POST',
    path: '/v1/channels',
    family: 'channels',
    access: tenant('channels:write'),
    summary: 'Create a channel (one WhatsApp number), disconnected',
    request: { body: newChannelSchema },
    responses: { 201: channelSchema },
    idempotent: true,
  },
  {
    operationId: 'listChannels',
    method: 'GET',
    path: '/v1/channels',
    family: 'channels',
    access: tenant('channels:read'),
    summary: 'List channels, oldest first',
    request: { query: pageQuery },
    responses: { 200: pageOf(channelSchema, 'ChannelPage') },
  },
  {
    operationId: 'getChannel',
    method: 'GET',
    path: '/v1/channels/{channelId}',
    family: 'channels',
    access: tenant('channels:read'),
    summary: 'Read a channel, with its QR or pairing code while it waits for a phone',
    request: { params: channelParams },
    responses: { 200: channelSchema },
  },
  {
    operationId: 'deleteChannel',
    method: 'DELETE',
    path: '/v1/channels/{channelId}',
    family: 'channels',
    access: tenant('channels:write'),
    summary: 'Log the channel out, then erase its credentials and keys',
    request: { params: channelParams },
    responses: { 202: acceptedSchema },
  },
  {
    operationId: 'connectChannel',
    method: 'POST',
    path: '/v1/channels/{channelId}/connect',
    family: 'channels',
    access: tenant('channels:write'),
    summary: 'Pair by QR or by pairing code; the status goes connecting → qr | pairing_code → open',
    request: { params: channelParams, body: connectSchema },
    responses: { 202: channelSchema },
  },
  {
    operationId: 'getChannelQr',
    method: 'GET',
    path: '/v1/channels/{channelId}/qr',
    family: 'channels',
    access: tenant('channels:read'),
    summary: 'The current QR as text, PNG or SVG; 409 when the channel is not waiting for a scan',
    request: { params: channelParams, query: qrQuery },
    responses: { 200: qrSchema },
    alsoRefuses: [409],
  },
  {
    operationId: 'logoutChannel',
    method: 'POST',
    path: '/v1/channels/{channelId}/logout',
    family: 'channels',
    access: tenant('channels:write'),
    summary: 'Log the number out of WhatsApp',
    request: { params: channelParams },
    responses: { 202: channelSchema },
  },
  {
    operationId: 'restartChannel',
    method: 'POST',
    path: '/v1/channels/{channelId}/restart',
    family: 'channels',
    access: tenant('channels:write'),
    summary: 'Reconnect the channel from its stored session',
    request: { params: channelParams },
    responses: { 202: channelSchema },
  },
  // Messages
  {
    operationId: 'sendMessage',
    method: 'POST',
    path: '/v1/channels/{channelId}/messages',
    family: 'messages',
    access: tenant('messages:send'),
    summary: 'Queue a message for sending',
    request: { params: channelParams, body: sendMessageSchema },
    responses: { 202: queuedMessageSchema },
    idempotent: true,
  },
  {
    operationId: 'listMessages',
    method: 'GET',
    path: '/v1/channels/{channelId}/messages',
    family: 'messages',
    access: tenant('messages:read'),
    summary: "The channel's messages, newest first",
    request: { params: channelParams, query: messageListQuery },
    responses: { 200: messagePage },
  },
  {
    // The list with its filter in the body: the dashboard's way, so no patient's number is in a URL.
    operationId: 'searchMessages',
    method: 'POST',
    path: '/v1/channels/{channelId}/messages/search',
    family: 'messages',
    access: tenant('messages:read'),
    summary:
      "The channel's messages, newest first, filtered by a JSON body (a contact's number stays out of the URL)",
    request: { params: channelParams, body: messageSearchSchema, bodyOptional: true },
    responses: { 200: messagePage },
  },
  {
    operationId: 'getMessage',
    method: 'GET',
    path: '/v1/channels/{channelId}/messages/{messageId}',
    family: 'messages',
    access: tenant('messages:read'),
    summary: 'One message with its status history',
    request: { params: messageParams },
    responses: { 200: messageSchema },
  },
  {
    operationId: 'markMessageRead',
    method: 'POST',
    path: '/v1/channels/{channelId}/messages/{messageId}/read',
    family: 'messages',
    access: tenant('messages:send'),
    summary: 'Mark a received message read (blue ticks)',
    request: { params: messageParams },
    responses: { 202: acceptedSchema },
  },
  {
    operationId: 'checkContacts',
    method: 'POST',
    path: '/v1/channels/{channelId}/contacts/check',
    family: 'messages',
    access: tenant('messages:send'),
    summary: 'Which numbers are on WhatsApp: 200 with the answer, or 202 with a check to poll',
    request: { params: channelParams, body: contactCheckRequestSchema },
    responses: { 200: contactCheckSchema, 202: contactCheckSchema },
  },
  {
    operationId: 'getContactCheck',
    method: 'GET',
    path: '/v1/channels/{channelId}/contacts/checks/{checkId}',
    family: 'messages',
    access: tenant('messages:send'),
    summary: 'A contact check that was still pending',
    request: { params: checkParams },
    responses: { 200: contactCheckSchema },
  },
  // Media
  {
    operationId: 'uploadMedia',
    method: 'POST',
    path: '/v1/media',
    family: 'messages',
    access: tenant('messages:send'),
    summary: `Upload a file for sending (up to ${DIRECT_UPLOAD_MAX_BYTES / 1024 / 1024} MB; larger files through POST /v1/media/uploads): the body is the file, its Content-Type the file's type, or a multipart form with a \`file\` part`,
    request: { query: uploadQuery, upload: { maxBytes: DIRECT_UPLOAD_MAX_BYTES } },
    responses: { 201: mediaSchema },
    idempotent: true,
  },
  {
    operationId: 'startMediaUpload',
    method: 'POST',
    path: '/v1/media/uploads',
    family: 'messages',
    access: tenant('messages:send'),
    summary: `Reserve a media id for a file of up to ${MEDIA_MAX_BYTES / 1024 / 1024} MB and get a URL to PUT it to (with the headers given)`,
    request: { body: newUploadSchema },
    responses: { 201: mediaUploadSchema },
    idempotent: true,
  },
  {
    operationId: 'getMedia',
    method: 'GET',
    path: '/v1/media/{mediaId}',
    family: 'messages',
    access: tenant('messages:read'),
    summary: 'A stored file with a short-lived download URL',
    request: { params: mediaParams },
    responses: { 200: mediaDownloadSchema },
  },
  // The event log: with the messages function, as its events carry the same patient content under
  // the same scope and it needs no grant that function lacks (docs/api.md).
  {
    operationId: 'listEvents',
    method: 'GET',
    path: '/v1/events',
    family: 'messages',
    access: tenant('messages:read'),
    summary:
      'The event log: your events in the order they arrived, oldest first, after `after` (an event id) or where `nextCursor` stopped, to catch up after downtime',
    request: { query: eventListQuery },
    responses: { 200: pageOf(eventSchema, 'EventPage') },
    // `after` naming no event of yours.
    alsoRefuses: [404],
  },
  // Webhooks
  {
    operationId: 'createWebhook',
    method: 'POST',
    path: '/v1/webhooks',
    family: 'webhooks',
    access: webhooks,
    summary: `Create a webhook (at most ${MAX_WEBHOOKS_PER_TENANT} per tenant): its signing secret is shown only in this response`,
    request: { body: newWebhookSchema },
    responses: { 201: issuedWebhookSchema },
    // A replay answers the first response, secret included: the idempotency record keeps the secret
    // sealed (the webhook-secrets key), and each answer opens it (functions/webhooks/routes.ts).
    idempotent: true,
  },
  {
    operationId: 'listWebhooks',
    method: 'GET',
    path: '/v1/webhooks',
    family: 'webhooks',
    access: webhooks,
    summary: 'List webhooks, oldest first (never their secrets)',
    request: { query: pageQuery },
    responses: { 200: pageOf(webhookSchema, 'WebhookPage') },
  },
  {
    operationId: 'getWebhook',
    method: 'GET',
    path: '/v1/webhooks/{webhookId}',
    family: 'webhooks',
    access: webhooks,
    summary: 'Read a webhook (never its secrets)',
    request: { params: webhookParams },
    responses: { 200: webhookSchema },
  },
  {
    operationId: 'updateWebhook',
    method: 'PATCH',
    path: '/v1/webhooks/{webhookId}',
    family: 'webhooks',
    access: webhooks,
    summary: 'Change a webhook’s URL, events, channels or description, or disable and enable it',
    request: { params: webhookParams, body: webhookPatchSchema },
    responses: { 200: webhookSchema },
  },
  {
    operationId: 'deleteWebhook',
    method: 'DELETE',
    path: '/v1/webhooks/{webhookId}',
    family: 'webhooks',
    access: webhooks,
    summary: 'Delete a webhook: nothing more is delivered to it',
    request: { params: webhookParams },
    responses: { 200: acceptedSchema },
  },
  {
    operationId: 'rotateWebhookSecret',
    method: 'POST',
    path: '/v1/webhooks/{webhookId}/rotate-secret',
    family: 'webhooks',
    access: webhooks,
    summary:
      'A new signing secret, shown only in this response; the previous one keeps signing until `previousSecretExpiresAt`',
    request: { params: webhookParams, body: secretRotationSchema, bodyOptional: true },
    responses: { 200: rotatedSecretSchema },
    // No Idempotency-Key: a retry after a lost answer rotates again, which is harmless (the secret
    // before both still signs for its overlap), and the client keeps the secret it was answered.
  },
  {
    operationId: 'testWebhook',
    method: 'POST',
    path: '/v1/webhooks/{webhookId}/test',
    family: 'webhooks',
    access: webhooks,
    summary: 'Send a `webhook.test` event to this webhook alone; 409 while it is disabled',
    request: { params: webhookParams },
    responses: { 202: queuedDeliverySchema },
    idempotent: true,
  },
  {
    operationId: 'listDeliveries',
    method: 'GET',
    path: '/v1/webhooks/{webhookId}/deliveries',
    family: 'webhooks',
    access: webhooks,
    summary:
      'A webhook’s deliveries, newest first, with their tries: status code, latency, error, response excerpt',
    request: { params: webhookParams, query: deliveryListQuery },
    responses: { 200: pageOf(deliverySchema, 'WebhookDeliveryPage') },
  },
  {
    operationId: 'redeliver',
    method: 'POST',
    path: '/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver',
    family: 'webhooks',
    access: webhooks,
    summary: 'Try a delivery again, from the start of the retry schedule; 409 while the webhook is disabled',
    request: { params: deliveryParams },
    responses: { 202: queuedDeliverySchema },
  },
  {
    operationId: 'recoverDeliveries',
    method: 'POST',
    path: '/v1/webhooks/{webhookId}/recover',
    family: 'webhooks',
    access: webhooks,
    summary: `Try every dead delivery of events since a time again, up to ${MAX_RECOVERED_PER_REQUEST} per request: repeat the request while \`complete\` is false`,
    request: { params: webhookParams, body: recoveryRequestSchema },
    responses: { 202: recoverySchema },
  },
];

/** `/v1/channels/{channelId}` → `/v1/channels/:channelId` (the Powertools router's form). */
export function routerPath(path: string): string {
  return path.replaceAll(/\{(\w+)\}/g, ':$1');
}
