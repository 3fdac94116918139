// Lambda: a tenant's channels. Built from its own routes only, so its bundle carries no other family's code.
import { createPlatform } from '#shared/platform.ts';
import { loadApiConfig } from '../http/api-config.ts';
import { createApiRouter } from '../http/api-router.ts';
import { createGuards } from '../http/guards.ts';
import { apiLambda } from '../http/lambda.ts';
import { channelRoutes } from './routes.ts';

const platform = createPlatform({ source: 'api' });
const guards = createGuards(platform, loadApiConfig().rateLimit);

export const handler = apiLambda(createApiRouter('channels', channelRoutes(platform), guards), guards);
