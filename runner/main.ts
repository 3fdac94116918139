// The runner process (ECS task): configuration from the environment, AWS clients, the runner, its
// health endpoint and metrics; SIGTERM drains and hands the shards over.

import { createLogger, metrics } from '#shared/observability.ts';
import { createPlatform } from '#shared/platform.ts';
import { SessionStore } from './auth/session-store.ts';
import { loadRunnerConfig } from './config.ts';
import { routeConsoleThroughLogger } from './console-guard.ts';
import { CoalescingEventPublisher } from './events/coalescing-event-publisher.ts';
import { TerminalQrPublisher } from './events/terminal-qr-publisher.ts';
import { startHealthServer } from './health.ts';
import { LeaseTable, leaseCallTimeoutMs } from './leases/lease-table.ts';
import { createLinkFetcher } from './messages/link-fetcher.ts';
import { MessageIdMemory } from './messages/message-id-memory.ts';
import { Runner } from './runner.ts';
import { RunnerMetrics } from './runner-metrics.ts';
import { Semaphore } from './semaphore.ts';
import { createSocketFactory } from './sessions/socket-factory.ts';

const METRICS_INTERVAL_MS = 60_000;

export async function startRunnerProcess(env: NodeJS.ProcessEnv = process.env) {
  const platform = createPlatform({ source: 'runner', env });
  const { resources, clients } = platform;
  const config = loadRunnerConfig(env);
  const logger = createLogger({ component: 'runner' });
  logger.appendKeys({ runnerId: config.runnerId });
  const restoreConsole = routeConsoleThroughLogger(logger);

  const runnerMetrics = new RunnerMetrics(metrics);
  const events = new CoalescingEventPublisher(platform.events);
  const runner = new Runner({
    runnerId: config.runnerId,
    leaseTable: new LeaseTable(
      clients.dynamo,
      resources.sessionsTable,
      config.cluster,
      leaseCallTimeoutMs(config.leaseTtlMs),
    ),
    leaseTtlMs: config.leaseTtlMs,
    commandQueueUrls: resources.commandQueueUrls,
    maxConcurrentConnects: config.maxConcurrentConnects,
    commandVisibilityTimeoutSeconds: config.commandVisibilityTimeoutSeconds,
    // Writes for a shard carry its fence, checked against the leases in the sessions table.
    channels: platform.channels,
    messages: new MessageIdMemory(platform.messages),
    contactChecks: platform.contactChecks,
    media: platform.media,
    events: config.printQrToTerminal ? new TerminalQrPublisher(events) : events,
    outbox: platform.outbox,
    inboundMediaMaxBytes: () => config.inboundMediaMaxBytes,
    mediaDownloads: new Semaphore(config.maxConcurrentMediaDownloads),
    fetchLink: createLinkFetcher(config.linkFetch),
    sessionStore: new SessionStore({
      dynamo: clients.dynamo,
      kms: clients.kms,
      tableName: resources.sessionsTable,
      keyArn: resources.sessionKeyArn,
      ...(config.sessionTransactionConcurrency
        ? { transactionConcurrency: config.sessionTransactionConcurrency }
        : {}),
    }),
    sqs: clients.sqs,
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
