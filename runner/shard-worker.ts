import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ZodError } from 'zod';
import { acceptsCommand, type Channel, type ChannelStatus, shardDutyFor } from '#shared/domain/channel.ts';
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
import type { ChannelRef } from './auth/channel-cipher.ts';
import {
  type ChannelAuthState,
  loadAuthState,
  type RestoredAuthState,
  restoreAuthStates,
} from './auth/dynamo-auth-state.ts';
import type { SessionStore } from './auth/session-store.ts';
import { type CommandOutcome, handleCommand, PermanentCommandError } from './command-handler.ts';
import type { ChannelOwnership } from './commands/channel-ownership.ts';
import { SendsInProgress } from './commands/sends-in-progress.ts';
import {
  CommandGroupMismatch,
  type MalformedCommand,
  ShardCommandConsumer,
} from './commands/shard-command-consumer.ts';
import { ChannelEventSequence } from './events/channel-event-sequence.ts';
import { ChannelStatusRecorder } from './events/channel-status-recorder.ts';
import { MessageStatusRecorder } from './events/message-status-recorder.ts';
import { OutboxPublisher, type OutboxTuning } from './events/outbox-publisher.ts';
import { fencedChannels, fencedMessages } from './leases/fenced-writes.ts';
import { ReceivedMessageRecorder } from './messages/received-message-recorder.ts';
import { type MediaDownloadTuning, WhatsAppMedia } from './messages/whatsapp-media.ts';
import type { RunnerCounter, RunnerMetrics } from './runner-metrics.ts';
import type { Semaphore } from './semaphore.ts';
import { PlatformSessionObserver } from './session-observer.ts';
import { type BackoffPolicy, backoffDelay } from './sessions/backoff.ts';
import { ChannelSession, type SessionTuning, type SocketFactory } from './sessions/channel-session.ts';
import { ObserverGate } from './sessions/observer-gate.ts';

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
  /** How long a deletion waits for a socket to log the channel out before it erases without (30 s). */
  readonly deletionLogoutTimeoutMs?: number;
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

const DELETION_LOGOUT_TIMEOUT_MS = 30_000;
/** Between attempts to finish a deletion a takeover found (its erase failed: DynamoDB, the lease…). */
const DELETION_RETRY: BackoffPolicy = { baseMs: 1_000, maxMs: 60_000 };
/** Statuses after which a socket opened to log a deleted channel out will not open by waiting. */
const NOT_OPENING = new Set<ChannelStatus>(['reconnecting', 'failed', 'logged_out', 'disconnected']);

interface LiveChannel {
  readonly tenantId: string;
  readonly session: ChannelSession;
  /** Closed when the channel is deleted: nothing its session sees is recorded after that. */
  readonly gate: ObserverGate;
  /** The auth state the session uses now; erasing through it refuses its socket's late writes. */
  auth: ChannelAuthState | undefined;
}

/**
 * Everything a runner does for one shard it holds: the sessions of the shard's channels (restored
 * from their stored creds when the shard is taken over) and the consumer of the shard's command
 * queue. Every session write carries the shard's fence.
 */
export class ShardWorker {
  private readonly live = new Map<string, LiveChannel>();
  /** Deletions under way, by channel: one at a time per channel (a command, its expiry, a takeover). */
  private readonly deletions = new Map<string, Promise<void>>();
  /** Sockets opened only to log a deleted channel out: never in `live`, no command can use them. */
  private readonly deletionSessions = new Set<ChannelSession>();
  /** Aborts when the worker stops: deletions stop waiting for a socket or a retry. */
  private readonly stopping = new AbortController();
  /** The platform's repositories as this shard writes them: fenced (leases/fenced-writes.ts). */
  private readonly channels: ChannelRepository;
  private readonly messages: MessageRepository;
  private readonly consumer: ShardCommandConsumer;
  private readonly statusRecorder: ChannelStatusRecorder;
  private readonly messageStatusRecorder: MessageStatusRecorder;
  private readonly sendsInProgress = new SendsInProgress();
  private readonly outboxPublisher: OutboxPublisher;
  /** This lease's numbering of the shard's channel events (a new lease counts from 1 again). */
  private readonly sequence: ChannelEventSequence;
  private starting: Promise<void> | undefined;
  private stopped = false;

  constructor(
    readonly fence: Fence,
    private readonly deps: ShardWorkerDeps,
  ) {
    const confirmed = deps.leaseConfirmed ?? (() => true);
    this.channels = fencedChannels(deps.channels, fence, confirmed);
    this.messages = fencedMessages(deps.messages, fence, confirmed);
    this.sequence = new ChannelEventSequence(fence.token);
    this.statusRecorder = new ChannelStatusRecorder(this.channels, deps.events, this.sequence);
    this.messageStatusRecorder = new MessageStatusRecorder(this.messages, deps.events, this.sequence);
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
    this.stopping.abort();
    // A start still restoring must not go on to open sockets or poll once the shard is gone.
    await this.starting?.catch(() => undefined);
    await this.consumer.drain();
    await Promise.all(this.sessions.map((session) => session.stop()));
    this.live.clear();
    // A deletion under way stops waiting for a logout and erases while the lease is still held;
    // what it cannot finish, the shard's next owner does (the channel is still on the shard's list).
    await Promise.allSettled([...this.deletions.values()]);
    await this.outboxPublisher.stop();
  }

  /**
   * The lease can no longer be proven: every socket closes now (before another runner may log the
   * channels in), without logging out or waiting for stanzas in flight; then the commands in hand
   * are given back.
   */
  async abandon(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    const closing = [...this.sessions, ...this.deletionSessions].map((session) =>
      session.stop({ graceMs: 0 }),
    );
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
    const channels = await this.channelsWithDuties();
    if (this.stopped) return;
    const toDelete = new Set(
      channels.filter((channel) => shardDutyFor(channel) === 'finish_deletion').map((channel) => channel.id),
    );
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
      if (toDelete.has(result.channel.channelId)) {
        // Deleted, its deletion never finished (its command failed until its deadline, or went to
        // the dead-letter queue): never resumed; its deletion is finished in the background.
        void this.finishPendingDeletion(result);
        continue;
      }
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

  /** The shard's channels this runner owes something on takeover: a resume, or a deletion to finish. */
  private async channelsWithDuties(): Promise<Channel[]> {
    const channels: Channel[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.channels.listByShard(this.fence.shard, {
        limit: 100,
        ...(cursor ? { cursor } : {}),
      });
      channels.push(...page.items.filter((channel) => shardDutyFor(channel) !== 'none'));
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
    if (!acceptsCommand(verdict.channel, command.type)) {
      // Deleted: nothing is sent from it or written for it any more (a send's record stays as it was).
      await this.refuse(command, 'channel_deleted', undefined);
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

  /**
   * Kept failing until its deadline (or received past it): given up, and a send marked `failed:
   * expired`. A delete is not given up: the clinic's deletion still stands, so the channel is
   * deleted here once more (its logout best effort) and the expiry is tried again until its session
   * is erased.
   */
  private async expire(command: ChannelCommand, lastError: unknown): Promise<void> {
    this.deps.logger.warn('command expired', {
      shard: this.fence.shard,
      commandId: command.commandId,
      type: command.type,
      ...(lastError instanceof Error ? { lastError: lastError.name } : {}),
    });
    this.deps.metrics?.count('CommandsExpired');
    if (command.type === 'delete') {
      // Never tried, maybe: the runner trusts an expired command no more than a live one.
      const verdict = await this.deps.ownership.verify(command, this.fence.shard);
      if (!verdict.ok) return this.refuse(command, verdict.reason, undefined);
      return this.finishDeletion(command);
    }
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
          // A worker given up or stopping makes no new session (its sockets could never be used),
          // nor one for a channel being deleted.
          return create && !live && !this.stopped && !this.deletions.has(cmd.channelId)
            ? this.createSession(cmd.tenantId, cmd.channelId)
            : null;
        },
        deleteChannel: (cmd) => this.finishDeletion(cmd),
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

  /**
   * Deletes a channel on this runner — for its delete command, that command's expiry, or a takeover
   * that finds it marked deleted — one run at a time per channel; each is safe to repeat.
   */
  private finishDeletion(channel: ChannelRef, restored?: ChannelAuthState): Promise<void> {
    const { tenantId, channelId } = channel;
    const before = this.deletions.get(channelId) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(() => this.deleteOnce({ tenantId, channelId }, restored));
    this.deletions.set(channelId, run);
    const settled = () => {
      if (this.deletions.get(channelId) === run) this.deletions.delete(channelId);
    };
    run.then(settled, settled);
    return run;
  }

  /**
   * 1. The channel leaves `live` and its gate closes: no command can use its session, nothing it
   *    receives is recorded (nor receipted), no status or event is reported for it.
   * 2. Logout, best effort: it needs an open socket. A live open session logs out on its own; a
   *    channel without one (a takeover) that had paired gets a socket opened quietly from its stored
   *    creds, for this only, within `deletionLogoutTimeoutMs`. When no socket opens (WhatsApp
   *    unreachable, the creds refused) the session is erased without a logout, and the phone keeps
   *    a stale linked device until WhatsApp drops it (`DeletedWithoutLogout`).
   * 3. The socket closes, and what got through the gate before it closed (a record under way) ends.
   * 4. The stored session is erased, META (the data key) first: through the auth state the socket
   *    used, so a late write of it is refused, or straight from the table.
   * 5. The channel leaves its shard's list, if it is marked deleted (else the next takeover does
   *    this, finding nothing left to erase).
   * Repeated, each step finds nothing to do.
   */
  private async deleteOnce({ tenantId, channelId }: ChannelRef, restored?: ChannelAuthState): Promise<void> {
    this.deps.ownership.forget(tenantId, channelId);
    const live = this.live.get(channelId);
    let channel = live?.tenantId === tenantId ? live : undefined;
    if (channel) {
      this.live.delete(channelId);
      channel.gate.close();
      // Logging in again (a takeover's quiet resume): it may be open in a moment, and then logged out.
      if (isPaired(channel.auth) && channel.session.canOpen) await this.loginSettled(channel);
    } else if (restored && isPaired(restored) && !this.stopped) {
      channel = await this.openToLogOut(tenantId, channelId, restored);
    }
    const auth = channel?.auth ?? restored;
    const paired = isPaired(auth);
    const loggedOut = channel ? await this.logOut(channel.session, channelId) : false;
    if (channel) {
      await channel.session.stop();
      this.deletionSessions.delete(channel.session);
      await channel.gate.idle();
    }
    if (auth) await auth.erase();
    else await this.deps.sessionStore.erase({ tenantId, channelId }, this.fence);
    const completed = await this.channels.completeDeletion(tenantId, channelId, new Date().toISOString());
    if (paired && !loggedOut) this.deps.metrics?.count('DeletedWithoutLogout');
    this.deps.logger.info('channel deleted: session erased', {
      shard: this.fence.shard,
      channelId,
      loggedOut,
      ...(completed ? {} : { note: 'not marked deleted (yet): left on the shard list' }),
    });
  }

  /** Unlinks the device from the phone when the socket is open; false when it could not. */
  private async logOut(session: ChannelSession, channelId: string): Promise<boolean> {
    if (session.status !== 'open') return false;
    try {
      const timeoutMs = this.deps.deletionLogoutTimeoutMs ?? DELETION_LOGOUT_TIMEOUT_MS;
      if ((await within(session.logout(), timeoutMs)) === 'timed_out') throw new Error('logout timed out');
      return true;
    } catch (error) {
      this.deps.logger.warn('a deleted channel could not be logged out; its session is erased anyway', {
        channelId,
        error: String(error),
      });
      return false;
    }
  }

  /**
   * A socket for a deleted channel that had paired, opened quietly from its stored creds only to log
   * it out: its gate is closed from the start (nothing WhatsApp delivers on it is recorded or
   * receipted) and it is never in `live`. Resolves once it is open, will not open by waiting, the
   * timeout passed, or the worker stops; the caller logs out an open one only.
   */
  private async openToLogOut(
    tenantId: string,
    channelId: string,
    auth: ChannelAuthState,
  ): Promise<LiveChannel> {
    const channel = this.newSession(tenantId, channelId, new ObserverGate(undefined), auth, {
      loadsAnother: false,
    });
    this.deletionSessions.add(channel.session);
    const settled = this.loginSettled(channel);
    channel.session.connect({ method: 'resume' }, { quiet: true }).catch(() => undefined);
    await settled;
    return channel;
  }

  /**
   * Resolves once the channel's session is open, or will not open by waiting (reconnecting after a
   * failure, logged out…), or `deletionLogoutTimeoutMs` passed, or the worker stops.
   */
  private async loginSettled(channel: LiveChannel): Promise<void> {
    const settled = new Promise<void>((resolve) => {
      channel.gate.watchStatus((status) => {
        if (status === 'open' || NOT_OPENING.has(status)) resolve();
      });
    });
    // `disconnected` now is a quiet login under way (it reports nothing until it is open); reported
    // later, it is a login that ended.
    const { status } = channel.session;
    if (status === 'open' || (status !== 'disconnected' && NOT_OPENING.has(status))) return;
    await within(
      settled,
      this.deps.deletionLogoutTimeoutMs ?? DELETION_LOGOUT_TIMEOUT_MS,
      this.stopping.signal,
    );
  }

  /**
   * A deletion a takeover found unfinished: tried until its session is erased or the worker stops
   * (then the shard's next owner finds it on the list again).
   */
  private async finishPendingDeletion(result: RestoredAuthState): Promise<void> {
    if (result.status === 'failed') {
      this.deps.logger.warn('a deleted channel’s session could not be opened; erasing it without a logout', {
        channelId: result.channel.channelId,
        error: String(result.error),
      });
    }
    let restored = result.status === 'restored' ? result.auth : undefined;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.finishDeletion(result.channel, restored);
        return;
      } catch (error) {
        restored = undefined;
        this.deps.logger.warn('finishing a deleted channel’s deletion failed; trying again', {
          channelId: result.channel.channelId,
          error: String(error),
        });
        await within(
          new Promise(() => undefined),
          backoffDelay(attempt, DELETION_RETRY),
          this.stopping.signal,
        );
      }
    }
  }

  private createSession(tenantId: string, channelId: string, restored?: ChannelAuthState): ChannelSession {
    let session: ChannelSession | undefined;
    const gate = new ObserverGate(
      this.platformObserver(tenantId, channelId, () => session as ChannelSession),
    );
    const channel = this.newSession(tenantId, channelId, gate, restored, { loadsAnother: true });
    session = channel.session;
    this.live.set(channelId, channel);
    return session;
  }

  /**
   * A session of the channel reporting to `gate`. `restored` serves its first login; after that (a
   * logout erased it) it loads or creates another, unless `loadsAnother` is false (a deleted channel).
   */
  private newSession(
    tenantId: string,
    channelId: string,
    gate: ObserverGate,
    restored: ChannelAuthState | undefined,
    options: { loadsAnother: boolean },
  ): LiveChannel {
    let preloaded = restored;
    let channel: LiveChannel | undefined;
    const session: ChannelSession = new ChannelSession({
      ...this.deps.sessionTuning,
      channelId,
      ...(this.deps.leaseConfirmed ? { mayUseSocket: this.deps.leaseConfirmed } : {}),
      createSocket: this.deps.createSocket,
      limiter: this.deps.limiter,
      observer: gate,
      loadAuth: async () => {
        const auth = preloaded;
        preloaded = undefined;
        if (!auth && !options.loadsAnother)
          throw new Error('a deleted channel’s session is not loaded again');
        const loaded =
          auth ??
          (await loadAuthState({
            store: this.deps.sessionStore,
            tenantId,
            channelId,
            fence: this.fence,
            onStaleFence: () => void session.stop(),
          }));
        if (channel) channel.auth = loaded;
        return loaded;
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
    channel = { tenantId, session, gate, auth: undefined };
    return channel;
  }

  /** What the channel's session reports to: statuses, pairing, received messages, message statuses. */
  private platformObserver(
    tenantId: string,
    channelId: string,
    sessionOf: () => ChannelSession,
  ): PlatformSessionObserver {
    const whatsAppMedia = new WhatsAppMedia({
      reupload: (message, signal) => sessionOf().requestMediaReupload(message, signal),
      ...(this.deps.mediaDownloadTuning ? { tuning: this.deps.mediaDownloadTuning } : {}),
      onRetry: (error) => {
        this.deps.metrics?.count('MediaDownloadRetries');
        this.deps.logger.warn('downloading received media failed; trying again', {
          channelId,
          error: String(error),
        });
      },
    });
    return new PlatformSessionObserver(
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
          sequence: this.sequence,
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
  }
}

/** A session that had paired (WhatsApp knows its device): only such a one can be logged out. */
function isPaired(auth: ChannelAuthState | undefined): boolean {
  return Boolean(auth?.state.creds.account);
}

/** Settles with `work`, or with `'timed_out'` once `ms` passed or `signal` aborted, whichever first. */
async function within<T>(work: Promise<T>, ms: number, signal?: AbortSignal): Promise<T | 'timed_out'> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: () => void = () => undefined;
  const limit = new Promise<'timed_out'>((resolve) => {
    if (signal?.aborted) return resolve('timed_out');
    timer = setTimeout(() => resolve('timed_out'), ms);
    onAbort = () => resolve('timed_out');
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
