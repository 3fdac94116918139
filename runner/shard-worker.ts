import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Channel } from '#shared/domain/channel.ts';
import type { ChannelCommand } from '#shared/domain/commands.ts';
import type {
  ChannelRepository,
  ContactCheckRepository,
  EventOutbox,
  EventPublisher,
  MediaStore,
  MessageRepository,
} from '#shared/ports.ts';
import { type ChannelAuthState, loadAuthState, restoreAuthStates } from './auth/dynamo-auth-state.ts';
import type { SessionStore } from './auth/session-store.ts';
import { type CommandOutcome, handleCommand } from './command-handler.ts';
import { ShardCommandConsumer } from './commands/shard-command-consumer.ts';
import { ChannelStatusRecorder } from './events/channel-status-recorder.ts';
import { MessageStatusRecorder } from './events/message-status-recorder.ts';
import { OutboxPublisher, type OutboxTuning } from './events/outbox-publisher.ts';
import type { Fence } from './leases/fence.ts';
import { ReceivedMessageRecorder } from './messages/received-message-recorder.ts';
import type { RunnerCounter, RunnerMetrics } from './runner-metrics.ts';
import type { Semaphore } from './semaphore.ts';
import { PlatformSessionObserver } from './session-observer.ts';
import { ChannelSession, type SessionTuning, type SocketFactory } from './sessions/channel-session.ts';

export interface ShardWorkerDeps {
  readonly channels: ChannelRepository;
  readonly messages: MessageRepository;
  readonly contactChecks: ContactCheckRepository;
  readonly media: MediaStore;
  readonly events: EventPublisher;
  /** Received messages' events, recorded with the messages, until published. */
  readonly outbox: EventOutbox;
  readonly outboxTuning?: OutboxTuning;
  /** The largest received file a tenant keeps (default: WhatsApp's 100 MB document limit). */
  readonly inboundMediaMaxBytes?: (tenantId: string) => number;
  /** Bounds the received files being downloaded at once. */
  readonly mediaDownloads?: Semaphore;
  readonly sessionStore: SessionStore;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly createSocket: SocketFactory;
  readonly limiter: Semaphore;
  readonly logger: Logger;
  readonly metrics?: RunnerMetrics;
  readonly commandWaitSeconds?: number;
  readonly commandVisibilityTimeoutSeconds?: number;
  readonly sessionTuning?: SessionTuning;
}

const SEND_COUNTERS: Partial<Record<CommandOutcome, RunnerCounter>> = {
  sent: 'Sends',
  send_failed: 'SendFailures',
};

/** Channel statuses that mean the channel had paired and should be logged in again on takeover. */
const RESUMABLE = new Set<Channel['status']>(['open', 'reconnecting', 'connecting', 'failed']);

interface LiveChannel {
  readonly tenantId: string;
  readonly session: ChannelSession;
}

/**
 * Everything a runner does for one shard it holds: the sessions of the shard's channels (restored
 * from their stored creds when the shard is taken over) and the consumer of the shard's command
 * queue. Every session write carries the shard's fence.
 */
export class ShardWorker {
  private readonly live = new Map<string, LiveChannel>();
  private readonly consumer: ShardCommandConsumer;
  private readonly statusRecorder: ChannelStatusRecorder;
  private readonly messageStatusRecorder: MessageStatusRecorder;
  private readonly outboxPublisher: OutboxPublisher;
  private starting: Promise<void> | undefined;
  private stopped = false;

  constructor(
    readonly fence: Fence,
    private readonly deps: ShardWorkerDeps,
  ) {
    this.statusRecorder = new ChannelStatusRecorder(deps.channels, deps.events);
    this.messageStatusRecorder = new MessageStatusRecorder(deps.messages, deps.events);
    this.outboxPublisher = new OutboxPublisher(fence.shard, {
      ...deps.outboxTuning,
      outbox: deps.outbox,
      events: deps.events,
      onError: (error, during) =>
        deps.logger.warn(`${during} failed; the outbox keeps it`, {
          shard: fence.shard,
          error: String(error),
        }),
    });
    this.consumer = new ShardCommandConsumer({
      client: deps.sqs,
      queueUrl: deps.queueUrl,
      waitTimeSeconds: deps.commandWaitSeconds ?? 20,
      ...(deps.commandVisibilityTimeoutSeconds
        ? { visibilityTimeoutSeconds: deps.commandVisibilityTimeoutSeconds }
        : {}),
      handle: (command, onWritten) => this.handle(command, onWritten),
      onError: (error, context) =>
        deps.logger.warn('command failed; it will be retried', {
          shard: fence.shard,
          ...context,
          error: String(error),
        }),
    });
  }

  get sessions(): ChannelSession[] {
    return [...this.live.values()].map((channel) => channel.session);
  }

  /** Logs the shard's paired channels back in from their stored creds, then takes its commands. */
  start(): Promise<void> {
    // What the shard's previous owner recorded but did not publish goes out first.
    if (!this.starting) this.outboxPublisher.start();
    this.starting ??= this.restoreAndConsume();
    return this.starting;
  }

  /**
   * Hand-over or shutdown: no more commands, then every socket closed without logging out. The long
   * poll may still be out when this resolves (the lease can go); `finished()` waits for it.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    // A start still restoring must not go on to open sockets or poll once the shard is gone.
    await this.starting?.catch(() => undefined);
    await this.consumer.drain();
    await Promise.all(this.sessions.map((session) => session.stop()));
    this.live.clear();
    await this.outboxPublisher.stop();
  }

  /** Resolves once the shard's queue is no longer polled (after `stop`). */
  finished(): Promise<void> {
    return this.consumer.stop();
  }

  private async restoreAndConsume(): Promise<void> {
    const channels = await this.resumableChannels();
    if (this.stopped) return;
    const restored = await restoreAuthStates({
      store: this.deps.sessionStore,
      channels: channels.map((channel) => ({
        tenantId: channel.tenantId,
        channelId: channel.id,
        fence: this.fence,
      })),
      onStaleFence: () => void this.stop(),
    });
    if (this.stopped) return;
    for (const result of restored) {
      if (result.status === 'failed') {
        this.deps.logger.error('could not restore a session', {
          channelId: result.channel.channelId,
          error: String(result.error),
        });
      }
      if (result.status !== 'restored') continue;
      const session = this.createSession(result.channel.tenantId, result.channel.channelId, result.auth);
      void session.connect({ method: 'resume' }, { quiet: true });
    }
    this.consumer.start();
  }

  private async resumableChannels(): Promise<Channel[]> {
    const channels: Channel[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.deps.channels.listByShard(this.fence.shard, {
        limit: 100,
        ...(cursor ? { cursor } : {}),
      });
      channels.push(...page.items.filter((channel) => RESUMABLE.has(channel.status)));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return channels;
  }

  private async handle(command: ChannelCommand, onWritten: () => void): Promise<void> {
    let outcome: CommandOutcome;
    try {
      outcome = await this.carryOut(command, onWritten);
    } catch (error) {
      if (command.type === 'send') this.deps.metrics?.count('SendRetries');
      throw error;
    }
    const counter = SEND_COUNTERS[outcome];
    if (counter) this.deps.metrics?.count(counter);
  }

  private carryOut(command: ChannelCommand, onWritten: () => void): Promise<CommandOutcome> {
    return handleCommand(
      command,
      {
        session: async (cmd, create) =>
          this.live.get(cmd.channelId)?.session ??
          (create ? this.createSession(cmd.tenantId, cmd.channelId) : null),
        eraseSession: async (cmd) => {
          this.live.delete(cmd.channelId);
          await this.deps.sessionStore.erase(
            { tenantId: cmd.tenantId, channelId: cmd.channelId },
            this.fence,
          );
        },
        messages: this.deps.messages,
        contactChecks: this.deps.contactChecks,
        media: this.deps.media,
        events: this.deps.events,
        messageStatusRecorder: this.messageStatusRecorder,
      },
      onWritten,
    );
  }

  private createSession(tenantId: string, channelId: string, restored?: ChannelAuthState): ChannelSession {
    let session: ChannelSession | undefined;
    // A restored state serves the first login only; after a logout erased it, a new one is made.
    let preloaded = restored;
    const observer = new PlatformSessionObserver(
      tenantId,
      channelId,
      {
        statusRecorder: this.statusRecorder,
        messageStatusRecorder: this.messageStatusRecorder,
        events: this.deps.events,
        messages: this.deps.messages,
        outbox: this.outboxPublisher,
        ...(this.deps.metrics ? { metrics: this.deps.metrics } : {}),
        logger: this.deps.logger,
      },
      new ReceivedMessageRecorder(
        { tenantId, channelId, shard: this.fence.shard },
        {
          messages: this.deps.messages,
          outbox: this.deps.outbox,
          media: this.deps.media,
          downloadMedia: (message) => (session as ChannelSession).downloadMedia(message),
          ...(this.deps.inboundMediaMaxBytes ? { mediaMaxBytes: this.deps.inboundMediaMaxBytes } : {}),
          ...(this.deps.mediaDownloads ? { mediaDownloads: this.deps.mediaDownloads } : {}),
          onMediaError: (error) =>
            this.deps.logger.warn('received media could not be downloaded', {
              channelId,
              error: String(error),
            }),
        },
      ),
    );
    session = new ChannelSession({
      ...this.deps.sessionTuning,
      channelId,
      createSocket: this.deps.createSocket,
      limiter: this.deps.limiter,
      observer,
      loadAuth: async () => {
        const auth = preloaded;
        preloaded = undefined;
        return (
          auth ??
          loadAuthState({
            store: this.deps.sessionStore,
            tenantId,
            channelId,
            fence: this.fence,
            onStaleFence: () => void session?.stop(),
          })
        );
      },
      onError: (error, during) =>
        this.deps.logger.warn(`session error while ${during}`, { channelId, error: String(error) }),
    });
    this.live.set(channelId, { tenantId, session });
    return session;
  }
}
