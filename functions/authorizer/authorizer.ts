import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { UnauthenticatedError } from '#shared/domain/errors.ts';
import { logger } from '#shared/observability.ts';
import { principalContext } from '../http/principal.ts';
import { type PrincipalDependencies, resolvePrincipal } from './resolve-principal.ts';

export type AuthorizerHandler = (
  event: APIGatewayRequestAuthorizerEvent,
  context: Context,
) => Promise<APIGatewayAuthorizerResult>;

/**
 * API Gateway's REQUEST authorizer: resolves `Authorization` to a principal and allows the whole
 * API for it; which routes the principal may use (admin, scopes) each handler checks. Anyone else
 * is `Unauthorized` (API Gateway answers 401). API Gateway caches the answer per header value, so a
 * revoked key stops working within the cache's time.
 */
export function createAuthorizer(deps: PrincipalDependencies): AuthorizerHandler {
  return middy<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event) => {
      try {
        const principal = await resolvePrincipal(deps, headerOf(event, 'authorization'));
        return {
          principalId: principal.kind === 'admin' ? 'admin' : principal.keyId,
          policyDocument: {
            Version: '2012-10-17',
            Statement: [
              { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: wholeApi(event.methodArn) },
            ],
          },
          context: principalContext(principal),
        };
      } catch (error) {
        if (error instanceof UnauthenticatedError) throw new Error('Unauthorized');
        throw error;
      }
    });
}

function headerOf(event: APIGatewayRequestAuthorizerEvent, name: string): string | undefined {
  const entry = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return entry?.[1] ?? undefined;
}

/**
 * `arn:…:api-id/stage/GET/v1/channels` → `arn:…:api-id/stage/*`: the cached answer is reused for any
 * route the same key calls, so it must allow them all.
 */
export function wholeApi(methodArn: string): string {
  const [api, stage] = methodArn.split('/');
  return `${api}/${stage}/*`;
}
