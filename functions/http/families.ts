import type { Platform } from '#shared/platform.ts';
import { adminRoutes } from '../admin/routes.ts';
import { channelRoutes } from '../channels/routes.ts';
import { messageRoutes } from '../messages/routes.ts';
import { publicRoutes } from '../public/routes.ts';
import { tenantRoutes } from '../tenants/routes.ts';
import { webhookRoutes } from '../webhooks/routes.ts';
import type { ApiConfig } from './api-config.ts';
import { createApiRouter } from './api-router.ts';
import { createGuards } from './guards.ts';
import { type ApiHandler, apiLambda } from './lambda.ts';
import type { FunctionFamily } from './routes.ts';

/**
 * Each function family's handler on one platform: what each Lambda entry point builds for itself
 * (functions/<family>/handler.ts), all at once for the local front and the tests.
 */
export function familyHandler(family: FunctionFamily, platform: Platform, config: ApiConfig): ApiHandler {
  if (family === 'public') return apiLambda(createApiRouter('public', publicRoutes()));
  // Admin routes are neither rate limited nor idempotent: the operator's views take no guards.
  if (family === 'admin') return apiLambda(createApiRouter('admin', adminRoutes(platform)));
  const guards = createGuards(platform, config.rateLimit);
  const routes =
    family === 'tenants'
      ? tenantRoutes(platform)
      : family === 'channels'
        ? channelRoutes(platform)
        : family === 'webhooks'
          ? webhookRoutes(platform)
          : messageRoutes(platform);
  return apiLambda(createApiRouter(family, routes, guards), guards);
}
