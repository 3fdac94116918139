import { randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  type AuthenticationCreds,
  addTransactionCapability,
  getNextPreKeysNode,
  INITIAL_PREKEY_COUNT,
  proto,
  type SignalDataSet,
} from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { SealedValueError } from '#runner/auth/aes-gcm.ts';
import {
  type BaileysLogger,
  loadAuthState,
  restoreAuthStates,
  SOCKET_TRANSACTION_OPTIONS,
} from '#runner/auth/dynamo-auth-state.ts';
import { generateChannelKey, openChannelKey } from '#runner/auth/envelope.ts';
import { PRE_KEYS_PER_BUCKET, sessionPk } from '#runner/auth/key-layout.ts';
import { SessionErasedError } from '#runner/auth/stored-session.ts';
import { StaleFenceError } from '#shared/domain/fence.ts';
import { authHarness } from './auth-state-support.ts';

const harness = authHarness();
const PHONE = '5511987654321';
const ME = `${PHONE}:12@s.whatsapp.net`;

const silentLogger: BaileysLogger = {
  level: 'silent',
  child: () => silentLogger,
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/** Bytes as hex strings, so values compare exactly (Buffer vs Uint8Array aside) and print readably. */
function normalized(value: unknown): unknown {
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map(normalized);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, field]) => field !== undefined)
        .map(([key, field]) => [key, normalized(field)]),
    );
  }
  return value;
}

const appStateKey = (keyData: Buffer) =>
  proto.Message.AppStateSyncKeyData.fromObject({
    keyData,
    fingerprint: { rawId: 5, currentIndex: 2, deviceIndexes: [0, 1] },
    timestamp: 1_700_000_000,
  });

function everyKeyType() {
  return {
    'pre-key': {
      '1': { public: randomBytes(32), private: randomBytes(32) },
      '2': { public: randomBytes(32), private: randomBytes(32) },
    },
    session: {
      [`${PHONE}.0`]: new Uint8Array(randomBytes(300)),
      '5521911112222.3': new Uint8Array(randomBytes(120)),
    },
    'sender-key': { [`120363000000000001@g.us::${PHONE}::0`]: new Uint8Array(randomBytes(200)) },
    'sender-key-memory': {
      '120363000000000001@g.us': { [`${PHONE}:0@s.whatsapp.net`]: true, 'other@lid': false },
    },
    'app-state-sync-key': { AAAAAK1x: appStateKey(randomBytes(32)) },
    'app-state-sync-version': {
      regular_high: {
        version: 7,
        hash: randomBytes(128),
        indexValueMap: { 'aW5kZXg=': { valueMac: randomBytes(32) } },
      },
    },
    'lid-mapping': { [PHONE]: '123456789012345', '123456789012345_reverse': PHONE },
    'device-list': { [PHONE]: ['0', '12'] },
    tctoken: { [`${PHONE}@s.whatsapp.net`]: { token: randomBytes(40), timestamp: '1700000000' } },
    'identity-key': { [`${PHONE}.0`]: new Uint8Array(randomBytes(33)) },
  } satisfies SignalDataSet;
}

function registeredCreds(creds: AuthenticationCreds): AuthenticationCreds {
  return {
    ...creds,
    me: { id: ME, name: 'Clínica Sorriso', lid: '123456789012345:12@lid' },
    registered: true,
    nextPreKeyId: 813,
    firstUnuploadedPreKeyId: 813,
    routingInfo: randomBytes(24),
    account: {
      details: randomBytes(60),
      accountSignatureKey: randomBytes(32),
      accountSignature: randomBytes(64),
      deviceSignature: randomBytes(64),
    },
  };
}

/** A fresh store (nothing cached) that reads the channel back. */
async function restoredSession(
  channel: { tenantId: string; channelId: string },
  fence: Awaited<ReturnType<typeof harness.newFence>>,
) {
  const [restored] = await harness.newStore().restore([{ channel, fence }]);
  if (restored?.status !== 'restored') throw new Error(`not restored: ${restored?.status}`);
  return restored;
}

async function itemsOf(channel: { tenantId: string; channelId: string }) {
  const result = await harness.dynamo.send(
    new QueryCommand({
      TableName: harness.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': sessionPk(channel) },
      ConsistentRead: true,
    }),
  );
  return result.Items ?? [];
}

describe('session auth state on DynamoDB + KMS', () => {
  it('creates a new channel with fresh creds, then restores the same creds after saveCreds', async () => {
    const channel = harness.newChannel();
    const fence = await harness.newFence();
    const first = await loadAuthState({ store: harness.newStore(), ...channel, fence, logger: silentLogger });
    expect(first.isNew).toBe(true);
    expect(first.state.creds.registered).toBe(false);

    Object.assign(first.state.creds, registeredCreds(first.state.creds));
    await first.saveCreds();

    const again = await loadAuthState({ store: harness.newStore(), ...channel, fence, logger: silentLogger });
    expect(again.isNew).toBe(false);
    expect(normalized(again.state.creds)).toEqual(normalized(first.state.creds));
    expect(again.state.creds.noiseKey.private).toBeInstanceOf(Uint8Array);
    expect((await itemsOf(channel)).map((item) => item.sk).sort()).toEqual(['CREDS', 'META']);
  });

  it('round-trips every Signal key type exactly, and deletes with null', async () => {
    const channel = harness.newChannel();
    const fence = await harness.newFence();
    const { session } = await harness.newStore().open(channel, fence);
    const data = everyKeyType();
    await session.setKeys(data);

    const { session: reader } = await restoredSession(channel, fence);
    for (const [type, values] of Object.entries(data)) {
      const ids = [...Object.keys(values), 'absent-id'];
      const got = await reader.getKeys(
        type as keyof SignalDataSet,
        type === 'pre-key' ? ['1', '2', '999'] : ids,
      );
      if (type === 'app-state-sync-key') {
        const toObject = (value: unknown) =>
          normalized(
            proto.Message.AppStateSyncKeyData.toObject(value as proto.Message.AppStateSyncKeyData, {
              longs: Number,
            }),
          );
        expect(got.AAAAAK1x).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
        expect(toObject(got.AAAAAK1x)).toEqual(toObject(data['app-state-sync-key'].AAAAAK1x));
      } else {
        expect(normalized(got), type).toEqual(normalized(values));
      }
    }
    const session0 = (await reader.getKeys('session', [`${PHONE}.0`]))[`${PHONE}.0`];
    expect(session0).toBeInstanceOf(Uint8Array);

    await reader.setKeys({
      'pre-key': { '1': null },
      session: { [`${PHONE}.0`]: null },
      'device-list': { [PHONE]: null },
    });
    const { session: third } = await restoredSession(channel, fence);
    expect(Object.keys(await third.getKeys('pre-key', ['1', '2']))).toEqual(['2']);
    expect(await third.getKeys('session', [`${PHONE}.0`])).toEqual({});
    expect(await third.getKeys('device-list', [PHONE])).toEqual({});
    expect(Object.keys(await third.getKeys('session', ['5521911112222.3']))).toEqual(['5521911112222.3']);
  });

  it('reads a missing key once, and a key it wrote or deleted since as it now is', async () => {
    const channel = harness.newChannel();
    const fence = await harness.newFence();
    await harness.newStore().open(channel, fence);
    const { session } = await restoredSession(channel, fence);
    const id = `${PHONE}.7`;

    harness.resetCalls();
    expect(await session.getKeys('session', [id])).toEqual({});
    expect(await session.getKeys('session', [id])).toEqual({});
    expect(await session.getKeys('pre-key', ['40'])).toEqual({});
    expect(await session.getKeys('pre-key', ['41'])).toEqual({}); // same bucket, known missing
    expect(Object.fromEntries(harness.calls)).toEqual({ BatchGetItem: 2 });

    const record = randomBytes(40);
    await session.setKeys({ session: { [id]: record } });
    expect(normalized(await session.getKeys('session', [id]))).toEqual(normalized({ [id]: record }));
    await session.setKeys({ session: { [id]: null } });
    harness.resetCalls();
    expect(await session.getKeys('session', [id])).toEqual({});
    expect(Object.fromEntries(harness.calls)).toEqual({});
  });

  it('writes Baileys’ 812 first pre-keys in one transaction and reads them back in one BatchGetItem', async () => {
    const channel = harness.newChannel();
    const fence = await harness.newFence();
    const { session } = await harness.newStore().open(channel, fence);
    const preKeys = Object.fromEntries(
      Array.from({ length: 812 }, (_, index) => [
        String(index + 1),
        { public: randomBytes(32), private: randomBytes(32) },
      ]),
    );
    const buckets = Math.ceil(813 / PRE_KEYS_PER_BUCKET); // ids 1..812 → buckets 0..16

    harness.resetCalls();
    await session.setKeys({ 'pre-key': preKeys });
    // 17 bucket items + the fence check fit one transaction (≤ 100 items); a new session reads nothing.
    expect(Object.fromEntries(harness.calls)).toEqual({ TransactWriteItems: Math.ceil(buckets / 99) });
    expect((await itemsOf(channel)).filter((item) => String(item.sk).startsWith('PREKEYS#'))).toHaveLength(
      buckets,
    );

    const { session: reader } = await restoredSession(channel, fence);
    harness.resetCalls();
    const got = await reader.getKeys('pre-key', Object.keys(preKeys));
    expect(Object.fromEntries(harness.calls)).toEqual({ BatchGetItem: Math.ceil(buckets / 100) });
    expect(normalized(got)).toEqual(normalized(preKeys));

    // Consuming one pre-key (a new contact's first message) rewrites one bucket.
    harness.resetCalls();
    await reader.setKeys({ 'pre-key': { '57': null } });
    expect(Object.fromEntries(harness.calls)).toEqual({ BatchGetItem: 1, TransactWriteItems: 1 });
    const { session: third } = await restoredSession(channel, fence);
    expect(Object.keys(await third.getKeys('pre-key', ['56', '57', '58']))).toEqual(['56', '58']);
  });

  it('keeps earlier pre-keys of a bucket when more are uploaded later in the same session', async () => {
    const channel = harness.newChannel();
    const fence = await harness.newFence();
    const { session } = await harness.newStore().open(channel, fence);
    const keyPair = () => ({ public: randomBytes(32), private: randomBytes(32) });
    await session.setKeys({ 'pre-key': { '810': keyPair(), '811': keyPair() } });
    await session.setKeys({ 'pre-key': { '812': keyPair(), '813': keyPair() } });
    await session.setKeys({ 'pre-key': { '811': null } });
    const { session: reader } = await restoredSession(channel, fence);
    expect(Object.keys(await reader.getKeys('pre-key', ['810', '811', '812', '813']))).toEqual([
      '810',
      '812',
      '813',
    ]);
  });

  it('loses no update when many writes of one channel touch the same pre-key bucket at once', async () => {
    const channel = harness.newChannel();
    const fence = await harness.newFence();
    const auth = await loadAuthState({ store: harness.newStore(), ...channel, fence, logger: silentLogger });
    const ids = Array.from({ length: 40 }, (_, index) => String(100 + index)); // buckets 2 and 3
    await auth.session.setKeys({
      'pre-key': Object.fromEntries(
        ids.map((id) => [id, { public: randomBytes(32), private: randomBytes(32) }]),
      ),
    });
    const consumed = ids.filter((_, index) => index % 2 === 0);
    await Promise.all(
      consumed.map((id, index) =>
        // Straight to the store: Baileys' cache layer happens to serialize its sets, the store must not rely on it.
        auth.session.setKeys({
          'pre-key': { [id]: null },
          session: { [`55119000000${index}.0`]: new Uint8Array(randomBytes(16)) },
        }),
      ),
    );
    const { session: reader } = await restoredSession(channel, fence);
    expect(Object.keys(await reader.getKeys('pre-key', ids)).sort()).toEqual(
      ids.filter((id) => !consumed.includes(id)),
    );
  });

  it('costs a handful of requests for a first login and two for a restore', async () => {
    const channel = harness.newChannel();
    const fence = await harness.newFence();
    harness.resetCalls();
    const auth = await loadAuthState({ store: harness.newStore(), ...channel, fence, logger: silentLogger });
    const keys = addTransactionCapability(auth.state.keys, silentLogger, SOCKET_TRANSACTION_OPTIONS);
    // What the socket does at first login: generate and store the pre-keys, then save the creds.
    const { update } = await keys.transaction(
      () => getNextPreKeysNode({ creds: auth.state.creds, keys }, INITIAL_PREKEY_COUNT),
      'upload-pre-keys',
    );
    Object.assign(auth.state.creds, update);
    await auth.saveCreds();
    // Pairing succeeds: Baileys updates the creds several times in a row; queued saves coalesce.
    Object.assign(auth.state.creds, registeredCreds(auth.state.creds));
    await Promise.all([auth.saveCreds(), auth.saveCreds(), auth.saveCreds()]);
    expect(Object.fromEntries(harness.calls)).toEqual({
      BatchGetItem: 1, // META + CREDS: absent
      GenerateDataKey: 1,
      TransactWriteItems: 1 + 1 + 1 + 1, // create, 812 pre-keys, creds, one for the three saves in a row
    });

    harness.resetCalls();
    const restored = await loadAuthState({
      store: harness.newStore(),
      ...channel,
      fence,
      logger: silentLogger,
    });
    expect(Object.fromEntries(harness.calls)).toEqual({ BatchGetItem: 1, Decrypt: 1 });
    expect(restored.state.creds.nextPreKeyId).toBe(INITIAL_PREKEY_COUNT + 1);
    expect(restored.state.creds.me?.id).toBe(ME);
    expect(Object.keys(await restored.state.keys.get('pre-key', ['1', '812', '813']))).toEqual(['1', '812']);
  });

  it('commits the key changes of one Baileys transaction as one fenced TransactWriteItems', async () => {
    const channel = harness.newChannel();
    const fence = await harness.newFence();
    const auth = await loadAuthState({ store: harness.newStore(), ...channel, fence, logger: silentLogger });
    await auth.session.setKeys({ 'pre-key': { '5': { public: randomBytes(32), private: randomBytes(32) } } });
    // What makeWASocket does with `auth.keys`.
    const keys = addTransactionCapability(auth.state.keys, silentLogger, SOCKET_TRANSACTION_OPTIONS);

    harness.resetCalls();
    await keys.transaction(async () => {
      await keys.get('pre-key', ['5']);
      await keys.set({ 'pre-key': { '5': null } });
      await keys.set({ session: { [`${PHONE}.0`]: new Uint8Array(randomBytes(64)) } });
      await keys.set({ 'identity-key': { [`${PHONE}.0`]: new Uint8Array(randomBytes(33)) } });
      await keys.set({ session: { [`${PHONE}.0`]: new Uint8Array(randomBytes(64)) } });
      expect(harness.callsOf('TransactWriteItems')).toBe(0); // nothing written before the work is done
    }, `${PHONE}@s.whatsapp.net`);
    expect(harness.callsOf('TransactWriteItems')).toBe(1);

    const { session: reader } = await restoredSession(channel, fence);
    expect(await reader.getKeys('pre-key', ['5'])).toEqual({});
    expect(Object.keys(await reader.getKeys('identity-key', [`${PHONE}.0`]))).toEqual([`${PHONE}.0`]);
  });

  it('stores nothing in clear: no secret, key or phone number in any item, raw, base64 or hex', async () => {
    const channel = harness.newChannel();
    const fence = await harness.newFence();
    const auth = await loadAuthState({ store: harness.newStore(), ...channel, fence, logger: silentLogger });
    Object.assign(auth.state.creds, registeredCreds(auth.state.creds));
    await auth.saveCreds();
    const data = everyKeyType();
    await auth.session.setKeys(data);
    const creds = auth.state.creds;

    const secrets: [string, Buffer][] = [
      ['noise private key', Buffer.from(creds.noiseKey.private)],
      ['identity private key', Buffer.from(creds.signedIdentityKey.private)],
      ['signed pre-key private key', Buffer.from(creds.signedPreKey.keyPair.private)],
      ['adv secret key', Buffer.from(creds.advSecretKey, 'base64')],
      ['pre-key private key', Buffer.from(data['pre-key']['1'].private)],
      ['session blob', Buffer.from(data.session[`${PHONE}.0`]).subarray(0, 64)],
      ['sender key', Buffer.from(data['sender-key'][`120363000000000001@g.us::${PHONE}::0`]).subarray(0, 64)],
      ['app state key', Buffer.from(data['app-state-sync-key'].AAAAAK1x.keyData as Uint8Array)],
      ['phone number', Buffer.from(PHONE)],
      ['LID', Buffer.from('123456789012345')],
    ];
    const items = await harness.scanTable();
    expect(items.filter((item) => item.pk === sessionPk(channel)).length).toBeGreaterThan(10);

    const leaks: string[] = [];
    for (const item of items) {
      for (const [attribute, value] of Object.entries(item)) {
        const raw = value instanceof Uint8Array ? Buffer.from(value) : Buffer.from(String(value));
        // A string attribute might itself be an encoding of bytes: look inside those too.
        const views = [
          raw,
          Buffer.from(raw.toString('latin1'), 'base64'),
          Buffer.from(raw.toString('latin1'), 'hex'),
        ];
        const text = raw.toString('latin1');
        for (const [name, secret] of secrets) {
          const encoded = [secret.toString('base64'), secret.toString('base64url'), secret.toString('hex')];
          if (
            views.some((view) => view.includes(secret)) ||
            encoded.some((form) => text.includes(form.slice(0, 16)))
          ) {
            leaks.push(`${name} in ${String(item.pk)} ${String(item.sk)}.${attribute}`);
          }
        }
      }
    }
    expect(leaks).toEqual([]);
  });

  it('cannot open a data key under another channel’s encryption context', async () => {
    const channel = harness.newChannel();
    const key = await generateChannelKey(harness.kms, harness.keyArn, channel);
    const opened = await openChannelKey(harness.kms, key, channel);
    expect(opened.itemId('session', 'x')).toBe(key.cipher.itemId('session', 'x'));
    await expect(
      openChannelKey(harness.kms, key, { ...channel, channelId: harness.newChannel().channelId }),
    ).rejects.toThrow();
    await expect(
      openChannelKey(harness.kms, key, { ...channel, tenantId: harness.newChannel().tenantId }),
    ).rejects.toThrow();
  });

  it('refuses a ciphertext moved to another item or another channel', async () => {
    const fence = await harness.newFence();
    const channel = harness.newChannel();
    const other = harness.newChannel();
    const store = harness.newStore();
    const { session } = await store.open(channel, fence);
    await store.open(other, fence);
    await session.setKeys({
      session: {
        [`${PHONE}.0`]: new Uint8Array(randomBytes(50)),
        '5521911112222.0': new Uint8Array(randomBytes(50)),
      },
    });
    const [from, to] = (await itemsOf(channel)).filter((item) => String(item.sk).startsWith('KEY#session#'));
    if (!from || !to) throw new Error('two session items expected');
    await harness.dynamo.send(new PutCommand({ TableName: harness.tableName, Item: { ...to, v: from.v } }));
    const { session: reader } = await restoredSession(channel, fence);
    await expect(reader.getKeys('session', [`${PHONE}.0`, '5521911112222.0'])).rejects.toThrow(
      SealedValueError,
    );

    // The other channel's creds item replaced by this channel's: restoring it fails, and only it.
    const creds = await harness.dynamo.send(
      new GetCommand({ TableName: harness.tableName, Key: { pk: sessionPk(channel), sk: 'CREDS' } }),
    );
    await harness.dynamo.send(
      new PutCommand({ TableName: harness.tableName, Item: { ...creds.Item, pk: sessionPk(other) } }),
    );
    const results = await harness.newStore().restore([
      { channel, fence },
      { channel: other, fence },
    ]);
    expect(results.map((result) => result.status)).toEqual(['restored', 'failed']);
    expect(results[1]?.status === 'failed' && results[1].error).toBeInstanceOf(SealedValueError);
  });

  it('rejects every write once the lease moved on, leaving the stored state as it was', async () => {
    const channel = harness.newChannel();
    const fence = await harness.newFence();
    const staleFences: StaleFenceError[] = [];
    const auth = await loadAuthState({
      store: harness.newStore(),
      ...channel,
      fence,
      logger: silentLogger,
      onStaleFence: (error) => staleFences.push(error),
    });
    await auth.session.setKeys(everyKeyType());
    const committed = new Uint8Array([1, 2, 3]);
    await auth.state.keys.set({ session: { [`${PHONE}.0`]: committed } });
    const before = await itemsOf(channel);

    await harness.takeOver(fence);
    harness.resetCalls();
    // Through Baileys' cache: the refused value must not linger in it.
    await expect(auth.state.keys.set({ session: { [`${PHONE}.0`]: new Uint8Array([9]) } })).rejects.toThrow(
      StaleFenceError,
    );
    expect(normalized(await auth.state.keys.get('session', [`${PHONE}.0`]))).toEqual(
      normalized({ [`${PHONE}.0`]: committed }),
    );
    await expect(auth.session.setKeys({ session: { [`${PHONE}.0`]: new Uint8Array(10) } })).rejects.toThrow(
      StaleFenceError,
    );
    Object.assign(auth.state.creds, registeredCreds(auth.state.creds));
    await expect(auth.saveCreds()).rejects.toThrow(StaleFenceError);
    await expect(auth.session.setKeys({ 'pre-key': { '1': null } })).rejects.toThrow(StaleFenceError);
    await expect(auth.erase()).rejects.toThrow(StaleFenceError);

    expect(staleFences).toHaveLength(1);
    expect(auth.session.isFencedOut).toBe(true);
    // The first refused transaction reached DynamoDB; later writes failed without a call, except
    // erase, which does not depend on the session's state.
    expect(harness.callsOf('TransactWriteItems')).toBe(2);
    expect(await itemsOf(channel)).toEqual(before);
  });

  it('erases every item of the channel, data key first, and nothing comes back', async () => {
    const channel = harness.newChannel();
    const neighbour = harness.newChannel();
    const fence = await harness.newFence();
    const store = harness.newStore();
    const auth = await loadAuthState({ store, ...channel, fence, logger: silentLogger });
    await loadAuthState({ store, ...neighbour, fence, logger: silentLogger });
    await auth.session.setKeys(everyKeyType());
    await auth.saveCreds();
    expect((await itemsOf(channel)).length).toBeGreaterThan(10);

    await auth.erase();
    expect(await itemsOf(channel)).toEqual([]);
    expect((await itemsOf(neighbour)).map((item) => item.sk).sort()).toEqual(['CREDS', 'META']);
    await expect(auth.session.setKeys({ session: { x: new Uint8Array(1) } })).rejects.toThrow(
      SessionErasedError,
    );
    expect(await itemsOf(channel)).toEqual([]);

    const [restored] = await harness.newStore().restore([{ channel, fence }]);
    expect(restored?.status).toBe('absent');
  });

  it('keeps creds and the data key when Baileys clears the keys', async () => {
    const channel = harness.newChannel();
    const fence = await harness.newFence();
    const auth = await loadAuthState({ store: harness.newStore(), ...channel, fence, logger: silentLogger });
    await auth.session.setKeys(everyKeyType());
    await auth.state.keys.clear?.();
    expect((await itemsOf(channel)).map((item) => item.sk).sort()).toEqual(['CREDS', 'META']);
    expect(await auth.state.keys.get('session', [`${PHONE}.0`])).toEqual({});
  });

  it('stores a value larger than an item in parts, and drops the parts when it shrinks', async () => {
    const channel = harness.newChannel();
    const fence = await harness.newFence();
    const { session } = await harness.newStore().open(channel, fence);
    const indexValueMap = Object.fromEntries(
      Array.from({ length: 8000 }, () => [randomBytes(32).toString('base64'), { valueMac: randomBytes(32) }]),
    );
    const big = { version: 42, hash: randomBytes(128), indexValueMap };
    await session.setKeys({ 'app-state-sync-version': { regular: big } });
    const parts = (await itemsOf(channel)).filter((item) =>
      String(item.sk).startsWith('KEY#app-state-sync-version#'),
    );
    expect(parts.length).toBeGreaterThan(1);

    const { session: reader } = await restoredSession(channel, fence);
    expect(normalized((await reader.getKeys('app-state-sync-version', ['regular'])).regular)).toEqual(
      normalized(big),
    );

    const small = { version: 43, hash: randomBytes(128), indexValueMap: {} };
    await reader.setKeys({ 'app-state-sync-version': { regular: small } });
    expect(
      (await itemsOf(channel)).filter((item) => String(item.sk).startsWith('KEY#app-state-sync-version#')),
    ).toHaveLength(1);
    const { session: third } = await restoredSession(channel, fence);
    expect(normalized((await third.getKeys('app-state-sync-version', ['regular'])).regular)).toEqual(
      normalized(small),
    );
  });

  it('restores 50 channels of a shard with two BatchGetItem calls and one Decrypt each', async () => {
    const fence = await harness.newFence();
    const store = harness.newStore();
    const channels = Array.from({ length: 50 }, () => harness.newChannel());
    const saved = new Map<string, AuthenticationCreds>();
    for (const channel of channels) {
      const auth = await loadAuthState({ store, ...channel, fence, logger: silentLogger });
      Object.assign(auth.state.creds, registeredCreds(auth.state.creds));
      await auth.saveCreds();
      saved.set(channel.channelId, auth.state.creds);
    }
    const unknown = harness.newChannel();

    harness.resetCalls();
    const restored = await restoreAuthStates({
      store: harness.newStore(),
      channels: [...channels, unknown].map((channel) => ({ ...channel, fence })),
      logger: silentLogger,
    });
    // 51 channels × (META + CREDS) = 102 keys → 2 calls of ≤ 100 keys.
    expect(Object.fromEntries(harness.calls)).toEqual({ BatchGetItem: 2, Decrypt: 50 });
    expect(restored.map((result) => result.status)).toEqual([...channels.map(() => 'restored'), 'absent']);
    for (const result of restored) {
      if (result.status !== 'restored') continue;
      expect(normalized(result.auth.state.creds)).toEqual(normalized(saved.get(result.channel.channelId)));
    }
  });
});
