// Lambda: the operator's read-only views (runners and shards, channels across tenants). Built from
// its own routes only, and without the tenant guards: admin routes are not rate limited and none
// takes an Idempotency-Key, so this function writes nothing anywhere.
import { createPlatform } from '#shared/platform.ts';
import { createApiRouter } from '../http/api-router.ts';
import { apiLambda } from '../http/lambda.ts';
import { adminRoutes } from './routes.ts';

const platform = createPlatform({ source: 'api' });

export const handler = apiLambda(createApiRouter('admin', adminRoutes(platform)));
