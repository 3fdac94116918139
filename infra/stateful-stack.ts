// Everything that holds data or identity and must outlive deployments: tables, the session key,
// the webhook-secrets key, queues, the event bus, the media bucket. Compute (functions, runner tasks) lives in the stateless
// stack and reaches these through the constructs' `bind…` methods.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { CommandQueues } from './constructs/command-queues.construct.ts';
import { EventRouting } from './constructs/event-routing.construct.ts';
import { MediaBucket } from './constructs/media-bucket.construct.ts';
import { SecureTable } from './constructs/secure-table.construct.ts';
import { SessionKey } from './constructs/session-key.construct.ts';
import { WebhookDeliveries } from './constructs/webhook-deliveries.construct.ts';
import { WebhookSecretKey } from './constructs/webhook-secret-key.construct.ts';
import { RUNTIME_ENVIRONMENT_OUTPUT, type RuntimeEnvironment } from './runtime-environment.ts';

export const DEFAULT_SHARD_COUNT = 16;

export interface StatefulStackProps extends StackProps {
  /** Command queues, one per shard; a channel's shard is fixed at creation, so never lower this. */
  readonly shardCount?: number;
}

export class StatefulStack extends Stack {
  readonly platformTable: SecureTable;
  readonly sessionsTable: SecureTable;
  readonly idempotencyTable: SecureTable;
  readonly sessionKey: SessionKey;
  readonly webhookSecretKey: WebhookSecretKey;
  readonly commandQueues: CommandQueues;
  readonly events: EventRouting;
  readonly media: MediaBucket;
  readonly webhookDeliveries: WebhookDeliveries;

  constructor(scope: Construct, id: string, props: StatefulStackProps = {}) {
    super(scope, id, { terminationProtection: true, ...props });

    this.platformTable = new SecureTable(this, 'PlatformTable', {
      partitionKey: 'pk',
      sortKey: 'sk',
      timeToLiveAttribute: 'expiresAt',
      globalSecondaryIndexes: [
        { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
        // Sparse: only a message whose event waits to be published is in it (docs/architecture.md).
        { name: 'outbox', partitionKey: 'outboxpk', sortKey: 'outboxsk', keysOnly: true },
      ],
      environmentKey: 'PLATFORM_TABLE_NAME',
    });
    this.sessionKey = new SessionKey(this, 'SessionKey');
    // Webhook signing secrets, sealed before they reach the platform table (docs/api.md, "Secrets").
    this.webhookSecretKey = new WebhookSecretKey(this, 'WebhookSecretKey');
    // Runner-only: Baileys creds and Signal keys (already envelope-encrypted), shard leases.
    this.sessionsTable = new SecureTable(this, 'SessionsTable', {
      partitionKey: 'pk',
      sortKey: 'sk',
      timeToLiveAttribute: 'expiresAt',
      encryptionKey: this.sessionKey.key,
      environmentKey: 'SESSIONS_TABLE_NAME',
    });
    // The layout Powertools' DynamoDBPersistenceLayer expects by default.
    this.idempotencyTable = new SecureTable(this, 'IdempotencyTable', {
      partitionKey: 'id',
      timeToLiveAttribute: 'expiration',
      environmentKey: 'IDEMPOTENCY_TABLE_NAME',
    });
    this.commandQueues = new CommandQueues(this, 'CommandQueues', {
      shardCount: props.shardCount ?? DEFAULT_SHARD_COUNT,
    });
    this.events = new EventRouting(this, 'Events');
    this.media = new MediaBucket(this, 'Media');
    this.webhookDeliveries = new WebhookDeliveries(this, 'WebhookDeliveries');

    new CfnOutput(this, RUNTIME_ENVIRONMENT_OUTPUT, {
      description: 'The environment every function and runner task needs (infra/runtime-environment.ts)',
      value: this.toJsonString(this.runtimeEnvironment()),
    });
  }

  /** Typed as the contract, so a key cannot be added here and forgotten there. */
  runtimeEnvironment(): RuntimeEnvironment {
    return {
      PLATFORM_TABLE_NAME: this.platformTable.tableName,
      SESSIONS_TABLE_NAME: this.sessionsTable.tableName,
      IDEMPOTENCY_TABLE_NAME: this.idempotencyTable.tableName,
      COMMAND_QUEUE_URLS: this.commandQueues.queueUrls,
      SHARD_COUNT: String(this.commandQueues.shardCount),
      EVENT_BUS_NAME: this.events.busName,
      RECORDER_QUEUE_URL: this.events.recorder.queueUrl,
      WEBHOOK_QUEUE_URL: this.events.webhooks.queueUrl,
      RECORDER_PAIRING_QUEUE_URL: this.events.recorder.pairingSecretsQueueUrl,
      WEBHOOK_PAIRING_QUEUE_URL: this.events.webhooks.pairingSecretsQueueUrl,
      SESSION_KEY_ARN: this.sessionKey.keyArn,
      MEDIA_BUCKET_NAME: this.media.bucketName,
      WEBHOOK_DELIVERY_QUEUE_URL: this.webhookDeliveries.queueUrl,
      WEBHOOK_ORDERED_QUEUE_URL: this.webhookDeliveries.orderedQueueUrl,
      WEBHOOK_SECRET_KEY_ARN: this.webhookSecretKey.keyArn,
    };
  }
}
