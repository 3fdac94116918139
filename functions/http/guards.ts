import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Context } from 'aws-lambda';
import { DynamoRateLimiter, type RateLimit } from '#shared/aws/dynamo/rate-limiter.ts';
import { ConflictError, idempotencyKeyReused } from '#shared/domain/errors.ts';
import { IDEMPOTENCY_WINDOW_SECONDS } from '#shared/domain/send-claim.ts';
import type { Platform } from '#shared/platform.ts';
import type { RouteGuards, RouteResult } from './api-router.ts';

/** How long a response is kept for replays of its `Idempotency-Key` (API.md: 24 h). */
export const IDEMPOTENCY_TTL_SECONDS = IDEMPOTENCY_WINDOW_SECONDS;

export interface Guards extends RouteGuards {
  /** Lets idempotency records expire with the invocation that wrote them (Lambda's remaining time). */
  registerContext(context: Context): void;
}

/**
 * The tenant's rate limit and Powertools Idempotency on the stack's idempotency table. A record is
 * keyed by tenant and key; the route, its path ids and its body are the payload a replay must
 * match, else 409 `idempotency_key_reused`. Only successful responses are kept: a request that
 * failed may be retried with its key.
 */
export function createGuards(platform: Platform, rateLimit?: RateLimit): Guards {
  const limiter = new DynamoRateLimiter(platform.clients.dynamo, platform.resources.platformTable, rateLimit);
  const config = new IdempotencyConfig({
    eventKeyJmesPath: '[tenantId, key]',
    payloadValidationJmesPath: 'request',
    expiresAfterSeconds: IDEMPOTENCY_TTL_SECONDS,
    throwOnNoIdempotencyKey: true,
  });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: platform.resources.idempotencyTable,
    awsSdkV3Client: platform.clients.dynamoBase,
  });
  const once = makeIdempotent(
    async (_scope: { tenantId: string; key: string; request: unknown }, run: () => Promise<RouteResult>) =>
      run(),
    { persistenceStore, config, keyPrefix: 'clinic-wa-api', dataIndexArgument: 0 },
  );
  return {
    limitRate: (tenantId) => limiter.take(tenantId),
    idempotent: async (scope, run) => {
      try {
        return await once({ tenantId: scope.tenantId, key: scope.key, request: scope.request }, run);
      } catch (error) {
        throw idempotencyConflict(error) ?? error;
      }
    },
    registerContext: (context) => config.registerLambdaContext(context),
  };
}

function idempotencyConflict(error: unknown): ConflictError | null {
  const name = (error as Error)?.name;
  if (name === 'IdempotencyValidationError') return idempotencyKeyReused();
  if (name === 'IdempotencyAlreadyInProgressError') {
    return new ConflictError(
      'idempotency_key_in_use',
      'A request with this Idempotency-Key is still being processed; retry in a moment',
    );
  }
  return null;
}
