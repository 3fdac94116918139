import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ZodError } from 'zod';
import type { Channel } from '#shared/domain/channel.ts';
import { type ChannelCommand, readCommandEnvelope } from '#shared/domain/commands.ts';
import type { Fence } from '#shared/domain/fence.ts';
import { queuedOutboundMessage } from '#shared/domain/message.ts';
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
import { type CommandOutcome, handleCommand, PermanentCommandError } from './command-handler.ts';
import type { ChannelOwnership } from './commands/channel-ownership.ts';
import { SendsInProgress } from './commands/sends-in-progress.ts';
import {
  CommandGroupMismatch,
  type MalformedCommand,
  ShardCommandConsumer,
} from './commands/shard-command-consumer.ts';
import { ChannelStatusRecorder } from './events/channel-status-recorder.ts';
import { MessageStatusRecorder } from './events/message-status-recorder.ts';
import { OutboxPublisher, type OutboxTuning } from './events/outbox-publisher.ts';
import { fencedChannels, fencedMessages } from './leases/fenced-writes.ts';
import { ReceivedMessageRecorder } from './messages/received-message-recorder.ts';
import { type MediaDownloadTuning, WhatsAppMedia } from './messages/whatsapp-media.ts';
import type { RunnerCounter, RunnerMetrics } from './runner-metrics.ts';
import type { Semaphore } from './semaphore.ts';
import { PlatformSessionObserver } from './session-observer.ts';
import type { BackoffPolicy } from './sessions/backoff.ts';
import { ChannelSession, type SessionTuning, type SocketFactory } from './sessions/channel-session.ts';

export interface ShardWorkerDeps {
  readonly channels: ChannelRepository;
  /** Which channels a command may act on (shared by the runner's workers: it caches). */
  readonly ownership: ChannelOwnership;
  /** False once the shard's lease is not confirmed recent enough to use its sockets. */
  readonly leaseConfirmed?: () => boolean;
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
  /** Downloads media a send names by `link` (runner/messages/link-fetcher.ts); without it links fail. */
  readonly fetchLink?: (url: string) => Promise<{ data: Buffer; mimeType: string }>;
  /** Timeouts, retries and spool directory of received files' downloads (defaults suit WhatsApp). */
  readonly mediaDownloadTuning?: Partial<MediaDownloadTuning>;
  readonly sessionStore: SessionStore;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly createSocket: SocketFactory;
  readonly limiter: Semaphore;
  readonly logger: Logger;
  readonly metrics?: RunnerMetrics;
  readonly commandWaitSeconds?: number;
  readonly commandVisibilityTimeoutSeconds?: number;
  /** The wait before a failed command is tried again (doubling, capped); defaults suit WhatsApp. */
  readonly commandRetry?: BackoffPolicy;
  readonly sessionTuning?: SessionTuning;
}

const SEND_COUNTERS: Partial<Record<CommandOutcome, RunnerCounter>> = {
  sent: 'Sends',
  send_failed: 'SendFailures',
};

/** What the clinic reads on a send refused for `reason`. */
const REFUSAL_MESSAGES: Record<string, string> = {
  wrong_shard: 'The command reached a runner that does not serve this channel',
  channel_not_connected: 'The channel is not connected to WhatsApp',
};

function parsedOrNull(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
}

/** Which fields of a malformed command failed, never their values. */
function problemPaths(problem: unknown): string[] {
  if (problem instanceof ZodError) return problem.issues.map((issue) => issue.path.join('.') || '(root)');
  if (problem instanceof CommandGroupMismatch) return ['MessageGroupId'];
  return [problem instanceof SyntaxError ? 'not JSON' : 'unreadable'];
}

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
  /** The platform's repositories as this shard writes them: fenced (leases/fenced-writes.ts). */
  private readonly channels: ChannelRepository;
  private readonly messages: MessageRepository;
  private readonly consumer: ShardCommandConsumer;
  private readonly statusRecorder: ChannelStatusRecorder;
  private readonly messageStatusRecorder: MessageStatusRecorder;
  private readonly sendsInProgress = new SendsInProgress();
  private readonly outboxPublisher: OutboxPublisher;
  private starting: Promise<void> | undefined;
  private stopped = false;

  constructor(
    readonly fence: Fence,
    private readonly deps: ShardWorkerDeps,
  ) {
    const confirmed = deps.leaseConfirmed ?? (() => true);
    this.channels = fencedChannels(deps.channels, fence, confirmed);
    this.messages = fencedMessages(deps.messages, fence, confirmed);
    this.statusRecorder = new ChannelStatusRecorder(this.channels, deps.events);
    this.messageStatusRecorder = new MessageStatusRecorder(this.messages, deps.events);
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
      ...(deps.commandRetry
        ? { retryDelayMs: deps.commandRetry.baseMs, maxRetryDelayMs: deps.commandRetry.maxMs }
        : {}),
      handle: (command, onWritten) => this.handle(command, onWritten),
      refuseMalformed: (malformed) => this.refuseMalformed(malformed),
      expire: (command, lastError) => this.expire(command, lastError),
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

  /**
   * The lease can no longer be proven: every socket closes now (before another runner may log the
   * channels in), without logging out or waiting for stanzas in flight; then the commands in hand
   * are given back.
   */
  async abandon(): Promise<void> {
    this.stopped = true;
    const closing = this.sessions.map((session) => session.stop({ graceMs: 0 }));
    this.live.clear();
    // A publish under way may hang on the lost route until its timeout; the events stay in the outbox.
    void this.outboxPublisher.stop();
    await Promise.all([...closing, this.consumer.abandon()]);
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
      const page = await this.channels.listByShard(this.fence.shard, {
        limit: 100,
        ...(cursor ? { cursor } : {}),
      });
      channels.push(...page.items.filter((channel) => RESUMABLE.has(channel.status)));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return channels;
  }

  /**
   * Acts on a command for a channel this shard serves. A command naming a channel its tenant does
   * not own, or another shard's channel, is refused; one that can never succeed is answered at
   * once; one that may succeed later throws, to be tried again.
   */
  private async handle(command: ChannelCommand, onWritten: () => void): Promise<void> {
    const verdict = await this.deps.ownership.verify(command, this.fence.shard);
    if (!verdict.ok) {
      await this.refuse(command, verdict.reason, verdict.reason === 'wrong_shard' ? command : undefined);
      return;
    }
    let outcome: CommandOutcome;
    try {
      outcome = await this.carryOut(command, onWritten);
    } catch (error) {
      if (error instanceof PermanentCommandError) {
        await this.refuse(command, error.code, command);
        return;
      }
      if (command.type === 'send') this.deps.metrics?.count('SendRetries');
      throw error;
    }
    const counter = SEND_COUNTERS[outcome];
    if (counter) this.deps.metrics?.count(counter);
  }

  /**
   * Not a command at all: said so in the log (never its content) and counted. No message is marked
   * failed on its word: whatever it names is unauthenticated, and could be another send's real record.
   */
  private async refuseMalformed(malformed: MalformedCommand): Promise<void> {
    const envelope = readCommandEnvelope(parsedOrNull(malformed.body));
    this.deps.logger.warn('malformed command refused', {
      shard: this.fence.shard,
      sqsMessageId: malformed.messageId,
      ...(envelope ? { commandId: envelope.commandId, type: envelope.type } : {}),
      problems: problemPaths(malformed.problem),
    });
    this.deps.metrics?.count('CommandsRefused');
  }

  /**
   * Refused or impossible: logged without content and counted. A send to the tenant's channel is
   * recorded `failed` with the reason — only when this refusal made its record: an existing record
   * may be another send's, still on its way (a copy of a real command put on the wrong queue).
   */
  private async refuse(command: ChannelCommand, reason: string, failing: ChannelCommand | undefined) {
    this.deps.logger.warn('command refused', {
      shard: this.fence.shard,
      commandId: command.commandId,
      type: command.type,
      reason,
    });
    this.deps.metrics?.count('CommandsRefused');
    if (failing?.type !== 'send') return;
    if (!(await this.messages.put(queuedOutboundMessage(failing, new Date())))) return;
    await this.failSend(failing, failing.messageId, reason, REFUSAL_MESSAGES[reason] ?? reason);
  }

  /** Kept failing until its deadline: given up, and a send marked `failed: expired`. */
  private async expire(command: ChannelCommand, lastError: unknown): Promise<void> {
    this.deps.logger.warn('command expired', {
      shard: this.fence.shard,
      commandId: command.commandId,
      type: command.type,
      ...(lastError instanceof Error ? { lastError: lastError.name } : {}),
    });
    this.deps.metrics?.count('CommandsExpired');
    if (command.type !== 'send') return;
    // Its record is made first if the send never got that far, so the clinic can read why.
    await this.messages.put(queuedOutboundMessage(command, new Date()));
    await this.failSend(
      command,
      command.messageId,
      'expired',
      'The message could not be sent before its deadline',
    );
  }

  /** Marks a send's message `failed` (from `queued`) and tells the clinic. */
  private async failSend(
    scope: { tenantId: string; channelId: string },
    messageId: string,
    code: string,
    message: string,
  ): Promise<void> {
    await this.messageStatusRecorder.record(
      { tenantId: scope.tenantId, channelId: scope.channelId },
      messageId,
      'failed',
      { code, message },
    );
    this.deps.metrics?.count('SendFailures');
  }

  private carryOut(command: ChannelCommand, onWritten: () => void): Promise<CommandOutcome> {
    return handleCommand(
      command,
      {
        session: async (cmd, create) => {
          const live = this.live.get(cmd.channelId);
          if (live && live.tenantId === cmd.tenantId) return live.session;
          // A worker given up or stopping makes no new session (its sockets could never be used).
          return create && !live && !this.stopped ? this.createSession(cmd.tenantId, cmd.channelId) : null;
        },
        eraseSession: async (cmd) => {
          this.live.delete(cmd.channelId);
          this.deps.ownership.forget(cmd.tenantId, cmd.channelId);
          await this.deps.sessionStore.erase(
            { tenantId: cmd.tenantId, channelId: cmd.channelId },
            this.fence,
          );
        },
        messages: this.messages,
        contactChecks: this.deps.contactChecks,
        media: this.deps.media,
        events: this.deps.events,
        messageStatusRecorder: this.messageStatusRecorder,
        sendsInProgress: this.sendsInProgress,
        ...(this.deps.fetchLink ? { fetchLink: this.deps.fetchLink } : {}),
      },
      onWritten,
    );
  }

  private createSession(tenantId: string, channelId: string, restored?: ChannelAuthState): ChannelSession {
    let session: ChannelSession | undefined;
    // A restored state serves the first login only; after a logout erased it, a new one is made.
    let preloaded = restored;
    const whatsAppMedia = new WhatsAppMedia({
      reupload: (message, signal) => (session as ChannelSession).requestMediaReupload(message, signal),
      ...(this.deps.mediaDownloadTuning ? { tuning: this.deps.mediaDownloadTuning } : {}),
      onRetry: (error) => {
        this.deps.metrics?.count('MediaDownloadRetries');
        this.deps.logger.warn('downloading received media failed; trying again', {
          channelId,
          error: String(error),
        });
      },
    });
    const observer = new PlatformSessionObserver(
      tenantId,
      channelId,
      {
        statusRecorder: this.statusRecorder,
        messageStatusRecorder: this.messageStatusRecorder,
        events: this.deps.events,
        channels: this.channels,
        messages: this.messages,
        ...(this.deps.metrics ? { metrics: this.deps.metrics } : {}),
        logger: this.deps.logger,
      },
      new ReceivedMessageRecorder(
        { tenantId, channelId, shard: this.fence.shard },
        {
          messages: this.messages,
          outbox: this.deps.outbox,
          events: this.outboxPublisher,
          media: this.deps.media,
          downloadMedia: (message, options) => whatsAppMedia.download(message, options),
          ...(this.deps.inboundMediaMaxBytes ? { mediaMaxBytes: this.deps.inboundMediaMaxBytes } : {}),
          ...(this.deps.mediaDownloads ? { mediaDownloads: this.deps.mediaDownloads } : {}),
          onMediaError: (error) =>
            this.deps.logger.warn('received media could not be downloaded', {
              channelId,
              error: String(error),
            }),
          onRecordedWithError: ({ messageId, reason }) => {
            this.deps.metrics?.count('InboundRecordedWithError');
            this.deps.logger.warn('received message recorded without its media or content', {
              channelId,
              messageId,
              reason,
            });
          },
        },
      ),
    );
    session = new ChannelSession({
      ...this.deps.sessionTuning,
      channelId,
      ...(this.deps.leaseConfirmed ? { mayUseSocket: this.deps.leaseConfirmed } : {}),
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
      onRecordRetry: (error) => {
        this.deps.metrics?.count('InboundRecordRetries');
        this.deps.logger.warn('recording a received message failed; retrying while its receipt waits', {
          channelId,
          error: String(error),
        });
      },
    });
    this.live.set(channelId, { tenantId, session });
    return session;
  }
}
