import { z } from 'zod';
import { DEFAULT_RATE_LIMIT, type RateLimit } from '#shared/aws/dynamo/rate-limiter.ts';
import { type Environment, readConfig } from '#shared/config.ts';

/** The API functions' own settings (the resources they reach come from shared/config.ts). */
const apiConfigSchema = z
  .object({
    /** Requests a tenant may make per window before 429 (`rate_limited`). */
    TENANT_RATE_LIMIT_REQUESTS: z.coerce.number().int().min(1).default(DEFAULT_RATE_LIMIT.requests),
    TENANT_RATE_LIMIT_WINDOW_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(DEFAULT_RATE_LIMIT.windowSeconds),
  })
  .transform((env): { rateLimit: RateLimit } => ({
    rateLimit: {
      requests: env.TENANT_RATE_LIMIT_REQUESTS,
      windowSeconds: env.TENANT_RATE_LIMIT_WINDOW_SECONDS,
    },
  }));

export type ApiConfig = z.output<typeof apiConfigSchema>;

export const loadApiConfig = (env?: Environment): ApiConfig => readConfig(apiConfigSchema, env);
