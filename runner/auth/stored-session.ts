// One channel's stored session as its runner sees it while holding the shard's fence: Signal keys
// read and written in batches, creds saved, everything erased. Writes of one channel are applied one
// at a time (pre-key buckets are read-modify-write), each in fenced transactions. After a stale
// fence, every later write fails at once: the runner has lost the channel and must drop the socket.
import type {
  AuthenticationCreds,
  KeyPair,
  SignalDataSet,
  SignalDataTypeMap,
  SignalKeyStore,
} from '@whiskeysockets/baileys';
import { proto } from '@whiskeysockets/baileys';
import { type Fence, StaleFenceError } from '#shared/domain/fence.ts';
import type { ChannelCipher, ChannelRef } from './channel-cipher.ts';
import {
  CREDS_SK,
  groupByBucket,
  META_SK,
  preKeyBucketOf,
  preKeyBucketSk,
  sessionPk,
  signalKeySk,
} from './key-layout.ts';
import { deleteWrites, readSealed, sealedWrites } from './sealed-items.ts';
import { SessionTable, type SessionWrite } from './session-table.ts';
import { decodeValue, encodeValue } from './value-codec.ts';

type KeyType = keyof SignalDataTypeMap;

/** A write after `erase()`: the socket outlived its session (e.g. still draining after a logout). */
export class SessionErasedError extends Error {
  constructor(readonly channel: ChannelRef) {
    super(`The session of ${channel.channelId} was erased`);
    this.name = 'SessionErasedError';
  }
}
type PreKeyBucket = Map<string, KeyPair>;

const MAX_KNOWN_ABSENT = 10_000;

export interface StoredSessionOptions {
  /** True for a session created by this runner just now: nothing but META and CREDS exists yet. */
  readonly isNew?: boolean;
  /** Told once, on the first write refused for a stale fence. */
  readonly onStaleFence?: (error: StaleFenceError) => void;
}

export class StoredSession {
  readonly pk: string;
  /** Parts of the sealed values this runner has read or written, by sort key (absent: unknown). */
  private readonly knownParts = new Map<string, number>();
  /**
   * Sort keys read and found missing, or deleted here. Baileys' cache keeps only values found, so
   * without this every send would read the same missing keys again (3 reads per message measured).
   */
  private readonly knownAbsent = new Set<string>();
  /** Counts committed writes, so a read that overlapped one does not record stale absences. */
  private writeGeneration = 0;
  private onlyKnownItemsExist: boolean;
  private writes: Promise<unknown> = Promise.resolve();
  private pendingCredsSave: Promise<void> | undefined;
  private staleFence: StaleFenceError | undefined;
  private erased = false;

  constructor(
    private readonly table: SessionTable,
    readonly cipher: ChannelCipher,
    readonly fence: Fence,
    private readonly options: StoredSessionOptions = {},
  ) {
    this.pk = sessionPk(cipher.channel);
    this.onlyKnownItemsExist = options.isNew ?? false;
    this.knownParts.set(CREDS_SK, 1);
  }

  get channel(): ChannelRef {
    return this.cipher.channel;
  }

  /** True once a write was refused: the lease is gone. */
  get isFencedOut(): boolean {
    return this.staleFence !== undefined;
  }

  /** A Baileys key store over this session (wrap it in `makeCacheableSignalKeyStore`). */
  keyStore(): SignalKeyStore {
    return {
      get: (type, ids) => this.getKeys(type, ids),
      set: (data) => this.setKeys(data),
      clear: () => this.clearKeys(),
    };
  }

  async getKeys<T extends KeyType>(
    type: T,
    ids: readonly string[],
  ): Promise<{ [id: string]: SignalDataTypeMap[T] }> {
    if (ids.length === 0) return {};
    if (type === 'pre-key') return (await this.getPreKeys(ids)) as { [id: string]: SignalDataTypeMap[T] };
    const skOf = new Map(ids.map((id) => [id, signalKeySk(type, this.cipher.itemId(type, id))]));
    const toRead = [...skOf.values()].filter((sk) => this.mayExist(sk));
    const generation = this.writeGeneration;
    const sealed =
      toRead.length > 0
        ? await readSealed(
            this.table,
            toRead.map((sk) => ({ pk: this.pk, sk })),
          )
        : new Map();
    const found: { [id: string]: SignalDataTypeMap[T] } = {};
    for (const [id, sk] of skOf) {
      const read = sealed.get(SessionTable.keyOf({ pk: this.pk, sk }));
      if (!read) {
        if (generation === this.writeGeneration) this.rememberAbsent(sk);
        continue;
      }
      this.knownParts.set(sk, read.parts);
      const value = decodeValue(this.cipher.open(sk, read.sealed));
      found[id] = (
        type === 'app-state-sync-key' ? proto.Message.AppStateSyncKeyData.fromObject(value as object) : value
      ) as SignalDataTypeMap[T];
    }
    return found;
  }

  /** Applies every change of `data` (null deletes), in as few fenced transactions as the limits allow. */
  setKeys(data: SignalDataSet): Promise<void> {
    return this.serialized(async () => {
      const writes: SessionWrite[] = [];
      const partsAfter = new Map<string, number>();
      for (const [type, values] of Object.entries(data) as [KeyType, Record<string, unknown> | undefined][]) {
        if (!values) continue;
        if (type === 'pre-key') {
          await this.preKeyWrites(values as Record<string, KeyPair | null>, writes, partsAfter);
          continue;
        }
        for (const [id, value] of Object.entries(values)) {
          const sk = signalKeySk(type, this.cipher.itemId(type, id));
          this.addValueWrite(sk, value, writes, partsAfter);
        }
      }
      await this.commit(writes, partsAfter);
    });
  }

  /** Saves the creds as they are when the save runs; saves requested meanwhile share it. */
  saveCreds(creds: AuthenticationCreds): Promise<void> {
    if (this.pendingCredsSave) return this.pendingCredsSave;
    const save = this.serialized(async () => {
      this.pendingCredsSave = undefined;
      const writes: SessionWrite[] = [];
      const partsAfter = new Map<string, number>();
      this.addValueWrite(CREDS_SK, creds, writes, partsAfter);
      await this.commit(writes, partsAfter);
    });
    this.pendingCredsSave = save;
    return save;
  }

  /** Deletes every Signal key, keeping the data key and creds (Baileys' `keys.clear()`). */
  clearKeys(): Promise<void> {
    return this.serialized(async () => {
      const sortKeys = await this.table.listSortKeys(this.pk);
      const keep = new Set([META_SK, CREDS_SK]);
      await this.fenced(
        sortKeys.filter((sk) => !keep.has(sk)).map((sk) => ({ delete: { pk: this.pk, sk } })),
      );
      this.forgetCaches();
      this.onlyKnownItemsExist = true;
      this.knownParts.set(CREDS_SK, 1);
    });
  }

  /** Deletes everything of the channel, META (the encrypted data key) first: crypto-shredding. Later writes fail. */
  erase(): Promise<void> {
    return this.serialized(async () => {
      this.erased = true;
      this.forgetCaches();
      await eraseSession(this.table, this.channel, this.fence);
    });
  }

  private async getPreKeys(ids: readonly string[]): Promise<{ [id: string]: KeyPair }> {
    const buckets = await this.loadBuckets(new Set(ids.map(preKeyBucketOf)));
    const found: { [id: string]: KeyPair } = {};
    for (const id of ids) {
      const keyPair = buckets.get(preKeyBucketOf(id))?.get(id);
      if (keyPair) found[id] = keyPair;
    }
    return found;
  }

  /**
   * Buckets are read each time rather than kept: a channel's 812+ pre-keys would hold ~300 KB of
   * runner memory, while reads are rare (a pre-key is used once, by a new contact's first message).
   */
  private async loadBuckets(buckets: ReadonlySet<number>): Promise<Map<number, PreKeyBucket>> {
    const loaded = new Map<number, PreKeyBucket>();
    const toRead: number[] = [];
    for (const bucket of buckets) {
      if (this.mayExist(preKeyBucketSk(bucket))) toRead.push(bucket);
      else loaded.set(bucket, new Map());
    }
    if (toRead.length === 0) return loaded;
    const generation = this.writeGeneration;
    const sealed = await readSealed(
      this.table,
      toRead.map((bucket) => ({ pk: this.pk, sk: preKeyBucketSk(bucket) })),
    );
    for (const bucket of toRead) {
      const sk = preKeyBucketSk(bucket);
      const read = sealed.get(SessionTable.keyOf({ pk: this.pk, sk }));
      if (read) this.knownParts.set(sk, read.parts);
      else if (generation === this.writeGeneration) this.rememberAbsent(sk);
      const keys = read ? decodeValue<Record<string, KeyPair>>(this.cipher.open(sk, read.sealed)) : {};
      loaded.set(bucket, new Map(Object.entries(keys)));
    }
    return loaded;
  }

  private async preKeyWrites(
    changes: Record<string, KeyPair | null>,
    writes: SessionWrite[],
    partsAfter: Map<string, number>,
  ): Promise<void> {
    const changesByBucket = groupByBucket(Object.entries(changes));
    const current = await this.loadBuckets(new Set(changesByBucket.keys()));
    for (const [bucket, bucketChanges] of changesByBucket) {
      const keys = new Map(current.get(bucket));
      for (const [id, keyPair] of bucketChanges) {
        if (keyPair) keys.set(id, keyPair);
        else keys.delete(id);
      }
      this.addValueWrite(
        preKeyBucketSk(bucket),
        keys.size > 0 ? Object.fromEntries(keys) : null,
        writes,
        partsAfter,
      );
    }
  }

  private addValueWrite(
    sk: string,
    value: unknown,
    writes: SessionWrite[],
    partsAfter: Map<string, number>,
  ): void {
    const previousParts = this.knownParts.get(sk) ?? 1;
    if (value === null || value === undefined) {
      writes.push(...deleteWrites(this.pk, sk, previousParts));
      partsAfter.set(sk, 0);
      return;
    }
    const { writes: valueWrites, parts } = sealedWrites(
      this.pk,
      sk,
      this.cipher.seal(sk, encodeValue(value)),
      previousParts,
    );
    writes.push(...valueWrites);
    partsAfter.set(sk, parts);
  }

  private async commit(writes: SessionWrite[], partsAfter: ReadonlyMap<string, number>): Promise<void> {
    if (writes.length === 0) return;
    try {
      await this.fenced(writes);
    } catch (error) {
      // A write cut into several transactions may have landed in part: trust nothing cached.
      this.forgetCaches();
      throw error;
    }
    this.writeGeneration++;
    for (const [sk, parts] of partsAfter) {
      if (parts === 0) {
        this.knownParts.delete(sk);
        this.rememberAbsent(sk);
      } else {
        this.knownParts.set(sk, parts);
        this.knownAbsent.delete(sk);
      }
    }
  }

  private mayExist(sk: string): boolean {
    if (this.onlyKnownItemsExist) return this.knownParts.has(sk);
    return !this.knownAbsent.has(sk);
  }

  private rememberAbsent(sk: string): void {
    // A bound on memory for a channel that looks up many unknown contacts; forgetting costs reads only.
    if (this.knownAbsent.size >= MAX_KNOWN_ABSENT) this.knownAbsent.clear();
    this.knownAbsent.add(sk);
  }

  private async fenced(writes: SessionWrite[]): Promise<void> {
    if (this.staleFence) throw this.staleFence;
    // A late write would leave items under a shredded key; nothing may come back after erasure.
    if (this.erased) throw new SessionErasedError(this.channel);
    try {
      await this.table.write(this.fence, writes);
    } catch (error) {
      if (error instanceof StaleFenceError && !this.staleFence) {
        this.staleFence = error;
        this.options.onStaleFence?.(error);
      }
      throw error;
    }
  }

  private forgetCaches(): void {
    this.writeGeneration++;
    this.knownParts.clear();
    this.knownAbsent.clear();
    this.onlyKnownItemsExist = false;
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writes.then(work, work);
    this.writes = run.catch(() => undefined);
    return run;
  }
}

/** Deletes every item under the channel's partition, META first, in fenced transactions. */
export async function eraseSession(table: SessionTable, channel: ChannelRef, fence: Fence): Promise<void> {
  const pk = sessionPk(channel);
  const sortKeys = await table.listSortKeys(pk);
  const ordered = [...sortKeys.filter((sk) => sk === META_SK), ...sortKeys.filter((sk) => sk !== META_SK)];
  await table.write(
    fence,
    ordered.map((sk) => ({ delete: { pk, sk } })),
  );
}
