// Baileys' AuthenticationState backed by the sessions table. `state.keys` is the channel's stored
// key store behind Baileys' in-memory cache. Baileys' socket adds its transaction capability to
// whatever `auth.keys` it is given (makeWASocket → addTransactionCapability): the key changes made
// while encrypting or decrypting a message are held until the work succeeds and then committed by
// one `keys.set` call, which the store writes as one fenced transaction (more only beyond 99 items).
// So `state.keys` must not be wrapped a second time: the inner wrapper would split that commit
// by key type into separate writes.
import {
  type AuthenticationCreds,
  type AuthenticationState,
  type CacheStore,
  makeCacheableSignalKeyStore,
  type SignalDataSet,
  type TransactionCapabilityOptions,
} from '@whiskeysockets/baileys';
import { type Fence, StaleFenceError } from '#shared/domain/fence.ts';
import type { ChannelRef } from './channel-cipher.ts';
import { ExpiringKeyCache } from './key-cache.ts';
import type { SessionStore } from './session-store.ts';
import { SessionErasedError, type StoredSession } from './stored-session.ts';

export type BaileysLogger = NonNullable<Parameters<typeof makeCacheableSignalKeyStore>[1]>;

/**
 * For the socket's `transactionOpts`. Baileys' defaults retry a failed commit 10 times 3 s apart;
 * our writes already retry transient conflicts, and a stale fence fails at once, so fail fast.
 */
export const SOCKET_TRANSACTION_OPTIONS: TransactionCapabilityOptions = {
  maxCommitRetries: 2,
  delayBetweenTriesMs: 200,
};

export interface AuthStateOptions {
  readonly logger?: BaileysLogger;
  /** The channel's key cache (default: 5-minute TTL in memory); flushed when a write fails. */
  readonly cache?: CacheStore;
  /** Told once when a write is refused because the shard lease moved on: close the socket. */
  readonly onStaleFence?: (error: StaleFenceError) => void;
}

export interface LoadAuthStateOptions extends AuthStateOptions, ChannelRef {
  readonly store: SessionStore;
  readonly fence: Fence;
}

export interface ChannelAuthState {
  /** Pass as `auth` to makeWASocket. */
  readonly state: AuthenticationState;
  /** Persist `state.creds`; subscribe it to the socket's `creds.update` event. */
  saveCreds(): Promise<void>;
  /** Delete the channel's whole session and its data key (logout, channel deletion). */
  erase(): Promise<void>;
  /**
   * Told, synchronously, when a commit of Signal keys failed for any reason but a stale fence:
   * Baileys writes a stanza before it commits the ratchet step it took, so the socket must send
   * nothing more until `settle()` stored that step (the next message would reuse its key).
   */
  watchCommits(onFailure: (error: unknown) => void): void;
  /** Stores the key changes whose commit failed (throws if it fails again); nothing to do otherwise. */
  settle(): Promise<void>;
  /** True when the channel had no session: new creds, the channel must pair. */
  readonly isNew: boolean;
  readonly session: StoredSession;
}

export async function loadAuthState(options: LoadAuthStateOptions): Promise<ChannelAuthState> {
  const channel = { tenantId: options.tenantId, channelId: options.channelId };
  const opened = await options.store.open(channel, options.fence, sessionOptions(options));
  return authStateOf(opened.session, opened.creds, opened.isNew, options);
}

export type RestoredAuthState =
  | { readonly channel: ChannelRef; readonly status: 'restored'; readonly auth: ChannelAuthState }
  | { readonly channel: ChannelRef; readonly status: 'absent' }
  | { readonly channel: ChannelRef; readonly status: 'failed'; readonly error: Error };

export interface RestoreAuthStatesOptions extends AuthStateOptions {
  readonly store: SessionStore;
  readonly channels: readonly (ChannelRef & { readonly fence: Fence })[];
}

/**
 * The stored sessions of many channels at once, for a runner taking over a shard: a few
 * BatchGetItem calls for all META and CREDS items, then one KMS Decrypt per channel. Channels
 * without a session come back `absent` (use `loadAuthState` to create one when they must pair).
 */
export async function restoreAuthStates(options: RestoreAuthStatesOptions): Promise<RestoredAuthState[]> {
  const results = await options.store.restore(
    options.channels.map(({ tenantId, channelId, fence }) => ({ channel: { tenantId, channelId }, fence })),
    sessionOptions(options),
  );
  return results.map((result) => {
    if (result.status !== 'restored') return result;
    return {
      channel: result.channel,
      status: 'restored',
      auth: authStateOf(result.session, result.creds, false, options),
    };
  });
}

function authStateOf(
  session: StoredSession,
  creds: AuthenticationCreds,
  isNew: boolean,
  options: AuthStateOptions,
): ChannelAuthState {
  const cache = options.cache ?? new ExpiringKeyCache();
  const stored = session.keyStore();
  const unsaved = new UnsavedKeys();
  let onCommitFailed: (error: unknown) => void = () => undefined;
  const keys = makeCacheableSignalKeyStore(
    {
      ...stored,
      set: async (data) => {
        try {
          await stored.set(data);
          unsaved.saved(data);
        } catch (error) {
          if (error instanceof StaleFenceError || error instanceof SessionErasedError) {
            // The session is no longer ours to write: nothing of it may be used again.
            await cache.flushAll();
            throw error;
          }
          // The cache keeps what the socket used (the stanza may be out); the store gets it before
          // the socket sends again.
          unsaved.failed(data);
          onCommitFailed(error);
          throw error;
        }
      },
    },
    options.logger,
    cache,
  );
  const state: AuthenticationState = { creds, keys };
  return {
    state,
    isNew,
    session,
    saveCreds: () => session.saveCreds(state.creds),
    erase: () => session.erase(),
    watchCommits: (listener) => {
      onCommitFailed = listener;
    },
    settle: async () => {
      const data = unsaved.all();
      if (!data) return;
      await stored.set(data);
      unsaved.saved(data);
    },
  };
}

/**
 * Key changes whose commit failed, by type and id, until a later write stores them or a newer value
 * of the same key: writing an older value over a newer one would roll a ratchet back.
 */
class UnsavedKeys {
  private readonly byType = new Map<string, Map<string, unknown>>();

  failed(data: SignalDataSet): void {
    for (const [type, values] of Object.entries(data)) {
      const ids = this.byType.get(type) ?? new Map<string, unknown>();
      for (const [id, value] of Object.entries(values ?? {})) ids.set(id, value);
      this.byType.set(type, ids);
    }
  }

  saved(data: SignalDataSet): void {
    for (const [type, values] of Object.entries(data)) {
      const ids = this.byType.get(type);
      if (!ids) continue;
      for (const id of Object.keys(values ?? {})) ids.delete(id);
      if (ids.size === 0) this.byType.delete(type);
    }
  }

  all(): SignalDataSet | undefined {
    if (this.byType.size === 0) return undefined;
    return Object.fromEntries(
      [...this.byType].map(([type, ids]) => [type, Object.fromEntries(ids)]),
    ) as SignalDataSet;
  }
}

function sessionOptions(options: AuthStateOptions) {
  return options.onStaleFence ? { onStaleFence: options.onStaleFence } : {};
}
