// Builds the real adapters against the emulator the global setup provisioned, the way a handler or
// the runner builds them from its environment.
import { inject } from 'vitest';
import { createDynamoClient } from '#shared/aws/clients.ts';
import { DynamoApiKeyRepository } from '#shared/aws/dynamo/api-key-repository.ts';
import { DynamoChannelRepository } from '#shared/aws/dynamo/channel-repository.ts';
import { DynamoMessageRepository } from '#shared/aws/dynamo/message-repository.ts';
import { DynamoTenantRepository } from '#shared/aws/dynamo/tenant-repository.ts';
import { loadAwsConfig, loadResourceConfig } from '#shared/config.ts';

export interface EmulatorContext {
  readonly endpoint: string;
  readonly region: string;
  readonly env: Readonly<Record<string, string>>;
}

/** The suite's shared emulator, or one a test started for itself (heavy tests want small tables). */
export function emulatorEnvironment(context: EmulatorContext = inject('localAws')): Record<string, string> {
  const { endpoint, region, env } = context;
  return {
    ...env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: region,
  };
}

export function platformRepositories(context?: EmulatorContext) {
  const env = emulatorEnvironment(context);
  const aws = loadAwsConfig(env);
  const resources = loadResourceConfig(env);
  const client = createDynamoClient(aws);
  return {
    client,
    resources,
    tenants: new DynamoTenantRepository(client, resources.platformTable),
    apiKeys: new DynamoApiKeyRepository(client, resources.platformTable),
    // As a runner builds them: writes with a fence check the leases in the sessions table.
    channels: new DynamoChannelRepository(client, resources.platformTable, {
      leaseTable: resources.sessionsTable,
    }),
    messages: new DynamoMessageRepository(client, resources.platformTable, {
      leaseTable: resources.sessionsTable,
    }),
  };
}
