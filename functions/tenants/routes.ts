import type { PageRequest } from '#shared/domain/pagination.ts';
import {
  createTenant,
  eraseTenant,
  getTenant,
  issueApiKey,
  listApiKeys,
  listTenants,
  revokeApiKey,
  type TenantDependencies,
} from '#shared/use-cases/tenants.ts';
import type { RouteImplementation } from '../http/api-router.ts';
import { apiKeyView, pageView, tenantView } from '../http/presenters.ts';

/** The operator's routes: tenants and their keys. */
export function tenantRoutes(deps: TenantDependencies): Record<string, RouteImplementation> {
  return {
    createTenant: async ({ body }) => ({
      status: 201,
      body: tenantView(await createTenant(deps, body as { name: string; retentionDays?: number })),
    }),
    listTenants: async ({ query }) => ({
      status: 200,
      body: pageView(await listTenants(deps, query as PageRequest), tenantView),
    }),
    getTenant: async ({ params }) => ({
      status: 200,
      body: tenantView(await getTenant(deps, params.tenantId as string)),
    }),
    eraseTenant: async ({ params }) => ({
      status: 202,
      body: tenantView(await eraseTenant(deps, params.tenantId as string)),
    }),
    createApiKey: async ({ params, body }) => {
      const { apiKey, key } = await issueApiKey(
        deps,
        params.tenantId as string,
        body as { name: string; scopes: string[] },
      );
      return { status: 201, body: { ...apiKeyView(apiKey), key } };
    },
    listApiKeys: async ({ params, query }) => ({
      status: 200,
      body: pageView(await listApiKeys(deps, params.tenantId as string, query as PageRequest), apiKeyView),
    }),
    revokeApiKey: async ({ params }) => ({
      status: 200,
      body: apiKeyView(await revokeApiKey(deps, params.tenantId as string, params.keyId as string)),
    }),
  };
}
