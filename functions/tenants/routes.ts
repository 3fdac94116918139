import { TenantNotActiveError, UnauthenticatedError } from '#shared/domain/errors.ts';
import type { PageRequest } from '#shared/domain/pagination.ts';
import {
  type CallingKey,
  issueOwnApiKey,
  listOwnApiKeys,
  revokeOwnApiKey,
} from '#shared/use-cases/own-api-keys.ts';
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
import type { RouteImplementation, RouteInput } from '../http/api-router.ts';
import { apiKeyView, pageView, tenantView } from '../http/presenters.ts';

/** The operator's routes (tenants and their keys), and a tenant's own keys. */
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
    listOwnApiKeys: async (input) => ({
      status: 200,
      body: pageView(await listOwnApiKeys(deps, callerOf(input), input.query as PageRequest), apiKeyView),
    }),
    createOwnApiKey: async (input) => {
      try {
        const { apiKey, key } = await issueOwnApiKey(
          deps,
          callerOf(input),
          input.body as { name: string; scopes: string[] },
        );
        return { status: 201, body: { ...apiKeyView(apiKey), key } };
      } catch (error) {
        // The caller's own tenant, erased since the authorizer's cached answer: its key is no longer good.
        if (error instanceof TenantNotActiveError) throw new UnauthenticatedError();
        throw error;
      }
    },
    revokeOwnApiKey: async (input) => ({
      status: 200,
      body: apiKeyView(await revokeOwnApiKey(deps, callerOf(input), input.params.keyId as string)),
    }),
  };
}

/** The key a tenant route was called with (its principal was checked before the route ran). */
function callerOf(input: Pick<RouteInput, 'principal'>): CallingKey {
  if (input.principal?.kind !== 'tenant') throw new Error('tenant route without a tenant principal');
  const { tenantId, keyId, scopes } = input.principal;
  return { tenantId, keyId, scopes };
}
