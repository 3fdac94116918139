// Typed configuration, read once at start-up from the environment. A missing or malformed variable
// fails at once with its name, instead of surfacing as `undefined` deep in a request.
import { z } from 'zod';
import { DEFAULT_SETTLE_MS } from './domain/event-log.ts';
import { DEFAULT_CLUSTER } from './domain/fence.ts';

export class ConfigurationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigurationError';
  }
}

export type Environment = Readonly<Record<string, string | undefined>>;

export function readConfig<Schema extends z.ZodType>(
  schema: Schema,
  env: Environment = process.env,
): z.output<Schema> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigurationError(
    result.error.issues.map((issue) => {
      const variable = issue.path.join('.') || '(environment)';
      return env[variable] === undefined && issue.path.length > 0
        ? `${variable} is required`
        : `${variable}: ${issue.message}`;
    }),
  );
}

const name = z.string().trim().min(1);
const optionalUrl = z.url().optional();

/** The AWS services we call; each can be pointed at its own endpoint (e.g. a faster SQS emulator). */
export const AWS_SERVICES = ['dynamodb', 'sqs', 'kms', 'eventbridge', 's3', 'cloudwatch'] as const;
export type AwsService = (typeof AWS_SERVICES)[number];

export const awsConfigSchema = z
  .object({
    AWS_REGION: name.default('us-east-1'),
    AWS_ENDPOINT_URL: optionalUrl,
    AWS_ENDPOINT_URL_DYNAMODB: optionalUrl,
    AWS_ENDPOINT_URL_SQS: optionalUrl,
    AWS_ENDPOINT_URL_KMS: optionalUrl,
    AWS_ENDPOINT_URL_EVENTBRIDGE: optionalUrl,
    AWS_ENDPOINT_URL_S3: optionalUrl,
    AWS_ENDPOINT_URL_CLOUDWATCH: optionalUrl,
  })
  .transform((env) => ({
    region: env.AWS_REGION,
    /** Per-service endpoint, else the shared one, else undefined (the SDK's default: real AWS). */
    endpoints: Object.fromEntries(
      AWS_SERVICES.map((service) => [
        service,
        env[`AWS_ENDPOINT_URL_${service.toUpperCase()}` as keyof typeof env] ?? env.AWS_ENDPOINT_URL,
      ]),
    ) as Record<AwsService, string | undefined>,
  }));
export type AwsConfig = z.output<typeof awsConfigSchema>;

const commaList = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()))
  .pipe(z.array(z.url()).min(1));

/** The resources of the stateful stack; the keys are the stack's `RuntimeEnvironment` output. */
export const resourceConfigSchema = z
  .object({
    PLATFORM_TABLE_NAME: name,
    SESSIONS_TABLE_NAME: name,
    IDEMPOTENCY_TABLE_NAME: name,
    COMMAND_QUEUE_URLS: commaList,
    SHARD_COUNT: z.coerce.number().int().min(1).max(1024),
    EVENT_BUS_NAME: name,
    RECORDER_QUEUE_URL: z.url(),
    WEBHOOK_QUEUE_URL: z.url(),
    RECORDER_PAIRING_QUEUE_URL: z.url(),
    WEBHOOK_PAIRING_QUEUE_URL: z.url(),
    SESSION_KEY_ARN: name,
    MEDIA_BUCKET_NAME: name,
    WEBHOOK_DELIVERY_QUEUE_URL: z.url(),
    WEBHOOK_ORDERED_QUEUE_URL: z.url(),
    /**
     * The webhook-secrets key: only the functions that may use it are given it (the webhooks
     * function, the dispatcher: infra/runtime-environment.ts, `BOUND_ONLY_KEYS`); without it the
     * platform's `webhookSecrets` refuses to seal or open.
     */
    WEBHOOK_SECRET_KEY_ARN: name.optional(),
  })
  .refine((env) => env.COMMAND_QUEUE_URLS.length === env.SHARD_COUNT, {
    path: ['COMMAND_QUEUE_URLS'],
    message: 'must list exactly SHARD_COUNT queue URLs (one per shard)',
  })
  .transform((env) => ({
    platformTable: env.PLATFORM_TABLE_NAME,
    sessionsTable: env.SESSIONS_TABLE_NAME,
    idempotencyTable: env.IDEMPOTENCY_TABLE_NAME,
    commandQueueUrls: env.COMMAND_QUEUE_URLS,
    shardCount: env.SHARD_COUNT,
    eventBusName: env.EVENT_BUS_NAME,
    recorderQueueUrl: env.RECORDER_QUEUE_URL,
    webhookQueueUrl: env.WEBHOOK_QUEUE_URL,
    recorderPairingQueueUrl: env.RECORDER_PAIRING_QUEUE_URL,
    webhookPairingQueueUrl: env.WEBHOOK_PAIRING_QUEUE_URL,
    sessionKeyArn: env.SESSION_KEY_ARN,
    mediaBucket: env.MEDIA_BUCKET_NAME,
    webhookDeliveryQueueUrl: env.WEBHOOK_DELIVERY_QUEUE_URL,
    webhookOrderedQueueUrl: env.WEBHOOK_ORDERED_QUEUE_URL,
    webhookSecretKeyArn: env.WEBHOOK_SECRET_KEY_ARN ?? null,
  }));
export type ResourceConfig = z.output<typeof resourceConfigSchema>;

/**
 * Where webhooks may point (shared/net/webhook-url-policy.ts). `WEBHOOK_ALLOW_LOOPBACK=true` lets
 * them use `http:` and loopback addresses: local development only (`npm start` sets it); a deployed
 * stack never does.
 */
export const webhookUrlPolicySchema = z
  .object({
    WEBHOOK_ALLOW_LOOPBACK: z.enum(['true', 'false']).default('false'),
    AWS_EXECUTION_ENV: z.string().optional(),
  })
  .superRefine((env, context) => {
    if (env.WEBHOOK_ALLOW_LOOPBACK === 'true') refuseInsideLambda(env, 'WEBHOOK_ALLOW_LOOPBACK', context);
  })
  .transform((env) => ({ allowLoopback: env.WEBHOOK_ALLOW_LOOPBACK === 'true' }));
export type WebhookUrlPolicyConfig = z.output<typeof webhookUrlPolicySchema>;

/**
 * The event log's settle window (shared/domain/event-log.ts): one value for its writer (the recorder)
 * and its readers (the API), or a reader may pass a write that is still landing.
 */
export const eventLogConfigSchema = z
  .object({
    EVENT_LOG_SETTLE_MS: z.coerce.number().int().min(100).max(60_000).default(DEFAULT_SETTLE_MS),
  })
  .transform((env) => ({ settleMs: env.EVENT_LOG_SETTLE_MS }));
export type EventLogConfig = z.output<typeof eventLogConfigSchema>;

/** A runner cluster's name: the namespace of its leases and memberships in the sessions table. */
export const runnerClusterName = z
  .string()
  .regex(/^[\w-]+$/)
  .default(DEFAULT_CLUSTER);

/** Whose shards the operator's view reads (`RUNNER_CLUSTER`, the runners' own variable). */
export const shardOwnershipConfigSchema = z
  .object({ RUNNER_CLUSTER: runnerClusterName })
  .transform((env) => ({ cluster: env.RUNNER_CLUSTER }));
export type ShardOwnershipConfig = z.output<typeof shardOwnershipConfigSchema>;

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;

export const observabilityConfigSchema = z
  .object({
    LOG_LEVEL: z.enum(LOG_LEVELS).default('INFO'),
    STAGE: z.enum(['local', 'test', 'dev', 'prod']).default('local'),
  })
  .transform((env) => ({ logLevel: env.LOG_LEVEL, stage: env.STAGE }));
export type ObservabilityConfig = z.output<typeof observabilityConfigSchema>;

/**
 * Settings for local development and tests only: `http:` webhook URLs and loopback receivers
 * (`WEBHOOK_ALLOW_LOOPBACK=true`), a shrunk retry schedule (`WEBHOOK_RETRY_SCALE`, e.g. 0.001).
 * Inside Lambda (`AWS_EXECUTION_ENV`, set by the runtime and reserved: no template can set it) either
 * one fails the cold start, and synthesis refuses any function that sets them
 * (infra/platform-app.ts, `LocalOnlySettingsGuard`).
 */
export const LOCAL_ONLY_WEBHOOK_SETTINGS = ['WEBHOOK_ALLOW_LOOPBACK', 'WEBHOOK_RETRY_SCALE'] as const;

function refuseInsideLambda(
  env: { AWS_EXECUTION_ENV?: string | undefined },
  variable: (typeof LOCAL_ONLY_WEBHOOK_SETTINGS)[number],
  context: z.RefinementCtx,
): void {
  if (!env.AWS_EXECUTION_ENV?.startsWith('AWS_Lambda')) return;
  context.addIssue({
    code: 'custom',
    path: [variable],
    message: 'is for local development and tests only, never inside Lambda',
  });
}

/**
 * Runner settings for local development only: `PRINT_QR_TO_TERMINAL=true` draws each channel's QR in
 * the terminal (`npm start -- --whatsapp live`), where a deployed task would put the pairing secret
 * in its logs. Inside an ECS task (`AWS_EXECUTION_ENV`=`AWS_ECS_FARGATE`/`AWS_ECS_EC2` and
 * `ECS_CONTAINER_METADATA_URI_V4`, both set by ECS) the runner refuses to start with one, and
 * synthesis refuses a task definition that sets one (infra/platform-app.ts, `LocalOnlySettingsGuard`).
 */
export const LOCAL_ONLY_RUNNER_SETTINGS = ['PRINT_QR_TO_TERMINAL'] as const;

export function refuseInsideEcs(
  env: { AWS_EXECUTION_ENV?: string | undefined; ECS_CONTAINER_METADATA_URI_V4?: string | undefined },
  variable: (typeof LOCAL_ONLY_RUNNER_SETTINGS)[number],
  context: z.RefinementCtx,
): void {
  if (!env.AWS_EXECUTION_ENV?.startsWith('AWS_ECS') && !env.ECS_CONTAINER_METADATA_URI_V4) return;
  context.addIssue({
    code: 'custom',
    path: [variable],
    message: 'is for local development only, never in a deployed runner (ECS)',
  });
}

/** The dispatcher's own settings (where webhooks may point is `webhookUrlPolicySchema`'s). */
export const webhookDispatchConfigSchema = z
  .object({
    WEBHOOK_RETRY_SCALE: z.coerce.number().positive().max(1).default(1),
    AWS_EXECUTION_ENV: z.string().optional(),
  })
  .superRefine((env, context) => {
    if (env.WEBHOOK_RETRY_SCALE !== 1) refuseInsideLambda(env, 'WEBHOOK_RETRY_SCALE', context);
  })
  .transform((env) => ({ retryScale: env.WEBHOOK_RETRY_SCALE }));
export type WebhookDispatchConfig = z.output<typeof webhookDispatchConfigSchema>;

export const loadAwsConfig = (env?: Environment): AwsConfig => readConfig(awsConfigSchema, env);
export const loadResourceConfig = (env?: Environment): ResourceConfig =>
  readConfig(resourceConfigSchema, env);
export const loadEventLogConfig = (env?: Environment): EventLogConfig =>
  readConfig(eventLogConfigSchema, env);
export const loadObservabilityConfig = (env?: Environment): ObservabilityConfig =>
  readConfig(observabilityConfigSchema, env);
export const loadWebhookDispatchConfig = (env?: Environment): WebhookDispatchConfig =>
  readConfig(webhookDispatchConfigSchema, env);
export const loadShardOwnershipConfig = (env?: Environment): ShardOwnershipConfig =>
  readConfig(shardOwnershipConfigSchema, env);
export const loadWebhookUrlPolicy = (env?: Environment): WebhookUrlPolicyConfig =>
  readConfig(webhookUrlPolicySchema, env);
