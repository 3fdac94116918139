import {
  type AnyMessageContent,
  type AuthenticationState,
  type BinaryNode,
  DisconnectReason,
  jidNormalizedUser,
  proto,
  type WAMessage,
  type WAMessageKey,
  type WASocket,
} from '@whiskeysockets/baileys';
import type { ChannelStatus } from '#shared/domain/channel.ts';
import { type MessageStatus, PAIRING_SECRET_VALIDITY_MS } from '#shared/domain/events.ts';
import { whatsappMessageId } from '#shared/domain/message.ts';
import { CertificateChainError } from '../crypto/certificate-chain.ts';
import { LeaseUnconfirmedError } from '../leases/fenced-writes.ts';
import type { Semaphore } from '../semaphore.ts';
import { type BackoffPolicy, backoffDelay, DEFAULT_RECONNECT_BACKOFF } from './backoff.ts';
import { CircuitBreaker, type CircuitBreakerPolicy, DEFAULT_CIRCUIT_BREAKER } from './circuit-breaker.ts';
import { Inbox } from './inbox.ts';
import { ServerAcks } from './server-acks.ts';

/** The auth state of one channel as the session needs it (runner/auth provides it). */
export interface SessionAuth {
  readonly state: AuthenticationState;
  saveCreds(): Promise<void>;
  /** Erases the channel's creds and keys (after a logout). */
  erase(): Promise<void>;
  /** Told at once when Signal keys the socket used could not be stored. */
  watchCommits?(onFailure: (error: unknown) => void): void;
  /** Stores what could not be stored before; a socket opens only once this succeeds. */
  settle?(): Promise<void>;
}

/** What a session asks of each socket it creates. */
export interface SocketHooks {
  /** Resolves once the received message is durably recorded; its delivery receipt waits for it. */
  beforeDeliveryReceipt(message: WAMessage): Promise<void>;
}

export type SocketFactory = (auth: AuthenticationState, hooks: SocketHooks) => WASocket;

export interface MessageStatusUpdate {
  readonly waMessageId: string;
  readonly remoteJid: string;
  readonly remoteJidAlt?: string | undefined;
  readonly status: MessageStatus;
}

/** What the session tells the rest of the runner; each call is awaited before the next of its kind. */
export interface SessionObserver {
  onStatus(change: {
    from: ChannelStatus;
    to: ChannelStatus;
    reason?: string;
    me?: OwnAccount;
  }): Promise<void>;
  onQr(qr: string, expiresAt: Date): Promise<void>;
  onPairingCode(code: string, phoneNumber: string, expiresAt: Date): Promise<void>;
  /**
   * Records a received message durably (or finds it recorded already); WhatsApp hears "delivered"
   * only once this resolves. Called for every decrypted message, one at a time per connection;
   * `signal` aborts when the connection is gone (the message will be delivered again).
   */
  onMessageReceived(message: WAMessage, signal: AbortSignal): Promise<void>;
  onMessageStatus(updates: MessageStatusUpdate[]): Promise<void>;
}

export interface OwnAccount {
  readonly phoneNumber: string | null;
  readonly lid: string | null;
}

export interface ChannelSessionOptions {
  readonly channelId: string;
  readonly loadAuth: () => Promise<SessionAuth>;
  readonly createSocket: SocketFactory;
  readonly observer: SessionObserver;
  readonly limiter: Semaphore;
  readonly backoff?: BackoffPolicy;
  readonly breaker?: CircuitBreakerPolicy;
  /** How long a send waits for the server's ack. */
  readonly ackTimeoutMs?: number;
  /** How often an open socket is pinged; two missed answers recycle it. */
  readonly watchdogIntervalMs?: number;
  readonly onError?: (error: unknown, during: string) => void;
  readonly now?: () => number;
  /** How long `stop()` lets in-flight stanzas finish before the caller may release the lease. */
  readonly stopGraceMs?: number;
  /**
   * False when the runner cannot prove it still holds the channel's shard: nothing is sent and no
   * socket opened (the shard's sockets are being closed; another runner may take it).
   */
  readonly mayUseSocket?: () => boolean;
  /** Backoff between attempts to record a received message (its receipt waits meanwhile). */
  readonly recordRetry?: BackoffPolicy;
  /** Told of each failed attempt to record a received message that will be made again. */
  readonly onRecordRetry?: (error: unknown) => void;
}

/** The timing knobs of every session of a runner (defaults suit WhatsApp; tests shorten them). */
export type SessionTuning = Pick<
  ChannelSessionOptions,
  'backoff' | 'breaker' | 'ackTimeoutMs' | 'watchdogIntervalMs' | 'stopGraceMs' | 'recordRetry'
>;

export type ConnectIntent =
  | { method: 'qr' }
  | { method: 'pairing_code'; phoneNumber: string }
  | { method: 'resume' };

export class SessionNotOpenError extends Error {
  constructor(channelId: string, status: ChannelStatus) {
    super(`Channel ${channelId} is ${status}, not open`);
    this.name = 'SessionNotOpenError';
  }
}

/**
 * One channel's WhatsApp session: owns its Baileys socket and walks the status machine
 * disconnected → connecting → qr | pairing_code → open → reconnecting → logged_out | failed.
 * Transient closes reconnect with jittered backoff behind a circuit breaker; `loggedOut` erases the
 * creds and ends the session; `stop()` closes without logging out, for a hand-over to another runner.
 */
export class ChannelSession {
  private currentStatus: ChannelStatus = 'disconnected';
  private socket: WASocket | undefined;
  private inbox: Inbox<WAMessage> | undefined;
  private auth: SessionAuth | undefined;
  private intent: ConnectIntent = { method: 'resume' };
  private attempt = 0;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private qrCount = 0;
  private pairingRequested = false;
  private readonly acks = new ServerAcks();
  private readonly breaker: CircuitBreaker;
  private readonly now: () => number;
  private transitions: Promise<void> = Promise.resolve();

  constructor(private readonly options: ChannelSessionOptions) {
    this.now = options.now ?? Date.now;
    this.breaker = new CircuitBreaker(options.breaker ?? DEFAULT_CIRCUIT_BREAKER, this.now);
  }

  get status(): ChannelStatus {
    return this.currentStatus;
  }

  get channelId(): string {
    return this.options.channelId;
  }

  /**
   * True while the session is open or logging in with its stored creds (a takeover's quiet login
   * included): it will open without anyone pairing it. False when it is logged out, stopped, or
   * waiting for a QR scan or a pairing code.
   */
  get canOpen(): boolean {
    if (this.stopped || this.currentStatus === 'logged_out') return false;
    return this.currentStatus === 'open' || this.intent.method === 'resume';
  }

  /**
   * Starts (or restarts) the session; `resume` logs in with stored creds. A takeover (`quiet`) does
   * not report `connecting`: the channel was open and, once logged in, still is, so a deploy or a
   * failover does not send every clinic two status events per channel. A failed login still reports.
   */
  async connect(
    intent: ConnectIntent = { method: 'resume' },
    options: { quiet?: boolean } = {},
  ): Promise<void> {
    this.stopped = false;
    this.intent = intent;
    this.attempt = 0;
    this.breaker.recordSuccess();
    clearTimeout(this.reconnectTimer);
    if (this.socket) this.closeSocket(new Error('reconnect requested'));
    if (!options.quiet) await this.setStatus('connecting');
    await this.openSocket();
  }

  /** Closes the socket and logs in again from the stored creds. */
  async restart(): Promise<void> {
    await this.connect({ method: 'resume' });
  }

  /** Unlinks the device from the phone; the close that follows erases the creds. */
  async logout(): Promise<void> {
    if (!this.socket || this.currentStatus !== 'open') {
      await this.endLoggedOut('logout requested');
      return;
    }
    await this.socket.logout('logout requested');
  }

  /**
   * Hand-over or shutdown: close without logging out, report nothing, keep the creds. The socket
   * closes before this returns its promise; `graceMs` 0 when the lease is already in doubt.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const hadSocket = this.socket !== undefined;
    const graceMs = options.graceMs ?? this.options.stopGraceMs ?? 1500;
    // Received messages being recorded get their receipts out on this socket if they finish in time;
    // the others WhatsApp delivers again to whoever connects next. With no grace (the lease is in
    // doubt) the socket closes before this returns its promise.
    if (this.inbox && graceMs > 0) await Promise.race([this.inbox.settled(), delay(graceMs)]);
    this.closeSocket(new Error('session stopped'));
    await this.transitions;
    // Stanzas already read from the socket are still being decrypted and their key updates written;
    // the lease (and with it the right to write) must outlive them, or those messages are lost.
    if (hadSocket && graceMs > 0) await delay(graceMs);
  }

  /**
   * Sends and resolves once WhatsApp acknowledged the message; `onWritten` is told as soon as the
   * stanza is on the socket (the channel's next send may go then). The WhatsApp id is derived from
   * our message id, so a retried send after a crash reuses the same id and recipients see one message.
   */
  async send(
    to: string,
    content: AnyMessageContent,
    messageId: string,
    onWritten?: () => void,
  ): Promise<{ waMessageId: string; jid: string }> {
    const socket = this.openSocketOrThrow();
    const waMessageId = whatsappMessageId(this.options.channelId, messageId);
    const jid = jidNormalizedUser(`${to.replace(/^\+/, '')}@s.whatsapp.net`);
    const acked = this.acks.expect(waMessageId, this.options.ackTimeoutMs ?? 30_000);
    // The socket may close (and reject `acked`) while sendMessage is still writing key updates.
    acked.catch(() => undefined);
    await socket.sendMessage(jid, content, { messageId: waMessageId });
    onWritten?.();
    await acked;
    return { waMessageId, jid };
  }

  /**
   * Asks the sender's phone to upload a received file again (its URL expired) and resolves with the
   * message pointing at the new upload; rejects when `signal` aborts first.
   */
  async requestMediaReupload(message: WAMessage, signal: AbortSignal): Promise<WAMessage> {
    // Offline messages can arrive while the connection is still settling: any live socket will do.
    const socket = this.socket ?? this.openSocketOrThrow();
    signal.throwIfAborted();
    let aborted = () => {};
    try {
      return await Promise.race([
        socket.updateMediaMessage(message),
        new Promise<never>((_resolve, reject) => {
          aborted = () => reject(signal.reason);
          signal.addEventListener('abort', aborted, { once: true });
        }),
      ]);
    } finally {
      signal.removeEventListener('abort', aborted);
    }
  }

  async markRead(keys: WAMessageKey[]): Promise<void> {
    await this.openSocketOrThrow().readMessages(keys);
  }

  /** Which numbers are on WhatsApp, with their LID (fetched from WhatsApp when not yet known). */
  async checkNumbers(
    phoneNumbers: string[],
  ): Promise<{ phoneNumber: string; exists: boolean; lid: string | null }[]> {
    const socket = this.openSocketOrThrow();
    const digits = (phoneNumber: string) => phoneNumber.replace(/^\+/, '');
    const found = (await socket.onWhatsApp(...phoneNumbers.map(digits))) ?? [];
    const existing = new Set(
      found.filter((result) => result.exists).map((result) => jidNormalizedUser(result.jid)),
    );
    return Promise.all(
      phoneNumbers.map(async (phoneNumber) => {
        const jid = jidNormalizedUser(`${digits(phoneNumber)}@s.whatsapp.net`);
        if (!existing.has(jid)) return { phoneNumber, exists: false, lid: null };
        const lid = await socket.signalRepository.lidMapping.getLIDForPN(jid);
        return { phoneNumber, exists: true, lid: lid ? jidNormalizedUser(lid) : null };
      }),
    );
  }

  private openSocketOrThrow(): WASocket {
    if (!this.socket || this.currentStatus !== 'open')
      throw new SessionNotOpenError(this.options.channelId, this.currentStatus);
    if (this.options.mayUseSocket && !this.options.mayUseSocket())
      throw new LeaseUnconfirmedError(`channel ${this.options.channelId}`);
    return this.socket;
  }

  private async openSocket(): Promise<void> {
    if (this.stopped) return;
    if (this.options.mayUseSocket && !this.options.mayUseSocket()) {
      this.scheduleReconnect('the shard lease is not confirmed');
      return;
    }
    try {
      if (!this.auth) {
        this.auth = await this.options.loadAuth();
        // Not one more stanza from a ratchet step the store does not have.
        this.auth.watchCommits?.((error) =>
          this.closeSocket(new Error(`Signal state not saved (${(error as Error)?.name ?? 'error'})`)),
        );
      }
      const auth = this.auth;
      await auth.settle?.();
      await this.options.limiter.run(async () => {
        if (this.stopped) return;
        // The wait for a connect slot can be long (a takeover): the lease may be in doubt by now.
        if (this.options.mayUseSocket && !this.options.mayUseSocket()) {
          this.scheduleReconnect('the shard lease is not confirmed');
          return;
        }
        const inbox = new Inbox<WAMessage>(
          (message, signal) => this.options.observer.onMessageReceived(message, signal),
          {
            ...(this.options.recordRetry ? { retry: this.options.recordRetry } : {}),
            onRetry: (error) => this.options.onRecordRetry?.(error),
          },
        );
        const socket = this.options.createSocket(auth.state, {
          beforeDeliveryReceipt: (message) => inbox.admit(message),
        });
        this.socket = socket;
        this.inbox = inbox;
        this.qrCount = 0;
        this.pairingRequested = false;
        await new Promise<void>((settled) => this.wire(socket, auth, inbox, settled));
      });
    } catch (error) {
      this.options.onError?.(error, 'connect');
      this.scheduleReconnect('connect failed');
    }
  }

  /** Subscribes to the socket; `settled` fires at the first QR, open or close (the end of the connect). */
  private wire(socket: WASocket, auth: SessionAuth, inbox: Inbox<WAMessage>, settled: () => void): void {
    socket.ws.on('CB:ack,class:message', (node: BinaryNode) => this.acks.onAck(node));
    socket.ev.on('creds.update', () => {
      auth.saveCreds().catch((error) => this.options.onError?.(error, 'saving creds'));
    });
    socket.ev.on('connection.update', (update) => {
      if (socket !== this.socket) return;
      if (update.qr) {
        settled();
        this.handleQr(socket, update.qr);
      }
      if (update.connection === 'open') {
        settled();
        this.serialize(() => this.handleOpen(auth));
      }
      if (update.connection === 'close') {
        // No receipt can leave a closed socket: stop retrying records it was waiting for.
        inbox.close();
        settled();
        this.serialize(() => this.handleClose(socket, update.lastDisconnect?.error));
      }
    });
    // Received messages are recorded through `beforeDeliveryReceipt`, before their receipt; the
    // upsert only brings our own messages' statuses.
    socket.ev.on('messages.upsert', ({ messages }) => {
      const statuses = messages.flatMap((message) => ownStatus(message));
      if (statuses.length > 0)
        this.guard('recording statuses', () => this.options.observer.onMessageStatus(statuses));
    });
    socket.ev.on('messages.update', (updates) => {
      const statuses = updates.flatMap(({ key, update }) =>
        key.fromMe && key.id && key.remoteJid && update.status !== undefined && update.status !== null
          ? statusUpdate(key, update.status)
          : [],
      );
      if (statuses.length > 0)
        this.guard('recording statuses', () => this.options.observer.onMessageStatus(statuses));
    });
  }

  private handleQr(socket: WASocket, qr: string): void {
    const intent = this.intent;
    if (intent.method === 'pairing_code') {
      if (this.pairingRequested) return;
      this.pairingRequested = true;
      this.serialize(async () => {
        const code = await socket.requestPairingCode(intent.phoneNumber.replace(/^\+/, ''));
        await this.setStatus('pairing_code');
        await this.options.observer.onPairingCode(
          code,
          intent.phoneNumber,
          new Date(this.now() + PAIRING_SECRET_VALIDITY_MS.pairingCode),
        );
      });
      return;
    }
    const ttl = this.qrCount++ === 0 ? PAIRING_SECRET_VALIDITY_MS.firstQr : PAIRING_SECRET_VALIDITY_MS.nextQr;
    this.serialize(async () => {
      await this.setStatus('qr');
      await this.options.observer.onQr(qr, new Date(this.now() + ttl));
    });
  }

  private async handleOpen(auth: SessionAuth): Promise<void> {
    this.attempt = 0;
    this.breaker.recordSuccess();
    this.intent = { method: 'resume' };
    const me = auth.state.creds.me;
    const phoneUser = me?.id ? jidNormalizedUser(me.id).split('@')[0] : undefined;
    await this.setStatus('open', undefined, {
      phoneNumber: phoneUser ? `+${phoneUser}` : null,
      lid: me?.lid ? jidNormalizedUser(me.lid) : null,
    });
    this.startWatchdog();
  }

  private async handleClose(socket: WASocket, error: Error | undefined): Promise<void> {
    this.stopWatchdog();
    this.socket = socket === this.socket ? undefined : this.socket;
    this.acks.failAll(new Error('connection closed before the server acknowledged'));
    if (this.stopped) return;
    const code = (error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;
    if (code === DisconnectReason.loggedOut) {
      await this.endLoggedOut('logged out from the phone or by WhatsApp');
      return;
    }
    if (code === DisconnectReason.restartRequired) {
      // Normal right after pairing: WhatsApp asks the new companion to log in again at once.
      await this.openSocket();
      return;
    }
    if (!this.auth?.state.creds.registered && this.intent.method !== 'resume') {
      // An unpaired session whose QR or code expired: the clinic must ask for a new one.
      await this.setStatus(
        'disconnected',
        code === DisconnectReason.timedOut ? 'pairing expired' : describe(code, error),
      );
      return;
    }
    this.scheduleReconnect(describe(code, error));
  }

  private scheduleReconnect(reason: string): void {
    if (this.stopped) return;
    this.breaker.recordFailure();
    const breakerWait = this.breaker.waitMs();
    const delay =
      breakerWait > 0
        ? breakerWait
        : backoffDelay(this.attempt++, this.options.backoff ?? DEFAULT_RECONNECT_BACKOFF);
    this.serialize(() => this.setStatus(breakerWait > 0 ? 'failed' : 'reconnecting', reason));
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.serialize(async () => {
        if (this.currentStatus === 'failed')
          await this.setStatus('reconnecting', 'retrying after circuit breaker');
      });
      void this.openSocket();
    }, delay);
  }

  private async endLoggedOut(reason: string): Promise<void> {
    this.stopWatchdog();
    clearTimeout(this.reconnectTimer);
    const auth = this.auth;
    this.auth = undefined;
    this.socket = undefined;
    await (auth ?? (await this.options.loadAuth())).erase();
    await this.setStatus('logged_out', reason);
  }

  /** Pings the server through the socket; a socket that stops answering is closed and reconnected. */
  private startWatchdog(): void {
    this.stopWatchdog();
    const interval = this.options.watchdogIntervalMs ?? 60_000;
    let missed = 0;
    this.watchdog = setInterval(() => {
      const socket = this.socket;
      if (!socket) return;
      socket
        .query(
          {
            tag: 'iq',
            attrs: { to: 's.whatsapp.net', type: 'get', xmlns: 'w:p' },
            content: [{ tag: 'ping', attrs: {} }],
          },
          interval / 2,
        )
        .then(() => {
          missed = 0;
        })
        .catch(() => {
          if (++missed >= 2) this.closeSocket(new Error('zombie socket: pings unanswered'));
        });
    }, interval);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private closeSocket(reason: Error): void {
    this.stopWatchdog();
    const socket = this.socket;
    if (!socket) return;
    if (this.stopped) this.socket = undefined;
    socket.end(reason);
  }

  private async setStatus(to: ChannelStatus, reason?: string, me?: OwnAccount): Promise<void> {
    const from = this.currentStatus;
    if (from === to && to !== 'qr') return;
    this.currentStatus = to;
    await this.options.observer.onStatus({ from, to, ...(reason ? { reason } : {}), ...(me ? { me } : {}) });
  }

  /** Status changes and their reports happen one at a time, in the order the socket raised them. */
  private serialize(work: () => Promise<void>): void {
    this.transitions = this.transitions
      .then(work)
      .catch((error) => this.options.onError?.(error, 'status change'));
  }

  private guard(during: string, work: () => Promise<void>): void {
    work().catch((error) => this.options.onError?.(error, during));
  }
}

// No SERVER_ACK: `sent` is recorded by the send command itself once the server's ack arrived;
// recording it here too would only cost reads and a refused write per message.
const WA_STATUS: Partial<Record<number, MessageStatus>> = {
  [proto.WebMessageInfo.Status.ERROR]: 'failed',
  [proto.WebMessageInfo.Status.DELIVERY_ACK]: 'delivered',
  [proto.WebMessageInfo.Status.READ]: 'read',
  [proto.WebMessageInfo.Status.PLAYED]: 'read',
};

function statusUpdate(key: WAMessageKey, waStatus: number): MessageStatusUpdate[] {
  const status = WA_STATUS[waStatus];
  if (!status || !key.id || !key.remoteJid) return [];
  return [{ waMessageId: key.id, remoteJid: key.remoteJid, remoteJidAlt: key.remoteJidAlt, status }];
}

/** On loopback a receipt can land before our own upsert is flushed; Baileys then puts it here. */
function ownStatus(message: WAMessage): MessageStatusUpdate[] {
  if (!message.key.fromMe || message.status === undefined || message.status === null) return [];
  if (message.status < proto.WebMessageInfo.Status.DELIVERY_ACK) return [];
  return statusUpdate(message.key, message.status);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(code: number | undefined, error?: Error): string {
  // The server did not prove it is WhatsApp: say so, not just "400".
  if (error instanceof CertificateChainError) return `certificate chain refused: ${error.reason}`;
  const name = Object.entries(DisconnectReason).find(([, value]) => value === code)?.[0];
  if (name) return `connection closed: ${name} (${code})`;
  if (code) return `connection closed (${code})`;
  // Closed by us (the watchdog, say): our own reason.
  return error?.message ? `connection closed: ${error.message}` : 'connection closed';
}
