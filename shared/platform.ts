// The composition root: configuration in, AWS clients and the ports the use cases need out, built
// once per process (a runner task, a Lambda cold start, a test suite, the bench). Every caller gets
// the same adapters; what differs between them is only the environment they read.
import {
  createCloudWatchClient,
  createDynamoBaseClient,
  createDynamoClient,
  createEventBridgeClient,
  createKmsClient,
  createS3Client,
  createSqsClient,
} from './aws/clients.ts';
import { DynamoApiKeyRepository } from './aws/dynamo/api-key-repository.ts';
import { DynamoChannelDirectory } from './aws/dynamo/channel-directory.ts';
import { DynamoChannelRepository } from './aws/dynamo/channel-repository.ts';
import { DynamoContactCheckRepository } from './aws/dynamo/contact-check-repository.ts';
import { DynamoDeliveryRepository } from './aws/dynamo/delivery-repository.ts';
import { DynamoEventLog } from './aws/dynamo/event-log.ts';
import { DynamoEventSequenceCursors } from './aws/dynamo/event-sequence-cursors.ts';
import { DynamoMessageOutbox } from './aws/dynamo/message-outbox.ts';
import { DynamoMessageRepository } from './aws/dynamo/message-repository.ts';
import { DynamoShardOwnershipReader } from './aws/dynamo/shard-ownership-reader.ts';
import { DynamoTenantRepository } from './aws/dynamo/tenant-repository.ts';
import { DynamoTenantRetention } from './aws/dynamo/tenant-retention.ts';
import { DynamoWebhookRepository } from './aws/dynamo/webhook-repository.ts';
import { EventBridgePublisher } from './aws/eventbridge-publisher.ts';
import { KmsWebhookSecretCipher } from './aws/kms-webhook-secret-cipher.ts';
import { S3MediaStore } from './aws/s3-media-store.ts';
import { SqsCommandBus } from './aws/sqs-command-bus.ts';
import { SqsDeliveryQueue } from './aws/sqs-delivery-queue.ts';
import { SqsMessageVisibility } from './aws/sqs-message-visibility.ts';
import { SqsOrderedDeliveryQueue } from './aws/sqs-ordered-delivery-queue.ts';
import {
  ConfigurationError,
  type Environment,
  loadAwsConfig,
  loadEventLogConfig,
  loadResourceConfig,
  loadShardOwnershipConfig,
  loadWebhookUrlPolicy,
} from './config.ts';
import { EVENT_SOURCES } from './domain/events.ts';
import type { WebhookSecretCipher } from './ports.ts';

export type EventSource = keyof typeof EVENT_SOURCES;

export interface PlatformOptions {
  /** Who publishes the events (`runner` or `api`): EventBridge's `source`. */
  readonly source: EventSource;
  readonly env?: Environment;
  /**
   * How long DynamoDB calls may take: `request` (3 s, tried twice: a client waits) or `background`
   * (15 s). By default the API's are `request` and the runner's `background`.
   */
  readonly dynamoTimeouts?: 'request' | 'background';
}

export type Platform = ReturnType<typeof createPlatform>;

/**
 * SDK clients connect on first use, so building all of them costs a process nothing it does not
 * call. Channel and message writes carry a shard's fence only when a runner passes one; the lease
 * table they check it against is named here for all callers.
 */
export function createPlatform({ source, env = process.env, dynamoTimeouts }: PlatformOptions) {
  const aws = loadAwsConfig(env);
  const resources = loadResourceConfig(env);
  // The API answers a waiting client; the runner's calls can afford to wait longer for DynamoDB.
  const dynamoBase = createDynamoBaseClient(
    aws,
    dynamoTimeouts ?? (source === 'api' ? 'request' : 'background'),
  );
  const clients = {
    dynamoBase,
    dynamo: createDynamoClient(aws, dynamoBase),
    sqs: createSqsClient(aws),
    kms: createKmsClient(aws),
    eventBridge: createEventBridgeClient(aws),
    s3: createS3Client(aws),
    cloudWatch: createCloudWatchClient(aws),
  };
  const table = resources.platformTable;
  const leases = { leaseTable: resources.sessionsTable };
  return {
    aws,
    resources,
    clients,
    tenants: new DynamoTenantRepository(clients.dynamo, table),
    apiKeys: new DynamoApiKeyRepository(clients.dynamo, table),
    channels: new DynamoChannelRepository(clients.dynamo, table, leases),
    messages: new DynamoMessageRepository(clients.dynamo, table, leases),
    contactChecks: new DynamoContactCheckRepository(clients.dynamo, table),
    outbox: new DynamoMessageOutbox(clients.dynamo, table),
    webhooks: new DynamoWebhookRepository(clients.dynamo, table),
    deliveries: new DynamoDeliveryRepository(clients.dynamo, table),
    eventSequenceCursors: new DynamoEventSequenceCursors(clients.dynamo, table),
    eventLog: new DynamoEventLog(clients.dynamo, table, loadEventLogConfig(env)),
    tenantRetention: new DynamoTenantRetention(clients.dynamo, table),
    /** The operator's views: channels across tenants, and who holds which shard (read-only). */
    channelDirectory: new DynamoChannelDirectory(clients.dynamo, table, resources.shardCount),
    shardOwnership: new DynamoShardOwnershipReader(
      clients.dynamo,
      resources.sessionsTable,
      loadShardOwnershipConfig(env).cluster,
    ),
    media: new S3MediaStore(clients.s3, resources.mediaBucket),
    commands: new SqsCommandBus(clients.sqs, resources.commandQueueUrls),
    deliveryQueue: new SqsDeliveryQueue(clients.sqs, resources.webhookDeliveryQueueUrl),
    orderedDeliveryQueue: new SqsOrderedDeliveryQueue(clients.sqs, resources.webhookOrderedQueueUrl),
    /** The webhook fan-out's hold on an event that came before its turn: its queues' messages only. */
    webhookEventVisibility: new SqsMessageVisibility(clients.sqs, [
      resources.webhookQueueUrl,
      resources.webhookPairingQueueUrl,
    ]),
    events: new EventBridgePublisher(clients.eventBridge, resources.eventBusName, EVENT_SOURCES[source]),
    shardCount: resources.shardCount,
    /** Where webhooks may point: the API checks a URL with it when set, the dispatcher at each try. */
    webhookUrlPolicy: loadWebhookUrlPolicy(env),
    /** Seals and opens webhook signing secrets: only where the webhook-secrets key is given. */
    webhookSecrets: resources.webhookSecretKeyArn
      ? new KmsWebhookSecretCipher(clients.kms, resources.webhookSecretKeyArn)
      : withoutWebhookSecretKey,
  };
}

/**
 * A process without the webhook-secrets key (every one but the webhooks function and the
 * dispatcher): neither has it the variable nor may its role use the key, so it refuses by name.
 */
const withoutWebhookSecretKey: WebhookSecretCipher = {
  seal: () => Promise.reject(missingWebhookSecretKey()),
  open: () => Promise.reject(missingWebhookSecretKey()),
};

function missingWebhookSecretKey(): ConfigurationError {
  return new ConfigurationError([
    'WEBHOOK_SECRET_KEY_ARN is required to seal or open webhook secrets (the webhooks function and the dispatcher have it)',
  ]);
}
