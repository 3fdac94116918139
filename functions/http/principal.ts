import { type ApiKeyScope, hasScope } from '#shared/domain/api-key.ts';
import { ForbiddenError, UnauthenticatedError } from '#shared/domain/errors.ts';

// Who is calling, as the authorizer resolved it from `Authorization: Bearer …`. API Gateway hands
// the authorizer's context to the function as strings; the local front does the same.

export type Principal =
  | { readonly kind: 'admin' }
  | {
      readonly kind: 'tenant';
      readonly tenantId: string;
      readonly keyId: string;
      readonly scopes: readonly ApiKeyScope[];
    };

/** The authorizer's context: flat strings, the only values API Gateway passes on. */
export type AuthorizerContext = Readonly<Record<string, string>>;

export function principalContext(principal: Principal): AuthorizerContext {
  return principal.kind === 'admin'
    ? { kind: 'admin' }
    : {
        kind: 'tenant',
        tenantId: principal.tenantId,
        keyId: principal.keyId,
        scopes: principal.scopes.join(' '),
      };
}

export function principalOf(context: Readonly<Record<string, unknown>> | null | undefined): Principal {
  if (context?.kind === 'admin') return { kind: 'admin' };
  if (
    context?.kind === 'tenant' &&
    typeof context.tenantId === 'string' &&
    typeof context.keyId === 'string' &&
    typeof context.scopes === 'string'
  ) {
    const scopes = context.scopes.split(' ').filter(Boolean) as ApiKeyScope[];
    return { kind: 'tenant', tenantId: context.tenantId, keyId: context.keyId, scopes };
  }
  throw new UnauthenticatedError();
}

export function requireAdmin(principal: Principal): void {
  if (principal.kind !== 'admin') throw new ForbiddenError('This route needs the admin key', 'admin_only');
}

/** The tenant a tenant key acts for, when it has the scope; the admin key acts for no tenant. */
export function requireTenantScope(principal: Principal, scope: ApiKeyScope): string {
  if (principal.kind !== 'tenant') {
    throw new ForbiddenError('This route needs a tenant key', 'tenant_only');
  }
  if (!hasScope(principal, scope)) {
    throw new ForbiddenError(`This route needs the ${scope} scope`);
  }
  return principal.tenantId;
}
