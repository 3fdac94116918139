// Lambda: a tenant's webhooks and their deliveries. Built from its own routes only, so its bundle carries no other family's code.
import { createPlatform } from '#shared/platform.ts';
import { loadApiConfig } from '../http/api-config.ts';
import { createApiRouter } from '../http/api-router.ts';
import { createGuards } from '../http/guards.ts';
import { apiLambda } from '../http/lambda.ts';
import { webhookRoutes } from './routes.ts';

const platform = createPlatform({ source: 'api' });
const guards = createGuards(platform, loadApiConfig().rateLimit);

export const handler = apiLambda(createApiRouter('webhooks', webhookRoutes(platform), guards), guards);
