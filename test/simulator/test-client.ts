// A Baileys companion for tests: unmodified makeWASocket against the simulator, in-memory auth,
// with a log of what it saw so tests can wait for outcomes instead of sleeping.
import {
  type AuthenticationState,
  type ConnectionState,
  makeWASocket,
  WA_CERT_DETAILS,
  type WAMessage,
  type WAMessageUpdate,
  type WASocket,
} from '@whiskeysockets/baileys';
import pino from 'pino';
import { memoryAuthState } from './memory-auth-state.ts';
import type { Simulator } from './simulator.ts';

export interface CompanionLog {
  readonly qrs: string[];
  readonly upserts: Array<{ type: string; message: WAMessage }>;
  readonly updates: WAMessageUpdate[];
  readonly closes: number[];
  /** syncType of each messaging-history.set. */
  readonly historySyncs: number[];
  opens: number;
}

export class TestCompanion {
  socket!: WASocket;
  readonly log: CompanionLog = { qrs: [], upserts: [], updates: [], closes: [], historySyncs: [], opens: 0 };
  private stopped = false;

  constructor(
    private readonly simulator: Simulator,
    readonly auth: AuthenticationState = memoryAuthState(),
    /** true: reconnect unless logged out or replaced; 'always': unless logged out. */
    private readonly reconnect: boolean | 'always' = true,
  ) {
    WA_CERT_DETAILS.PUBLIC_KEY = simulator.rootPublicKey;
    this.connect();
  }

  connect(): void {
    const socket = makeWASocket({
      auth: this.auth,
      waWebSocketUrl: this.simulator.wsUrl,
      fetchAgent: this.simulator.mediaAgent(),
      logger: pino({ level: 'silent' }),
      markOnlineOnConnect: false,
    });
    this.socket = socket;
    socket.ev.on('creds.update', (update) => Object.assign(this.auth.creds, update));
    socket.ev.on('connection.update', (update: Partial<ConnectionState>) => {
      if (update.qr) this.log.qrs.push(update.qr);
      if (update.connection === 'open') this.log.opens += 1;
      if (update.connection === 'close') {
        const code =
          (update.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output
            ?.statusCode ?? 0;
        this.log.closes.push(code);
        const replaced = code === 440 && this.reconnect !== 'always';
        if (this.reconnect && !this.stopped && code !== 401 && !replaced && this.socket === socket) {
          setTimeout(() => this.connect(), 50);
        }
      }
    });
    socket.ev.on('messages.upsert', ({ messages, type }) => {
      for (const message of messages) this.log.upserts.push({ type, message });
    });
    socket.ev.on('messages.update', (updates) => this.log.updates.push(...updates));
    socket.ev.on('messaging-history.set', ({ syncType }) => this.log.historySyncs.push(syncType ?? -1));
  }

  /** Highest status Baileys reported for one of our messages, from upserts or updates. */
  statusOf(messageId: string): number {
    let status = 0;
    for (const { message } of this.log.upserts) {
      if (message.key.id === messageId && typeof message.status === 'number')
        status = Math.max(status, message.status);
    }
    for (const { key, update } of this.log.updates) {
      if (key.id === messageId && typeof update.status === 'number') status = Math.max(status, update.status);
    }
    return status;
  }

  receivedTexts(): string[] {
    return this.log.upserts
      .filter(({ message }) => !message.key.fromMe)
      .map(({ message }) => message.message?.conversation ?? message.message?.extendedTextMessage?.text ?? '')
      .filter((text) => text !== '');
  }

  stop(): void {
    this.stopped = true;
    this.socket.end(undefined);
  }
}

/** Polls `check` until it returns a value that is not undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
