// Opening, creating, bulk-restoring and erasing channels' sessions in the sessions table. A session
// is META (the KMS-encrypted data key, in clear) + CREDS + Signal key items, all under one pk.
import type { KMSClient } from '@aws-sdk/client-kms';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AuthenticationCreds, initAuthCreds } from '@whiskeysockets/baileys';
import { createDynamoClient, createKmsClient } from '#shared/aws/clients.ts';
import type { AwsConfig, ResourceConfig } from '#shared/config.ts';
import type { Fence } from '#shared/domain/fence.ts';
import type { ChannelRef } from './channel-cipher.ts';
import { generateChannelKey, openChannelKey } from './envelope.ts';
import { inParallel } from './in-parallel.ts';
import { CREDS_SK, FORMAT_VERSION, META_SK, sessionPk } from './key-layout.ts';
import { assembleSealed, CorruptSessionError, sealedWrites } from './sealed-items.ts';
import { type ItemKey, SessionTable, type SessionTableOptions, type StoredItem } from './session-table.ts';
import { eraseSession, StoredSession, type StoredSessionOptions } from './stored-session.ts';
import { decodeValue, encodeValue } from './value-codec.ts';

export interface SessionStoreConfig extends SessionTableOptions {
  readonly dynamo: DynamoDBDocumentClient;
  readonly kms: KMSClient;
  readonly tableName: string;
  /** The KMS key new data keys are generated under (`ResourceConfig.sessionKeyArn`). */
  readonly keyArn: string;
  /** Parallel KMS Decrypt calls of a bulk restore (KMS's shared quota is per account and region). */
  readonly kmsConcurrency?: number;
}

export interface OpenedSession {
  readonly session: StoredSession;
  readonly creds: AuthenticationCreds;
  /** True when this call created the session (fresh creds: the channel has to pair). */
  readonly isNew: boolean;
}

export type RestoreResult =
  | ({ readonly channel: ChannelRef; readonly status: 'restored' } & Omit<OpenedSession, 'isNew'>)
  | { readonly channel: ChannelRef; readonly status: 'absent' }
  | { readonly channel: ChannelRef; readonly status: 'failed'; readonly error: Error };

export interface ChannelToRestore {
  readonly channel: ChannelRef;
  readonly fence: Fence;
}

interface MetaItem extends StoredItem {
  readonly encryptedDataKey: Uint8Array;
  readonly keyArn: string;
}

/** The store as a runner builds it from its typed configuration. */
export function createSessionStore(
  aws: AwsConfig,
  resources: Pick<ResourceConfig, 'sessionsTable' | 'sessionKeyArn'>,
  options: Omit<SessionStoreConfig, 'dynamo' | 'kms' | 'tableName' | 'keyArn'> = {},
): SessionStore {
  return new SessionStore({
    ...options,
    dynamo: createDynamoClient(aws),
    kms: createKmsClient(aws),
    tableName: resources.sessionsTable,
    keyArn: resources.sessionKeyArn,
  });
}

export class SessionStore {
  readonly table: SessionTable;
  private readonly kms: KMSClient;
  private readonly keyArn: string;
  private readonly kmsConcurrency: number;

  constructor(config: SessionStoreConfig) {
    this.table = new SessionTable(config.dynamo, config.tableName, config);
    this.kms = config.kms;
    this.keyArn = config.keyArn;
    this.kmsConcurrency = config.kmsConcurrency ?? 16;
  }

  /** The channel's stored session, or a new one (fresh data key and creds) when it has none. */
  async open(channel: ChannelRef, fence: Fence, options: StoredSessionOptions = {}): Promise<OpenedSession> {
    const [result] = await this.restore([{ channel, fence }], options);
    if (result?.status === 'restored') return { ...result, isNew: false };
    if (result?.status === 'failed') throw result.error;
    return this.create(channel, fence, options);
  }

  /**
   * Opens many channels' sessions at once (a runner taking over a shard): META and CREDS of 50
   * channels per BatchGetItem, then one KMS Decrypt per channel, `kmsConcurrency` at a time. A
   * channel that fails (e.g. KMS refuses its key) does not fail the others.
   */
  async restore(
    channels: readonly ChannelToRestore[],
    options: StoredSessionOptions = {},
  ): Promise<RestoreResult[]> {
    const keys = channels.flatMap(({ channel }): ItemKey[] => {
      const pk = sessionPk(channel);
      return [
        { pk, sk: META_SK },
        { pk, sk: CREDS_SK },
      ];
    });
    const items = await this.table.getMany(keys);
    const credsItems = new Map([...items].filter(([, item]) => item.sk === CREDS_SK));
    const sealedCreds = await assembleSealed(this.table, credsItems);
    const results: RestoreResult[] = new Array(channels.length);
    await inParallel(channels, this.kmsConcurrency, async ({ channel, fence }, index) => {
      const pk = sessionPk(channel);
      const meta = items.get(SessionTable.keyOf({ pk, sk: META_SK })) as MetaItem | undefined;
      if (!meta) {
        results[index] = { channel, status: 'absent' };
        return;
      }
      try {
        const cipher = await openChannelKey(this.kms, meta, channel);
        const session = new StoredSession(this.table, cipher, fence, options);
        const sealed = sealedCreds.get(SessionTable.keyOf({ pk, sk: CREDS_SK }));
        if (!sealed)
          throw new CorruptSessionError(`Session of ${channel.channelId} has a data key but no creds`);
        if (sealed instanceof Error) throw sealed;
        const creds = decodeValue<AuthenticationCreds>(cipher.open(CREDS_SK, sealed.sealed));
        results[index] = { channel, status: 'restored', session, creds };
      } catch (error) {
        results[index] = {
          channel,
          status: 'failed',
          error: error instanceof Error ? error : new Error(String(error)),
        };
      }
    });
    return results;
  }

  /** Erases a channel's session (crypto-shredding), whether or not it is open. */
  erase(channel: ChannelRef, fence: Fence): Promise<void> {
    return eraseSession(this.table, channel, fence);
  }

  private async create(
    channel: ChannelRef,
    fence: Fence,
    options: StoredSessionOptions,
  ): Promise<OpenedSession> {
    const { cipher, encryptedDataKey, keyArn } = await generateChannelKey(this.kms, this.keyArn, channel);
    const creds = initAuthCreds();
    const pk = sessionPk(channel);
    const meta: MetaItem = {
      pk,
      sk: META_SK,
      encryptedDataKey,
      keyArn,
      formatVersion: FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      tenantId: channel.tenantId,
      channelId: channel.channelId,
    };
    const { writes } = sealedWrites(pk, CREDS_SK, cipher.seal(CREDS_SK, encodeValue(creds)));
    // Absent-only: two runners can never both create (the fence), and this never overwrites a key.
    await this.table.write(fence, [{ put: meta, onlyIfAbsent: true }, ...writes]);
    return {
      session: new StoredSession(this.table, cipher, fence, { ...options, isNew: true }),
      creds,
      isNew: true,
    };
  }
}
