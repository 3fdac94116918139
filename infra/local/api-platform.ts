// The API's functions and authorizer on one platform, in one process: what the local front serves
// (`npm start`) and what the API tests call through real HTTP.
import { adminKeySource } from '#functions/authorizer/admin-key.ts';
import { createAuthorizer } from '#functions/authorizer/authorizer.ts';
import { loadApiConfig } from '#functions/http/api-config.ts';
import { familyHandler } from '#functions/http/families.ts';
import { FUNCTION_FAMILIES } from '#functions/http/routes.ts';
import type { Environment } from '#shared/config.ts';
import { createPlatform } from '#shared/platform.ts';
import { type ApiFront, startApiFront } from './api-front.ts';

export async function startLocalApi(options: {
  readonly env: Environment;
  readonly port?: number;
  readonly authorizerCacheSeconds?: number;
}): Promise<ApiFront> {
  const platform = createPlatform({ source: 'api', env: options.env });
  const config = loadApiConfig(options.env);
  const handlers = Object.fromEntries(
    FUNCTION_FAMILIES.map((family) => [family, familyHandler(family, platform, config)]),
  ) as Record<(typeof FUNCTION_FAMILIES)[number], ReturnType<typeof familyHandler>>;
  const authorizer = createAuthorizer({
    tenants: platform.tenants,
    apiKeys: platform.apiKeys,
    adminKey: adminKeySource(options.env, async () => undefined),
  });
  return startApiFront({
    handlers,
    authorizer,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.authorizerCacheSeconds !== undefined
      ? { authorizerCacheSeconds: options.authorizerCacheSeconds }
      : {}),
  });
}
