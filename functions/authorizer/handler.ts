// Lambda: the API's authorizer (authorizer.ts), on the platform's tenants and keys.
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { createPlatform } from '#shared/platform.ts';
import { adminKeySource } from './admin-key.ts';
import { createAuthorizer } from './authorizer.ts';

const platform = createPlatform({ source: 'api' });

export const handler = createAuthorizer({
  tenants: platform.tenants,
  apiKeys: platform.apiKeys,
  adminKey: adminKeySource(process.env, getSecret),
});
