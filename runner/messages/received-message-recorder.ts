import type { WAMessage } from '@whiskeysockets/baileys';
import { MediaTooLargeError, StoreRejectedError } from '#shared/domain/errors.ts';
import type { PlatformEvent } from '#shared/domain/events.ts';
import { platformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import { type Message, receivedMessageData } from '#shared/domain/message.ts';
import type { EventOutbox, MediaStore, MessageRepository } from '#shared/ports.ts';
import type { ChannelEventSequence } from '../events/channel-event-sequence.ts';
import type { Semaphore } from '../semaphore.ts';
import {
  type InboundMedia,
  type MediaError,
  mediaOf,
  type ReceivedMessage,
  type StoredMediaRef,
  toReceivedMessage,
} from './inbound-message.ts';
import { MediaDownloadError, type SpooledMedia } from './whatsapp-media.ts';

/** WhatsApp's own limit for documents; a tenant's setting may lower or raise it. */
export const DEFAULT_INBOUND_MEDIA_MAX_BYTES = 100 * 1024 * 1024;
/**
 * The largest content (as JSON) a record holds itself; a larger one (a text or caption of a
 * modified client, a vCard of thousands of contacts) goes to the media store. 128 KiB: its event
 * still fits EventBridge's 256 KB entry, its record DynamoDB's 400 KB item. WhatsApp's longest text
 * (65,536 characters) is 64 KiB in ASCII.
 */
export const INLINE_CONTENT_MAX_BYTES = 128 * 1024;

/** What a received message's record and event are made of, but its content. */
type Draft = Pick<ReceivedMessage, 'timestamp' | 'type'> & {
  readonly waMessageId: string;
  readonly remoteJid: string;
  /** The patient: phone number, LID, push name. */
  readonly contact: Message['contact'];
  readonly context?: { messageId: string };
  readonly createdAt: Date;
};

/** How received messages' events leave the outbox (events/outbox-publisher.ts). */
export interface ReceivedEvents {
  /** Writes the record (false: it existed) and publishes its event once written. */
  recordAndPublish(event: PlatformEvent<'message.received'>, write: () => Promise<boolean>): Promise<boolean>;
  /** Publishes an event found still waiting with its record. */
  publish(event: PlatformEvent<'message.received'>): void;
}

export interface ReceivedMessageRecorderDeps {
  readonly messages: MessageRepository;
  readonly outbox: EventOutbox;
  readonly events: ReceivedEvents;
  /** Numbers each event as its record is written (given back when it is not). */
  readonly sequence: ChannelEventSequence;
  readonly media: MediaStore;
  /**
   * Downloads a received file from WhatsApp's media host (`WhatsAppMedia`), retrying what may pass;
   * `MediaDownloadError` when it cannot be had.
   */
  readonly downloadMedia: (
    message: WAMessage,
    options: { signal: AbortSignal; maxBytes: number },
  ) => Promise<SpooledMedia>;
  /** The largest received file the tenant keeps. */
  readonly mediaMaxBytes?: (tenantId: string) => number;
  /** Bounds the downloads and uploads in flight (an upload holds a couple of parts in memory). */
  readonly mediaDownloads?: Semaphore;
  readonly onMediaError?: (error: unknown) => void;
  /** A message recorded with a reason in place of its media or content (`mediaError`, `contentError`). */
  readonly onRecordedWithError?: (recorded: { messageId: string; reason: string }) => void;
  readonly now?: () => Date;
}

/** A received file between attempts to record its message: downloaded, or stored (or given up). */
interface MediaInHand {
  spool?: SpooledMedia | undefined;
  stored?: StoredMediaRef;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
}

/**
 * Records a patient's message exactly once, with its `message.received` event in the same write
 * (the outbox) and published from there, and its media in the media store first — or, when the
 * file is over the tenant's cap or cannot be downloaded, a `mediaError` and no bytes. A message
 * already recorded (WhatsApp delivered it again) is recognised before any download, so no object
 * is stored twice. A failure of our own stores throws: the caller retries, and WhatsApp has not
 * been told "delivered" meanwhile. A file is downloaded once per message: a retry after S3 failed
 * uploads it again from the spool, a retry after DynamoDB failed reuses the object stored.
 */
export class ReceivedMessageRecorder {
  /** Media of messages being recorded, by WhatsApp id, kept between attempts until recorded. */
  private readonly inHand = new Map<string, MediaInHand>();

  constructor(
    private readonly scope: { tenantId: string; channelId: string; shard: number },
    private readonly deps: ReceivedMessageRecorderDeps,
  ) {}

  /**
   * Resolves once the message is recorded (or is not a patient's); its event is published then.
   * `signal` aborts when the connection is gone: a download under way stops, and what was kept for
   * the message is let go.
   */
  async record(message: WAMessage, signal: AbortSignal): Promise<void> {
    const { tenantId, channelId } = this.scope;
    const remoteJid = message.key.remoteJid;
    const waMessageId = message.key.id;
    if (!remoteJid || !waMessageId || !toReceivedMessage(message)) return;
    const media = mediaOf(message);
    if (media && (await this.deps.messages.resolveWaMessageId(tenantId, channelId, waMessageId))) {
      await this.letGo(waMessageId);
      return this.publishStillPending(waMessageId);
    }
    const stored = media ? await this.storeMedia(message, waMessageId, media, signal) : undefined;
    const received = toReceivedMessage(message, stored);
    if (!received) return;
    const createdAt = this.deps.now?.() ?? new Date();
    const repliedTo = received.context
      ? await this.deps.messages.findByWaMessageId(tenantId, channelId, received.context.messageId)
      : null;
    const { context: _waContext, messageId: _waMessageId, content, from, ...rest } = received;
    const keepable = await this.keepable(content);
    // The connection closed while the file or content was being stored: no receipt can go out now,
    // WhatsApp delivers the message again; and the channel may be being deleted, so nothing is
    // written for it past this point (an object stored meanwhile is left to the bucket's expiry).
    signal.throwIfAborted();
    const draft = {
      ...rest,
      waMessageId,
      remoteJid,
      contact: from,
      ...(repliedTo ? { context: { messageId: repliedTo.id } } : {}),
      createdAt,
    };
    const written = await this.write(draft, keepable).catch((error: unknown) => {
      if (!(error instanceof StoreRejectedError)) throw error;
      // Refused for what it holds, the same record would be refused every time, holding back every
      // message behind it: the message is recorded with the reason instead, and its receipt goes out.
      return this.write(draft, { contentError: 'rejected' });
    });
    await this.letGo(waMessageId);
    if (!written) await this.publishStillPending(waMessageId);
  }

  /** Writes the record with its event and publishes it; false when the message was recorded before. */
  private async write(draft: Draft, content: Record<string, unknown>): Promise<boolean> {
    const { tenantId, channelId, shard } = this.scope;
    const { waMessageId, remoteJid, contact, type, context, createdAt, timestamp } = draft;
    const stored: Message = {
      id: newId('message'),
      tenantId,
      channelId,
      direction: 'inbound',
      waMessageId,
      remoteJid,
      contact,
      type,
      content,
      status: 'received',
      statusHistory: [],
      createdAt: createdAt.toISOString(),
    };
    // Presented from the record as the outbox rebuilds it and the messages API shows it.
    const event = platformEvent(
      'message.received',
      { tenantId, channelId },
      receivedMessageData(stored, { timestamp, ...(context ? { context } : {}) }),
      createdAt,
    );
    // Stored with its number, which the outbox's drain publishes it with if this process cannot.
    const written = await this.deps.sequence.stampThrough(event, (numbered) =>
      this.deps.events.recordAndPublish(numbered, () =>
        this.deps.messages.put(stored, { outbox: { shard, event: numbered } }),
      ),
    );
    const reason = content.mediaError ?? content.contentError;
    if (written && typeof reason === 'string')
      this.deps.onRecordedWithError?.({
        messageId: stored.id,
        reason: `${content.mediaError ? 'media' : 'content'} ${reason}`,
      });
    return written;
  }

  /**
   * The content as the record keeps it: itself, or when larger than an item and an event can carry,
   * a reference to it in the media store (as JSON).
   */
  private async keepable(content: Record<string, unknown>): Promise<Record<string, unknown>> {
    const json = Buffer.from(JSON.stringify(content));
    if (json.length <= INLINE_CONTENT_MAX_BYTES) return content;
    try {
      const contentMediaId = await this.deps.media.put(this.scope.tenantId, {
        data: json,
        mimeType: 'application/json',
        fileName: null,
      });
      return { contentMediaId, contentBytes: json.length };
    } catch (error) {
      if (error instanceof StoreRejectedError) return { contentError: 'too_large' };
      throw error;
    }
  }

  /** A message recorded before: its event is published if it never was (the recorder died first). */
  private async publishStillPending(waMessageId: string): Promise<void> {
    const { tenantId, channelId } = this.scope;
    const known = await this.deps.messages.resolveWaMessageId(tenantId, channelId, waMessageId);
    const pending = known ? await this.deps.outbox.pendingOf(tenantId, channelId, known.messageId) : null;
    if (pending) this.deps.events.publish(pending);
  }

  /** Where the message's file went: its media id, or why it has none. */
  private async storeMedia(
    message: WAMessage,
    waMessageId: string,
    media: InboundMedia,
    signal: AbortSignal,
  ): Promise<StoredMediaRef> {
    const maxBytes = this.deps.mediaMaxBytes?.(this.scope.tenantId) ?? DEFAULT_INBOUND_MEDIA_MAX_BYTES;
    if (media.declaredBytes !== null && media.declaredBytes > maxBytes) return { mediaError: 'too_large' };
    const held = this.hold(waMessageId, signal);
    if (held.stored) return held.stored;
    try {
      held.spool ??= await this.inSlot(() => this.deps.downloadMedia(message, { signal, maxBytes }));
      const spool = held.spool;
      held.stored = await this.inSlot(() =>
        this.deps.media.putStream(this.scope.tenantId, {
          body: spool.plaintext(signal),
          mimeType: media.mimeType,
          fileName: media.fileName ?? null,
          maxBytes,
        }),
      );
    } catch (error) {
      signal.throwIfAborted();
      const mediaError = mediaErrorOf(error);
      // Our own store failing: the next attempt uploads again from the spool, downloading nothing.
      if (!mediaError) throw error;
      if (mediaError === 'download_failed') this.deps.onMediaError?.(error);
      held.stored = { mediaError };
    }
    await held.spool?.dispose();
    held.spool = undefined;
    return held.stored;
  }

  /** What is kept of the message's file between attempts; let go when the connection is gone. */
  private hold(waMessageId: string, signal: AbortSignal): MediaInHand {
    const existing = this.inHand.get(waMessageId);
    if (existing) return existing;
    const held: MediaInHand = { signal, onAbort: () => void this.letGo(waMessageId) };
    this.inHand.set(waMessageId, held);
    signal.addEventListener('abort', held.onAbort, { once: true });
    return held;
  }

  private async letGo(waMessageId: string): Promise<void> {
    const held = this.inHand.get(waMessageId);
    if (!held) return;
    this.inHand.delete(waMessageId);
    held.signal.removeEventListener('abort', held.onAbort);
    await held.spool?.dispose();
  }

  private inSlot<T>(work: () => Promise<T>): Promise<T> {
    return this.deps.mediaDownloads ? this.deps.mediaDownloads.run(work) : work();
  }
}

/** The reason recorded for a file that will not be had, or null for a failure worth another try. */
function mediaErrorOf(error: unknown): MediaError | null {
  if (error instanceof MediaTooLargeError) return 'too_large';
  if (error instanceof StoreRejectedError) return 'rejected';
  if (error instanceof MediaDownloadError) return 'download_failed';
  return null;
}
