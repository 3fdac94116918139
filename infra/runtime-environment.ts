// The contract between the stateful stack and everything that uses it: the stack publishes these
// variables as its `RuntimeEnvironment` output, the local provisioner resolves the same output, and
// the constructs' `bind…` methods set them on functions and tasks. `shared/config.ts` parses them.
import type { IGrantable } from 'aws-cdk-lib/aws-iam';

export const RUNTIME_ENVIRONMENT_KEYS = [
  'PLATFORM_TABLE_NAME',
  'SESSIONS_TABLE_NAME',
  'IDEMPOTENCY_TABLE_NAME',
  /** Comma-separated queue URLs; the index is the shard number. */
  'COMMAND_QUEUE_URLS',
  'SHARD_COUNT',
  'EVENT_BUS_NAME',
  'RECORDER_QUEUE_URL',
  'WEBHOOK_QUEUE_URL',
  /** QR and pairing codes only, on queues that keep them no longer than they are valid. */
  'RECORDER_PAIRING_QUEUE_URL',
  'WEBHOOK_PAIRING_QUEUE_URL',
  'SESSION_KEY_ARN',
  'MEDIA_BUCKET_NAME',
  /** Deliveries to try: the webhook dispatcher's work queue. */
  'WEBHOOK_DELIVERY_QUEUE_URL',
  /** First tries of deliveries, in order per webhook and channel (FIFO). */
  'WEBHOOK_ORDERED_QUEUE_URL',
  /** The key that seals webhook secrets: given only with a grant on it (`BOUND_ONLY_KEYS`). */
  'WEBHOOK_SECRET_KEY_ARN',
] as const;

export type RuntimeEnvironmentKey = (typeof RUNTIME_ENVIRONMENT_KEYS)[number];

/**
 * Variables only a `bind…` call sets, together with the access they name: `completeEnvironment`
 * leaves them out. `shared/config.ts` reads them as optional, and whoever needs one has its grant;
 * every other function is spared ~100 bytes of Lambda's 4 KB (docs/infra.md, "Shard count").
 */
export const BOUND_ONLY_KEYS: readonly RuntimeEnvironmentKey[] = ['WEBHOOK_SECRET_KEY_ARN'];
export type RuntimeEnvironment = Readonly<Record<RuntimeEnvironmentKey, string>>;

/** The stack output that carries the environment as one JSON object. */
export const RUNTIME_ENVIRONMENT_OUTPUT = 'RuntimeEnvironment';

/**
 * Something that runs our code and can be given access: a Lambda function, or an ECS task's role
 * together with its container. `bind…` methods grant and set the variable in one call, so access
 * and configuration cannot drift apart.
 */
export interface RuntimeConsumer extends IGrantable {
  addEnvironment(key: RuntimeEnvironmentKey, value: string): void;
}

/** Parses the output's JSON, insisting on exactly the contract's keys, each a non-empty string. */
export function parseRuntimeEnvironment(json: string): RuntimeEnvironment {
  const value: unknown = JSON.parse(json);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${RUNTIME_ENVIRONMENT_OUTPUT} is not a JSON object`);
  }
  const record = value as Record<string, unknown>;
  const missing = RUNTIME_ENVIRONMENT_KEYS.filter(
    (key) => typeof record[key] !== 'string' || record[key] === '',
  );
  const unexpected = Object.keys(record).filter(
    (key) => !(RUNTIME_ENVIRONMENT_KEYS as readonly string[]).includes(key),
  );
  if (missing.length > 0 || unexpected.length > 0) {
    throw new Error(
      `${RUNTIME_ENVIRONMENT_OUTPUT} does not match the contract` +
        (missing.length ? `; missing or empty: ${missing.join(', ')}` : '') +
        (unexpected.length ? `; unexpected: ${unexpected.join(', ')}` : ''),
    );
  }
  return Object.fromEntries(RUNTIME_ENVIRONMENT_KEYS.map((key) => [key, record[key]])) as RuntimeEnvironment;
}
