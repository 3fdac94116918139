// A runner wired to the emulator and a simulator the way main.ts wires it, but with per-test
// command queues and lease cluster (tests run in parallel and share the provisioned tables), and an
// event publisher that keeps what the runner published so tests can wait for it.

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateEventBusCommand } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach } from 'vitest';
import { type LocalAws, startLocalAws } from '#infra/local/local-aws.ts';
import { sessionPk } from '#runner/auth/key-layout.ts';
import { SessionStore } from '#runner/auth/session-store.ts';
import { routeConsoleThroughLogger } from '#runner/console-guard.ts';
import { LeaseTable, leaseCallTimeoutMs } from '#runner/leases/lease-table.ts';
import { createLinkFetcher, DEFAULT_LINK_FETCH_POLICY } from '#runner/messages/link-fetcher.ts';
import type { MediaDownloadTuning } from '#runner/messages/whatsapp-media.ts';
import { Runner } from '#runner/runner.ts';
import { RunnerMetrics } from '#runner/runner-metrics.ts';
import type { BackoffPolicy } from '#runner/sessions/backoff.ts';
import type { SessionTuning } from '#runner/sessions/channel-session.ts';
import { createSocketFactory } from '#runner/sessions/socket-factory.ts';
import { leaseKey } from '#shared/aws/dynamo/fence-check.ts';
import { SqsCommandBus } from '#shared/aws/sqs-command-bus.ts';
import type { Channel } from '#shared/domain/channel.ts';
import type { ChannelCommand } from '#shared/domain/commands.ts';
import type { EventType, PlatformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import type { Message } from '#shared/domain/message.ts';
import type { OutboundMessage } from '#shared/domain/outbound-message.ts';
import { createLogger, type LogLevel } from '#shared/observability.ts';
import { createPlatform } from '#shared/platform.ts';
import type { ChannelRepository, EventPublisher, MediaStore, MessageRepository } from '#shared/ports.ts';
import { connectChannel, createChannel } from '#shared/use-cases/channels.ts';
import { sendMessage } from '#shared/use-cases/messages.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import { type Simulator, startSimulator, type VirtualPhone } from '#test/simulator';
import { type EmulatorContext, emulatorEnvironment, platformRepositories } from '../../support/platform.ts';
import { fifoQueueWithDeadLetters } from '../../support/queues.ts';

export class CapturedEvents implements EventPublisher {
  readonly events: PlatformEvent[] = [];

  async publish(events: readonly PlatformEvent[]): Promise<void> {
    this.events.push(...events);
  }

  of<T extends EventType>(type: T, channelId?: string): PlatformEvent<T>[] {
    return this.events.filter(
      (event): event is PlatformEvent<T> =>
        event.type === type && (!channelId || event.channelId === channelId),
    );
  }
}

export async function until<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const SHARDS = 2;

export const seconds = (ms: number) => (ms / 1000).toFixed(1);
/** The harness routes console output through the runner's logger; test diagnostics go around it. */
export const report = (...parts: unknown[]) =>
  process.stdout.write(
    `${parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ')}\n`,
  );

/** `channels` with its shard listing replaced: what a runner restores on takeover. */
export function withListByShard(
  channels: ChannelRepository,
  listByShard: ChannelRepository['listByShard'],
): ChannelRepository {
  return {
    create: (channel) => channels.create(channel),
    get: (tenantId, channelId) => channels.get(tenantId, channelId),
    list: (tenantId, request) => channels.list(tenantId, request),
    transition: (...args) => channels.transition(...args),
    recordPairing: (...args) => channels.recordPairing(...args),
    markDeleted: (...args) => channels.markDeleted(...args),
    completeDeletion: (...args) => channels.completeDeletion(...args),
    listByShard,
  };
}

async function testQueues(sqs: SQSClient): Promise<string[]> {
  const prefix = `runner-${crypto.randomUUID().slice(0, 8)}`;
  return Promise.all(
    Array.from({ length: SHARDS }, async (_, shard) => {
      const { queueUrl } = await fifoQueueWithDeadLetters(sqs, `${prefix}-${shard}`, {
        maxReceiveCount: 5,
        visibilityTimeoutSeconds: 60,
      });
      return queueUrl;
    }),
  );
}

export interface RunnerProcess {
  readonly runnerId: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

const ROOT = join(import.meta.dirname, '../../../..');

export type RunnerPlatform = Awaited<ReturnType<typeof runnerPlatform>>;

/**
 * An emulator, a simulator and a platform of each test's own, made before and stopped after each
 * test: for tests that spawn runner processes (which serve every channel of the table they are
 * given) or load the emulator hard enough to slow the suite's other files.
 */
export function ownPlatformForEachTest() {
  const own = {} as { aws: LocalAws; simulator: Simulator; world: RunnerPlatform };
  beforeEach(async () => {
    own.aws = await startLocalAws();
    own.simulator = await startSimulator();
    own.world = await runnerPlatform(own.simulator, own.aws);
  });
  afterEach(async () => {
    await own.world.stopAll();
    await own.simulator.stop();
    await own.aws.stop();
  });
  return own;
}

/** One test's platform: a tenant, its command queues, a lease cluster, captured events. */
export async function runnerPlatform(
  simulator: Simulator,
  emulator?: EmulatorContext,
  options: { logLevel?: LogLevel } = {},
) {
  const environment = emulatorEnvironment(emulator);
  const platform = platformRepositories(emulator);
  const { clients } = platform;
  const { sqs } = clients;
  const queueUrls = await testQueues(sqs);
  const cluster = crypto.randomUUID();
  const events = new CapturedEvents();
  const tenant = await createTenant(platform, { name: 'Clínica Teste' });
  const bus = new SqsCommandBus(sqs, queueUrls);
  const logger = createLogger({
    logLevel: options.logLevel ?? (process.env.TEST_LOG_LEVEL as LogLevel | undefined) ?? 'ERROR',
    component: 'runner-test',
  });
  routeConsoleThroughLogger(logger);
  const sessionStoreOver = (dynamo: DynamoDBDocumentClient) =>
    new SessionStore({
      dynamo,
      kms: clients.kms,
      tableName: platform.resources.sessionsTable,
      keyArn: platform.resources.sessionKeyArn,
      transactionConcurrency: 1,
    });
  const sessionStore = sessionStoreOver(platform.client);
  const runners: Runner[] = [];
  const processes: RunnerProcess[] = [];

  // Tests share the platform table, and a runner serves its shards' channels of every tenant: left
  // to itself it would restore other tests' open channels against this test's simulator (which logs
  // them out). In-process runners see this test's tenant only.
  const thisTenantOnly = (channels: ChannelRepository) =>
    withListByShard(channels, async (shard, request) => {
      const page = await channels.listByShard(shard, request);
      return { ...page, items: page.items.filter((channel) => channel.tenantId === tenant.id) };
    });
  const runnerChannels = thisTenantOnly(platform.channels);

  /** What every command to `channel` carries. */
  const commandFields = (channel: Channel) => ({
    commandId: newId('command'),
    tenantId: channel.tenantId,
    channelId: channel.id,
    issuedAt: new Date().toISOString(),
  });

  /** A send of a text from `channel` to `to`, as the API would queue it. */
  const textCommand = (
    channel: Channel,
    to: string,
    body: string,
  ): Extract<ChannelCommand, { type: 'send' }> => ({
    ...commandFields(channel),
    type: 'send',
    messageId: newId('message'),
    message: { to, type: 'text', text: { body } },
  });

  /** What the API's use cases issue commands through: this test's queues. */
  const useCases = {
    channels: platform.channels,
    messages: platform.messages,
    media: platform.media,
    commands: bus,
    shardCount: SHARDS,
  };

  /** Asks for a QR code on the channel, as `POST /v1/channels/{id}/connect` does. */
  const connectByQr = (channel: Channel) =>
    connectChannel(useCases, channel.tenantId, channel.id, { method: 'qr' });

  /** The adapters of a runner reaching DynamoDB somewhere else (KMS, S3, SQS as every runner). */
  const ownDynamo = (endpoint: string) => {
    const own = createPlatform({
      source: 'runner',
      env: { ...environment, AWS_ENDPOINT_URL_DYNAMODB: endpoint },
    });
    return {
      client: own.clients.dynamo,
      channels: thisTenantOnly(own.channels),
      messages: own.messages,
      contactChecks: own.contactChecks,
      outbox: own.outbox,
      sessionStore: sessionStoreOver(own.clients.dynamo),
    };
  };

  const { media, contactChecks, outbox } = platform;

  return {
    platform,
    tenant,
    /** The lease cluster this platform's runners share (`RUNNER_CLUSTER`). */
    cluster,
    media,
    contactChecks,
    outbox,
    queueUrls,
    sqs,
    events,
    bus,
    newChannel: (name: string) => createChannel(useCases, tenant.id, { name }),
    connectByQr,
    commandFields,
    textCommand,
    /** Sends as the API does and waits for the message to leave `queued`; throws if it failed. Its id. */
    async send(channel: Channel, message: OutboundMessage): Promise<string> {
      const { id: messageId } = await sendMessage(useCases, channel.tenantId, channel.id, message);
      const status = await until(async () => {
        const stored = await platform.messages.get(channel.tenantId, channel.id, messageId);
        return stored && stored.status !== 'queued' ? stored.status : undefined;
      }, `message ${messageId} to leave queued`);
      if (status === 'failed') throw new Error(`message ${messageId} failed`);
      return messageId;
    },
    /** Every message the channel received, as recorded. */
    async receivedMessages(channel: Channel): Promise<Message[]> {
      const all: Message[] = [];
      let cursor: string | undefined;
      do {
        const page = await platform.messages.list(channel.tenantId, channel.id, {
          limit: 100,
          ...(cursor ? { cursor } : {}),
        });
        all.push(...page.items.filter((message) => message.direction === 'inbound'));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return all;
    },
    /** The channel repository in-process runners get: this test's tenant only. */
    runnerChannels,
    /** Connects the channel by QR through a running runner and scans it with `phone`, until open. */
    async pairByQr(channel: Channel, phone: VirtualPhone): Promise<void> {
      await connectByQr(channel);
      const qr = await until(() => events.of('channel.qr', channel.id)[0], `a QR for ${channel.name}`);
      await phone.scanQr(qr.data.qr);
      await until(
        async () => (await platform.channels.get(channel.tenantId, channel.id))?.status === 'open',
        `${channel.name} to open`,
      );
    },
    /** An in-process runner; `dial` sends its sockets to another server, still trusting ours. */
    async startRunner(
      runnerId: string,
      options: {
        dial?: Simulator;
        sessionTuning?: SessionTuning;
        channels?: ChannelRepository;
        commandWaitSeconds?: number;
        commandRetry?: BackoffPolicy;
        /** Where this runner reaches DynamoDB (a proxy the test can cut); the emulator by default. */
        dynamoEndpoint?: string;
        /** Session state through another client (one whose writes a test makes fail). */
        sessionDynamo?: DynamoDBDocumentClient;
        /**
         * Run the lease loops (renewals, observation, balancing) as a runner process does. Without
         * them the test drives the runner with `tick()`, and the lease TTL is long enough that a
         * lease is never given up for want of a renewal during a test.
         */
        loops?: { leaseTtlMs: number };
        /** Stores to use instead of the emulator's own (a test double failing for a while, say). */
        messages?: MessageRepository;
        media?: MediaStore;
        inboundMediaMaxBytes?: number;
        mediaDownloadTuning?: Partial<MediaDownloadTuning>;
      } = {},
    ): Promise<Runner> {
      const own = options.dynamoEndpoint ? ownDynamo(options.dynamoEndpoint) : undefined;
      const leaseTtlMs = options.loops?.leaseTtlMs ?? 600_000;
      const runner = new Runner({
        runnerId,
        leaseTable: new LeaseTable(
          own?.client ?? platform.client,
          platform.resources.sessionsTable,
          cluster,
          leaseCallTimeoutMs(leaseTtlMs),
        ),
        leaseTtlMs,
        commandQueueUrls: queueUrls,
        maxConcurrentConnects: 8,
        channels: options.channels ?? own?.channels ?? runnerChannels,
        messages: options.messages ?? own?.messages ?? platform.messages,
        contactChecks: own?.contactChecks ?? contactChecks,
        media: options.media ?? media,
        events,
        outbox: own?.outbox ?? outbox,
        outboxTuning: { drainIntervalMs: 1_000 },
        // Tests serve linked media over plain HTTP from this machine: that one address is let
        // through by number.
        fetchLink: createLinkFetcher({
          ...DEFAULT_LINK_FETCH_POLICY,
          plainHttpAllowed: true,
          privateHostsAllowed: new Set(['127.0.0.1']),
        }),
        ...(options.inboundMediaMaxBytes
          ? { inboundMediaMaxBytes: () => options.inboundMediaMaxBytes as number }
          : {}),
        ...(options.mediaDownloadTuning ? { mediaDownloadTuning: options.mediaDownloadTuning } : {}),
        sessionStore: options.sessionDynamo
          ? sessionStoreOver(options.sessionDynamo)
          : (own?.sessionStore ?? sessionStore),
        sqs,
        createSocket: createSocketFactory(
          {
            mode: 'simulator',
            webSocketUrl: (options.dial ?? simulator).wsUrl,
            trustRoot: simulator.rootPublicKey.toString('base64'),
            mediaCaPem: simulator.mediaCaPem,
          },
          logger,
        ),
        logger,
        // Counted, never flushed: tests read them from `health().counters`.
        metrics: new RunnerMetrics(new Metrics({ namespace: 'clinic-wa-test', serviceName: runnerId })),
        commandWaitSeconds: options.commandWaitSeconds ?? 1,
        ...(options.sessionTuning ? { sessionTuning: options.sessionTuning } : {}),
        ...(options.commandRetry ? { commandRetry: options.commandRetry } : {}),
      });
      runners.push(runner);
      await runner.tick();
      if (options.loops) runner.start();
      return runner;
    },
    /** How many items of the channel's session remain in the sessions table. */
    async storedSessionItems(channel: { tenantId: string; id: string }): Promise<number> {
      const result = await platform.client.send(
        new QueryCommand({
          TableName: platform.resources.sessionsTable,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: {
            ':pk': sessionPk({ tenantId: channel.tenantId, channelId: channel.id }),
          },
          Select: 'COUNT',
        }),
      );
      return result.Count ?? 0;
    },
    /**
     * A runner as its own process (`runner/main.ts`), configured only through its environment like an
     * ECS task, to be killed for real. Its events go to a bus of this test's own.
     */
    async spawnRunner(
      runnerId: string,
      options: {
        leaseTtlSeconds: number;
        commandVisibilitySeconds?: number;
        /** An event bus the test made (to route its events somewhere it can read them). */
        eventBusName?: string;
        /** More environment (an endpoint of the test's own in front of the emulator, say). */
        env?: Record<string, string>;
      },
    ): Promise<RunnerProcess> {
      const bus = options.eventBusName ?? `test-bus-${crypto.randomUUID().slice(0, 8)}`;
      if (!options.eventBusName) await clients.eventBridge.send(new CreateEventBusCommand({ Name: bus }));
      // Node itself with tsx as a loader: the tsx CLI would run the runner in a grandchild, which a
      // SIGKILL of its parent leaves running.
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'runner/main.ts')], {
        cwd: ROOT,
        env: {
          ...process.env,
          ...environment,
          COMMAND_QUEUE_URLS: queueUrls.join(','),
          SHARD_COUNT: String(queueUrls.length),
          EVENT_BUS_NAME: bus,
          RUNNER_ID: runnerId,
          RUNNER_CLUSTER: cluster,
          LEASE_TTL_SECONDS: String(options.leaseTtlSeconds),
          COMMAND_VISIBILITY_TIMEOUT_SECONDS: String(options.commandVisibilitySeconds ?? 30),
          HEALTH_PORT: '0',
          SESSION_TRANSACTION_CONCURRENCY: '1',
          LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'ERROR',
          WA_MODE: 'simulator',
          WA_WEBSOCKET_URL: simulator.wsUrl,
          WA_TRUST_ROOT: simulator.rootPublicKey.toString('base64'),
          WA_MEDIA_CA_PEM: simulator.mediaCaPem,
          ...options.env,
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const process_ = { runnerId, child, exited };
      processes.push(process_);
      return process_;
    },
    /** The runner holding each shard's lease now (null when free). */
    async shardOwners(): Promise<(string | null)[]> {
      return Promise.all(
        queueUrls.map(async (_, shard) => {
          const lease = await platform.client.send(
            new GetCommand({
              TableName: platform.resources.sessionsTable,
              Key: leaseKey(shard, cluster),
              ConsistentRead: true,
            }),
          );
          return (lease.Item?.owner as string | undefined) ?? null;
        }),
      );
    },
    async stopAll(): Promise<void> {
      await Promise.all(runners.map((runner) => runner.stop()));
      for (const { child, exited } of processes.splice(0)) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
