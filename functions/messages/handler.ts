// Lambda: a channel's messages and contact checks. Built from its own routes only, so its bundle carries no other family's code.
import { createPlatform } from '#shared/platform.ts';
import { loadApiConfig } from '../http/api-config.ts';
import { createApiRouter } from '../http/api-router.ts';
import { createGuards } from '../http/guards.ts';
import { apiLambda } from '../http/lambda.ts';
import { messageRoutes } from './routes.ts';

const platform = createPlatform({ source: 'api' });
const guards = createGuards(platform, loadApiConfig().rateLimit);

export const handler = apiLambda(createApiRouter('messages', messageRoutes(platform), guards), guards);
