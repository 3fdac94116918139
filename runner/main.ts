// The runner process (ECS task): configuration from the environment, AWS clients, the runner, its
// health endpoint and metrics; SIGTERM drains and hands the shards over.
import {
  createDynamoClient,
  createEventBridgeClient,
  createKmsClient,
  createS3Client,
  createSqsClient,
} from '#shared/aws/clients.ts';
import { DynamoChannelRepository } from '#shared/aws/dynamo/channel-repository.ts';
import { DynamoContactCheckRepository } from '#shared/aws/dynamo/contact-check-repository.ts';
import { DynamoMessageOutbox } from '#shared/aws/dynamo/message-outbox.ts';
import { DynamoMessageRepository } from '#shared/aws/dynamo/message-repository.ts';
import { EventBridgePublisher } from '#shared/aws/eventbridge-publisher.ts';
import { S3MediaStore } from '#shared/aws/s3-media-store.ts';
import { loadAwsConfig, loadResourceConfig } from '#shared/config.ts';
import { EVENT_SOURCES } from '#shared/domain/events.ts';
import { createLogger, metrics } from '#shared/observability.ts';
import { SessionStore } from './auth/session-store.ts';
import { loadRunnerConfig } from './config.ts';
import { routeConsoleThroughLogger } from './console-guard.ts';
import { CoalescingEventPublisher } from './events/coalescing-event-publisher.ts';
import { startHealthServer } from './health.ts';
import { LeaseTable, leaseCallTimeoutMs } from './leases/lease-table.ts';
import { MessageIdMemory } from './messages/message-id-memory.ts';
import { Runner } from './runner.ts';
import { RunnerMetrics } from './runner-metrics.ts';
import { Semaphore } from './semaphore.ts';
import { createSocketFactory } from './sessions/socket-factory.ts';

const METRICS_INTERVAL_MS = 60_000;

export async function startRunnerProcess(env: NodeJS.ProcessEnv = process.env) {
  const aws = loadAwsConfig(env);
  const resources = loadResourceConfig(env);
  const config = loadRunnerConfig(env);
  const logger = createLogger({ component: 'runner' });
  logger.appendKeys({ runnerId: config.runnerId });
  const restoreConsole = routeConsoleThroughLogger(logger);

  const dynamo = createDynamoClient(aws);
  const leases = { leaseTable: resources.sessionsTable };
  const runnerMetrics = new RunnerMetrics(metrics);
  const events = new CoalescingEventPublisher(
    new EventBridgePublisher(createEventBridgeClient(aws), resources.eventBusName, EVENT_SOURCES.runner),
  );
  const runner = new Runner({
    runnerId: config.runnerId,
    leaseTable: new LeaseTable(
      dynamo,
      resources.sessionsTable,
      config.cluster,
      leaseCallTimeoutMs(config.leaseTtlMs),
    ),
    leaseTtlMs: config.leaseTtlMs,
    commandQueueUrls: resources.commandQueueUrls,
    maxConcurrentConnects: config.maxConcurrentConnects,
    commandVisibilityTimeoutSeconds: config.commandVisibilityTimeoutSeconds,
    // Writes for a shard carry its fence, checked against the leases in the sessions table.
    channels: new DynamoChannelRepository(dynamo, resources.platformTable, leases),
    messages: new MessageIdMemory(new DynamoMessageRepository(dynamo, resources.platformTable, leases)),
    contactChecks: new DynamoContactCheckRepository(dynamo, resources.platformTable),
    media: new S3MediaStore(createS3Client(aws), resources.mediaBucket),
    events,
    outbox: new DynamoMessageOutbox(dynamo, resources.platformTable),
    inboundMediaMaxBytes: () => config.inboundMediaMaxBytes,
    mediaDownloads: new Semaphore(config.maxConcurrentMediaDownloads),
    sessionStore: new SessionStore({
      dynamo,
      kms: createKmsClient(aws),
      tableName: resources.sessionsTable,
      keyArn: resources.sessionKeyArn,
      ...(config.sessionTransactionConcurrency
        ? { transactionConcurrency: config.sessionTransactionConcurrency }
        : {}),
    }),
    sqs: createSqsClient(aws),
    createSocket: createSocketFactory(config.whatsapp, logger),
    logger,
    metrics: runnerMetrics,
  });
  const health = await startHealthServer(config.healthPort, () => runner.health());
  const flushMetrics = setInterval(() => runnerMetrics.flush(runner.sessionsByState()), METRICS_INTERVAL_MS);
  flushMetrics.unref();
  runner.start();
  logger.info('runner started', {
    cluster: config.cluster,
    health: health.url,
    whatsapp: config.whatsapp.mode,
  });

  return {
    runner,
    health,
    async stop() {
      clearInterval(flushMetrics);
      await runner.stop();
      await events.flush();
      await health.close();
      logger.info('runner stopped');
      restoreConsole();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = await startRunnerProcess();
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      started.stop().then(
        () => process.exit(0),
        (error) => {
          console.error(error);
          process.exit(1);
        },
      );
    });
  }
}
