import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { RateLimitedError } from '../../domain/errors.ts';
import { conditionally } from './conditional-write.ts';
import { tenantPartition } from './platform-keys.ts';

export interface RateLimit {
  /** Requests a tenant may make per window. */
  readonly requests: number;
  readonly windowSeconds: number;
}

/** 20 requests a second on average, with bursts of up to 200 within ten seconds. */
export const DEFAULT_RATE_LIMIT: RateLimit = { requests: 200, windowSeconds: 10 };

/**
 * A per-tenant request limit in fixed windows: one conditional write per request (a counter that
 * may not pass the limit), no read, so it adds one round trip and no race. A token bucket needs the
 * bucket's state read, refilled and written back under a condition: two round trips, and a retry
 * whenever two requests of the tenant meet. The counters expire with DynamoDB's TTL.
 */
export class DynamoRateLimiter {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly limit: RateLimit = DEFAULT_RATE_LIMIT,
    private readonly now: () => number = Date.now,
  ) {}

  async take(tenantId: string): Promise<void> {
    const windowMs = this.limit.windowSeconds * 1000;
    const windowStart = Math.floor(this.now() / windowMs) * windowMs;
    const retryAfterSeconds = Math.max(1, Math.ceil((windowStart + windowMs - this.now()) / 1000));
    await conditionally(
      () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: tenantPartition(tenantId), sk: `RATE#${windowStart}` },
            UpdateExpression: 'SET entity = :entity, expiresAt = :expiresAt ADD requests :one',
            ConditionExpression: 'attribute_not_exists(requests) OR requests < :limit',
            ExpressionAttributeValues: {
              ':entity': 'rateWindow',
              ':expiresAt': Math.ceil((windowStart + 2 * windowMs) / 1000),
              ':one': 1,
              ':limit': this.limit.requests,
            },
          }),
        ),
      () => new RateLimitedError(retryAfterSeconds),
    );
  }
}
