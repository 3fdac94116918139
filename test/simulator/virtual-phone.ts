// A virtual phone: the primary device (0) of an account, driven by its own Baileys client. It
// links companions (QR or pairing code), chats, and keeps what it received, decrypted by itself.
import { randomBytes, randomInt } from 'node:crypto';
import type { Agent } from 'node:https';
import { deflateSync } from 'node:zlib';
import {
  aesDecryptCTR,
  aesDecryptGCM,
  aesEncryptCTR,
  Curve,
  DisconnectReason,
  derivePairingCodeKey,
  downloadMediaMessage,
  hkdf,
  hmacSign,
  initAuthCreds,
  makeWASocket,
  proto,
  WA_ADV_ACCOUNT_SIG_PREFIX,
  type WAMessage,
  type WAMessageKey,
  type WASocket,
} from '@whiskeysockets/baileys';
import pino from 'pino';
import type { Account } from './accounts.ts';
import { type MemoryAuthState, memoryAuthState, memoryAuthStateFromJSON } from './memory-auth-state.ts';
import type { PendingCompanion } from './pairing.ts';
import type { SimulatorServer } from './server.ts';

export type MediaKind = 'image' | 'video' | 'document' | 'audio';

export interface OutgoingMedia {
  readonly kind: MediaKind;
  /** The file's bytes, or a file to stream them from (Baileys encrypts and uploads it in pieces). */
  readonly data: Buffer | { readonly file: string };
  readonly mimetype: string;
  readonly fileName?: string;
  readonly caption?: string;
}

export interface ReceivedMessage {
  readonly id: string;
  /** Phone number of the sender. */
  readonly from: string;
  readonly chatJid: string;
  readonly timestamp: number;
  readonly type: 'text' | MediaKind | 'other';
  readonly text?: string;
  readonly caption?: string;
  readonly mimetype?: string;
  readonly fileName?: string;
  /** Decrypted media bytes, base64, once downloaded. */
  readonly mediaBase64?: string;
  readonly offline: boolean;
}

export type MessageStatus = 'pending' | 'server_ack' | 'delivered' | 'read' | 'played' | 'error';

export interface SentMessage {
  readonly id: string;
  readonly to: string;
  status: MessageStatus;
}

export class PhoneError extends Error {
  constructor(
    readonly code:
      | 'recipient_not_on_whatsapp'
      | 'qr_invalid'
      | 'pairing_code_not_requested'
      | 'pairing_code_invalid'
      | 'message_not_found'
      | 'device_not_found'
      | 'phone_not_connected',
    message: string,
  ) {
    super(message);
  }
}

/** Received files larger than this are not downloaded (their `mediaBase64` stays unset). */
const MAX_KEPT_MEDIA_BYTES = 16 * 1024 * 1024;
const STATUS_BY_CODE: Record<number, MessageStatus> = {
  0: 'error',
  1: 'pending',
  2: 'server_ack',
  3: 'delivered',
  4: 'read',
  5: 'played',
};

/** A Map-backed Baileys cache that the phone can invalidate when device lists change. */
class DeviceListCache {
  private readonly entries = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.entries.get(key) as T | undefined;
  }
  set<T>(key: string, value: T): void {
    this.entries.set(key, value);
  }
  del(key: string): void {
    this.entries.delete(key);
  }
  flushAll(): void {
    this.entries.clear();
  }
}

export interface PhoneSnapshot {
  readonly phoneNumber: string;
  /** The phone's Baileys creds and Signal keys (BufferJSON). */
  readonly auth: string;
  readonly received: ReceivedMessage[];
  readonly sent: SentMessage[];
}

export interface PhoneOptions {
  readonly lid?: string;
  /** The name the phone's messages carry to their recipients (`notify`); the number by default. */
  readonly pushName?: string;
  /**
   * False: received files are not downloaded (`mediaBase64` stays unset), so a media fault reaches
   * only the number's companions (and Baileys' own download, which a reset mid-file crashes, is not
   * run in the test's process).
   */
  readonly keepsMedia?: boolean;
}

export interface OutgoingLocation {
  readonly latitude: number;
  readonly longitude: number;
  readonly name?: string;
  readonly address?: string;
}

export interface PhoneConnection {
  readonly wsUrl: string;
  /** Trusts the simulator's media host for uploads. */
  readonly mediaAgent: Agent;
}

export class VirtualPhone {
  readonly received: ReceivedMessage[] = [];
  /**
   * How many times each received message id reached the phone: `received` keeps a message once, as
   * a phone shows it once, even when its sender sent it again under the same id.
   */
  readonly arrivals = new Map<string, number>();
  readonly sent = new Map<string, SentMessage>();
  /**
   * Ids of messages the phone could not decrypt (a reused message key, a broken session), from
   * Baileys' own report of each failure: a retry may still bring the text later, the failure stays.
   */
  readonly undecryptable: string[] = [];
  private socket?: WASocket;
  private stopped = false;
  private readonly deviceLists = new DeviceListCache();
  private readonly receivedKeys = new Map<string, WAMessageKey>();
  private readonly receiveListeners = new Set<(message: ReceivedMessage) => void>();
  private openWaiters: Array<() => void> = [];
  private isOpen = false;
  private keepsMedia = true;

  private constructor(
    readonly account: Account,
    private readonly server: SimulatorServer,
    private readonly connection: PhoneConnection,
    private readonly auth: MemoryAuthState,
  ) {}

  /** Registers the number (device 0 with its keys) and connects its Baileys client. */
  static async create(
    server: SimulatorServer,
    connection: PhoneConnection,
    phoneNumber: string,
    options: PhoneOptions = {},
  ): Promise<VirtualPhone> {
    const creds = initAuthCreds();
    const account = server.accounts.create(phoneNumber, options.lid);
    creds.me = {
      id: `${phoneNumber}@s.whatsapp.net`,
      lid: `${account.lid}@lid`,
      name: options.pushName ?? phoneNumber,
    };
    creds.registered = true;
    // The phone owns its history: it never waits for a history sync from anyone.
    creds.accountSyncCounter = 1;
    server.accounts.addPrimaryDevice(account, {
      noiseKey: Buffer.from(creds.noiseKey.public),
      identityKey: Buffer.from(creds.signedIdentityKey.public),
      registrationId: creds.registrationId,
      signedPreKey: {
        id: creds.signedPreKey.keyId,
        publicKey: Buffer.from(creds.signedPreKey.keyPair.public),
        signature: Buffer.from(creds.signedPreKey.signature),
      },
    });
    const phone = new VirtualPhone(account, server, connection, memoryAuthState(creds));
    phone.keepsMedia = options.keepsMedia ?? true;
    phone.connect();
    await phone.waitUntilOpen();
    return phone;
  }

  /** Brings back a phone from a snapshot: same keys and sessions, no new registration. */
  static async restore(
    server: SimulatorServer,
    connection: PhoneConnection,
    account: Account,
    saved: PhoneSnapshot,
  ): Promise<VirtualPhone> {
    const phone = new VirtualPhone(account, server, connection, memoryAuthStateFromJSON(saved.auth));
    phone.received.push(...saved.received);
    for (const sent of saved.sent) phone.sent.set(sent.id, { ...sent });
    phone.connect();
    await phone.waitUntilOpen();
    return phone;
  }

  toSnapshot(): PhoneSnapshot {
    return {
      phoneNumber: this.phoneNumber,
      auth: this.auth.toJSON(),
      received: [...this.received],
      sent: [...this.sent.values()],
    };
  }

  get phoneNumber(): string {
    return this.account.phoneNumber;
  }

  get jid(): string {
    return `${this.phoneNumber}@s.whatsapp.net`;
  }

  get connected(): boolean {
    return this.isOpen;
  }

  /** Companion device ids currently linked to this number. */
  linkedDevices(): number[] {
    return [...this.account.devices.keys()].filter((id) => id !== 0);
  }

  waitUntilOpen(timeoutMs = 30_000): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new PhoneError('phone_not_connected', 'phone did not connect')),
        timeoutMs,
      );
      this.openWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Calls `listener` with each message the phone keeps from now on, the moment it keeps it (a
   * benchmark times arrivals by it; polling `received` would add the polling interval). Returns the
   * function that stops it.
   */
  onReceived(listener: (message: ReceivedMessage) => void): () => void {
    this.receiveListeners.add(listener);
    return () => this.receiveListeners.delete(listener);
  }

  /** "Scans" a QR string shown by a companion: links it and returns its new device id. */
  async scanQr(qr: string): Promise<number> {
    const [ref, noiseKeyB64, identityKeyB64, advSecretB64] = qr.slice(qr.indexOf('#') + 1).split(',');
    const pending = ref ? this.server.pairing.byQrRef(ref) : undefined;
    if (!pending || !noiseKeyB64 || !identityKeyB64 || !advSecretB64) {
      throw new PhoneError('qr_invalid', 'the QR code is unknown or expired');
    }
    if (
      !pending.noiseKey.equals(Buffer.from(noiseKeyB64, 'base64')) ||
      !pending.identityKey.equals(Buffer.from(identityKeyB64, 'base64'))
    ) {
      throw new PhoneError('qr_invalid', 'the QR code does not match the companion connection');
    }
    return this.link(pending, Buffer.from(advSecretB64, 'base64'));
  }

  /** Types the 8-character code a companion got from requestPairingCode: links it. */
  async enterPairingCode(code: string): Promise<number> {
    const pending = await this.server.pairing.awaitCodeRequest(this.phoneNumber, 5_000);
    const request = pending?.codeRequest;
    if (!pending || !request) {
      throw new PhoneError('pairing_code_not_requested', 'no companion asked to link to this number by code');
    }
    const normalizedCode = code.replace(/[^0-9A-Za-z]/g, '').toUpperCase();
    const wrapped = request.wrappedCompanionEphemeral;
    const codeKey = await derivePairingCodeKey(normalizedCode, wrapped.subarray(0, 32));
    const companionEphemeral = aesDecryptCTR(wrapped.subarray(48, 80), codeKey, wrapped.subarray(32, 48));

    const ephemeral = Curve.generateKeyPair();
    const salt = randomBytes(32);
    const iv = randomBytes(16);
    const ownCodeKey = await derivePairingCodeKey(normalizedCode, salt);
    const wrappedOwn = Buffer.concat([salt, iv, aesEncryptCTR(ephemeral.public, ownCodeKey, iv)]);
    const identity = this.auth.creds.signedIdentityKey;
    const { wrappedKeyBundle, companionIdentityKey } = await this.server.pairing.exchangeCodeKeys(
      pending,
      Buffer.from(identity.public),
      wrappedOwn,
    );

    const sharedEphemeral = Curve.sharedKey(ephemeral.private, companionEphemeral);
    const bundleKey = hkdf(sharedEphemeral, 32, {
      salt: wrappedKeyBundle.subarray(0, 32),
      info: 'link_code_pairing_key_bundle_encryption_key',
    });
    let bundle: Buffer;
    try {
      bundle = aesDecryptGCM(
        wrappedKeyBundle.subarray(44),
        bundleKey,
        wrappedKeyBundle.subarray(32, 44),
        Buffer.alloc(0),
      );
    } catch {
      pending.connection.sendFailure(401);
      throw new PhoneError('pairing_code_invalid', 'the pairing code does not match');
    }
    const random = bundle.subarray(64, 96);
    const sharedIdentity = Curve.sharedKey(identity.private, companionIdentityKey);
    const advSecret = Buffer.from(
      hkdf(Buffer.concat([sharedEphemeral, sharedIdentity, random]), 32, { info: 'adv_secret' }),
    );
    return this.link(pending, advSecret);
  }

  async sendText(to: string, text: string): Promise<SentMessage> {
    return this.send(to, { text });
  }

  async sendMedia(to: string, media: OutgoingMedia): Promise<SentMessage> {
    const data = Buffer.isBuffer(media.data) ? media.data : { url: media.data.file };
    switch (media.kind) {
      case 'image':
        return this.send(to, { image: data, mimetype: media.mimetype, caption: media.caption });
      case 'video':
        return this.send(to, { video: data, mimetype: media.mimetype, caption: media.caption });
      case 'audio':
        return this.send(to, { audio: data, mimetype: media.mimetype });
      case 'document':
        return this.send(to, {
          document: data,
          mimetype: media.mimetype,
          fileName: media.fileName ?? 'document',
          caption: media.caption,
        });
    }
  }

  async sendLocation(to: string, location: OutgoingLocation): Promise<SentMessage> {
    return this.send(to, {
      location: {
        degreesLatitude: location.latitude,
        degreesLongitude: location.longitude,
        name: location.name,
        address: location.address,
      },
    });
  }

  /** A contact card: `vcard` is the card itself (BEGIN:VCARD … FN: … TEL: … END:VCARD). */
  async sendContact(to: string, contact: { displayName: string; vcard: string }): Promise<SentMessage> {
    return this.send(to, { contacts: { displayName: contact.displayName, contacts: [contact] } });
  }

  async markRead(messageId: string): Promise<void> {
    const key = this.receivedKeys.get(messageId);
    if (!key) throw new PhoneError('message_not_found', `no received message ${messageId}`);
    await this.requireSocket().readMessages([key]);
  }

  /** Logs a linked device out, as from the phone's "Linked devices" screen. */
  logoutDevice(deviceId: number): void {
    if (deviceId === 0 || !this.account.devices.has(deviceId)) {
      throw new PhoneError('device_not_found', `no linked device ${deviceId}`);
    }
    this.server.removeDevice(this.account, deviceId);
    this.deviceLists.del(this.phoneNumber);
  }

  /** Sends the history-sync notification (an empty initial bootstrap) to this number's companions. */
  async sendHistorySync(): Promise<void> {
    const historySync = proto.HistorySync.encode({
      syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
      conversations: [],
      progress: 100,
    }).finish();
    this.deviceLists.del(this.phoneNumber);
    await this.requireSocket().relayMessage(
      this.jid,
      {
        protocolMessage: {
          type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
          historySyncNotification: {
            syncType: proto.Message.HistorySyncType.INITIAL_BOOTSTRAP,
            initialHistBootstrapInlinePayload: deflateSync(historySync),
            progress: 100,
            chunkOrder: 0,
          },
        },
      },
      {},
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.isOpen = false;
    this.socket?.end(undefined);
  }

  private async link(pending: PendingCompanion, advSecret: Buffer): Promise<number> {
    const identity = this.auth.creds.signedIdentityKey;
    const deviceId = await this.server.pairing.link(pending, this.account, (keyIndex) => {
      const details = proto.ADVDeviceIdentity.encode({
        rawId: randomInt(1, 2 ** 31),
        timestamp: Math.floor(Date.now() / 1000),
        keyIndex,
      }).finish();
      const accountSignature = Curve.sign(
        identity.private,
        Buffer.concat([WA_ADV_ACCOUNT_SIG_PREFIX, details, pending.identityKey]),
      );
      const signedIdentity = proto.ADVSignedDeviceIdentity.encode({
        details,
        accountSignatureKey: identity.public,
        accountSignature,
      }).finish();
      return Buffer.from(
        proto.ADVSignedDeviceIdentityHMAC.encode({
          details: signedIdentity,
          hmac: hmacSign(signedIdentity, advSecret),
        }).finish(),
      );
    });
    this.deviceLists.del(this.phoneNumber);
    return deviceId;
  }

  private async send(to: string, content: Parameters<WASocket['sendMessage']>[1]): Promise<SentMessage> {
    const socket = this.requireSocket();
    const number = to.replace(/[^0-9]/g, '');
    if (!this.server.accounts.get(number)) {
      throw new PhoneError(
        'recipient_not_on_whatsapp',
        `${number} is not a WhatsApp number in this simulator`,
      );
    }
    // Device lists change when the peer links a companion; ask the server every time.
    this.deviceLists.del(number);
    const message = await socket.sendMessage(`${number}@s.whatsapp.net`, content);
    const id = message?.key.id;
    if (!id) throw new Error('Baileys returned no message id');
    const existing = this.sent.get(id);
    if (existing) return existing;
    const sent: SentMessage = { id, to: number, status: 'server_ack' };
    this.sent.set(id, sent);
    return sent;
  }

  private requireSocket(): WASocket {
    if (!this.socket || !this.isOpen)
      throw new PhoneError('phone_not_connected', 'the phone is not connected');
    return this.socket;
  }

  /** Baileys' errors are dropped, but for its report of a message it could not decrypt. */
  private decryptFailureLogger() {
    return pino(
      { level: 'error' },
      {
        write: (line: string) => {
          const entry = JSON.parse(line) as { msg?: string; key?: { id?: string } };
          if (entry.msg === 'failed to decrypt message') this.undecryptable.push(entry.key?.id ?? '');
        },
      },
    );
  }

  private connect(): void {
    const socket = makeWASocket({
      auth: this.auth,
      waWebSocketUrl: this.connection.wsUrl,
      fetchAgent: this.connection.mediaAgent,
      logger: this.decryptFailureLogger(),
      markOnlineOnConnect: false,
      userDevicesCache: this.deviceLists,
      browser: ['Android', 'Android', '14'],
    });
    this.socket = socket;
    socket.ev.on('creds.update', (update) => Object.assign(this.auth.creds, update));
    socket.ev.on('connection.update', ({ connection, lastDisconnect }) => {
      if (connection === 'open') {
        this.isOpen = true;
        for (const waiter of this.openWaiters.splice(0)) waiter();
      }
      if (connection === 'close') {
        this.isOpen = false;
        const statusCode = (lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output
          ?.statusCode;
        if (!this.stopped && statusCode !== DisconnectReason.loggedOut && this.socket === socket) {
          setTimeout(() => this.connect(), 100);
        }
      }
    });
    socket.ev.on('messages.upsert', ({ messages, type }) => {
      for (const message of messages) void this.record(message, type === 'append');
    });
    socket.ev.on('messages.update', (updates) => {
      for (const { key, update } of updates) {
        const sent = key.id ? this.sent.get(key.id) : undefined;
        if (sent && typeof update.status === 'number') this.advance(sent, update.status);
      }
    });
  }

  private advance(sent: SentMessage, statusCode: number): void {
    const status = STATUS_BY_CODE[statusCode];
    const order: MessageStatus[] = ['error', 'pending', 'server_ack', 'delivered', 'read', 'played'];
    if (status && order.indexOf(status) > order.indexOf(sent.status)) sent.status = status;
  }

  private keep(message: ReceivedMessage): void {
    this.received.push(message);
    for (const listener of this.receiveListeners) listener(message);
  }

  private async record(message: WAMessage, offline: boolean): Promise<void> {
    const { key } = message;
    if (!key.id || !key.remoteJid) return;
    if (key.fromMe) {
      const sent = this.sent.get(key.id);
      if (sent && typeof message.status === 'number') this.advance(sent, message.status);
      else if (!sent && key.remoteJid !== this.jid && message.message) {
        this.sent.set(key.id, { id: key.id, to: key.remoteJid.split('@')[0] ?? '', status: 'server_ack' });
      }
      return;
    }
    const content = message.message;
    if (
      !content ||
      content.protocolMessage ||
      (content.senderKeyDistributionMessage && Object.keys(content).length === 1)
    ) {
      return;
    }
    this.arrivals.set(key.id, (this.arrivals.get(key.id) ?? 0) + 1);
    if (this.receivedKeys.has(key.id)) return;
    this.receivedKeys.set(key.id, key);
    const base = {
      id: key.id,
      from: (key.remoteJid.split('@')[0] ?? '').split(':')[0] ?? '',
      chatJid: key.remoteJid,
      timestamp: Number(message.messageTimestamp ?? 0),
      offline,
    };
    const media =
      content.imageMessage ?? content.videoMessage ?? content.documentMessage ?? content.audioMessage;
    if (!media) {
      const text = content.conversation ?? content.extendedTextMessage?.text ?? undefined;
      this.keep({ ...base, type: text === undefined ? 'other' : 'text', text });
      return;
    }
    const type: MediaKind = content.imageMessage
      ? 'image'
      : content.videoMessage
        ? 'video'
        : content.documentMessage
          ? 'document'
          : 'audio';
    let mediaBase64: string | undefined;
    // A phone keeps what it received; a virtual one keeps small files only, in memory, as base64.
    if (this.keepsMedia && Number(media.fileLength ?? 0) <= MAX_KEPT_MEDIA_BYTES) {
      try {
        const bytes = await downloadMediaMessage(message, 'buffer', {});
        mediaBase64 = Buffer.from(bytes).toString('base64');
      } catch {
        mediaBase64 = undefined;
      }
    }
    this.keep({
      ...base,
      type,
      caption: 'caption' in media ? (media.caption ?? undefined) : undefined,
      mimetype: media.mimetype ?? undefined,
      fileName: 'fileName' in media ? (media.fileName ?? undefined) : undefined,
      mediaBase64,
    });
  }
}
