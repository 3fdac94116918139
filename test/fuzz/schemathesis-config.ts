// The schemathesis.toml of a run: which key each operation is called with, and the real ids (and
// cursors) it mixes into what it generates, so requests reach the use cases and not only the 404
// of an id that names nothing. The keys stay out of the file: schemathesis reads them from the
// environment (`${…}`).
import type { TenantFixture } from '../integration/api/support/tenant-fixtures.ts';

/** The environment variables the configuration reads the keys from. */
export const KEY_VARIABLES = {
  admin: 'CLINIC_WA_FUZZ_ADMIN_KEY',
  tenant: 'CLINIC_WA_FUZZ_TENANT_KEY',
} as const;

/**
 * The checks that make sense for this API, and why the others do not:
 * - positive_data_acceptance: ids and cursors are opaque, so a request valid by the schema names
 *   nothing (404) or a cursor this API never returned (400); a channel's state answers 409;
 * - unsupported_method: a method a path does not have is a route API Gateway does not have, which
 *   it answers 404 (its MISSING_AUTHENTICATION_TOKEN response), not 405;
 * - allow_header_conformance: follows from the above (no 405, no Allow);
 * - missing_required_header: the only required header is Authorization (ignored_auth checks it);
 * - object_level_authorization: needs a second tenant's ids and key; the property tests
 *   (test/integration/api/api-properties.test.ts) check cross-tenant access;
 * - max_response_time: the emulator's timings say nothing about AWS's.
 */
export const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
  'response_headers_conformance',
  'negative_data_rejection',
  'ignored_auth',
  'use_after_free',
  'ensure_resource_availability',
] as const;

const quoted = (values: readonly string[]) => `[${values.map((value) => JSON.stringify(value)).join(', ')}]`;

/** How often a real id replaces a generated one. */
const REAL_ID_PROBABILITY = 0.7;

export function schemathesisConfig(tenant: TenantFixture, sandbox: TenantFixture): string {
  const { sendable, idle, disposable } = tenant.channels;
  const messages = [...tenant.messages.outbound, tenant.messages.inbound];
  const bind = (dictionary: string) =>
    `{ dictionary = "${dictionary}", probability = ${REAL_ID_PROBABILITY} }`;
  return `# Written by test/fuzz/api-schemathesis.ts for one run of \`npm run fuzz:api\`.

# Invalid data is refused with any of the API's 4xx; 413 is how an oversized one is refused.
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 409, 413, 415, 422, 429]

[dictionaries]
tenant-ids = { values = ${quoted([sandbox.tenantId])} }
key-ids = { values = ${quoted([sandbox.keyId])} }
channel-ids = { values = ${quoted([sendable, sendable, idle])} }
disposable-channel-ids = { values = ${quoted([disposable])} }
message-ids = { values = ${quoted(messages)} }
cursors = { values = ${quoted([tenant.cursors.channels, tenant.cursors.messages])} }

[parameters]
"path.tenantId" = ${bind('tenant-ids')}
"path.keyId" = ${bind('key-ids')}
"path.channelId" = ${bind('channel-ids')}
"path.messageId" = ${bind('message-ids')}
"query.cursor" = ${bind('cursors')}
"body.context.messageId" = ${bind('message-ids')}
"body.reaction.messageId" = ${bind('message-ids')}

# A clinic's key of all scopes, as the document's bearer scheme: schemathesis knows it is the
# credential, so it can leave it out to test what the API says without one.
[auth.openapi.bearer]
bearer = "\${${KEY_VARIABLES.tenant}}"

# The operator's routes with the admin key, on the sandbox tenant only (\`/v1/admin/…\` only read).
# An erased tenant stays readable (status \`erasing\`) until its data is gone, so the operator can
# follow the erasure: use_after_free does not apply. A tenant's own keys (\`/v1/api-keys\`) keep the
# tenant's bearer key.
[[operations]]
include-path-regex = "^/v1/(tenants|admin)"
headers = { Authorization = "Bearer \${${KEY_VARIABLES.admin}}" }
checks = { use_after_free = { enabled = false } }

# Deleting the channels the other operations aim at would leave them nothing to reach.
[[operations]]
include-operation-id = "deleteChannel"
parameters = { "path.channelId" = ${bind('disposable-channel-ids')} }
`;
}
