import type { Readable } from 'node:stream';
import type { WAMessage } from '@whiskeysockets/baileys';
import { MediaTooLargeError } from '#shared/domain/errors.ts';
import type { PlatformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import type { Message } from '#shared/domain/message.ts';
import type { EventOutbox, MediaStore, MessageRepository } from '#shared/ports.ts';
import { platformEvent } from '../events/platform-events.ts';
import type { Semaphore } from '../semaphore.ts';
import {
  addressOf,
  type InboundMedia,
  mediaOf,
  type StoredMediaRef,
  toReceivedMessage,
} from './inbound-message.ts';

/** WhatsApp's own limit for documents; a tenant's setting may lower or raise it. */
export const DEFAULT_INBOUND_MEDIA_MAX_BYTES = 100 * 1024 * 1024;

export interface ReceivedMessageRecorderDeps {
  readonly messages: MessageRepository;
  readonly outbox: EventOutbox;
  readonly media: MediaStore;
  /** The decrypted bytes of a received media message, streamed from WhatsApp's media host. */
  readonly downloadMedia: (message: WAMessage) => Promise<Readable>;
  /** The largest received file the tenant keeps. */
  readonly mediaMaxBytes?: (tenantId: string) => number;
  /** Bounds the downloads in flight (each holds a couple of upload parts in memory). */
  readonly mediaDownloads?: Semaphore;
  readonly onMediaError?: (error: unknown) => void;
  readonly now?: () => Date;
}

/** A failure on WhatsApp's side of a media download (as opposed to our store's). */
class MediaDownloadError extends Error {}

/**
 * Records a patient's message exactly once, with its `message.received` event in the same write
 * (the outbox), and its media streamed to the media store first — or, when the file is over the
 * tenant's cap or cannot be downloaded, a `mediaError` and no bytes. A message already recorded
 * (WhatsApp delivered it again) is recognised before any download, so no object is stored twice.
 * A failure of our own stores throws: the caller retries, and WhatsApp has not been told
 * "delivered" meanwhile.
 */
export class ReceivedMessageRecorder {
  constructor(
    private readonly scope: { tenantId: string; channelId: string; shard: number },
    private readonly deps: ReceivedMessageRecorderDeps,
  ) {}

  /** The event still to publish for the message: null when it is not a patient's, or was published. */
  async record(message: WAMessage): Promise<PlatformEvent<'message.received'> | null> {
    const { tenantId, channelId } = this.scope;
    const remoteJid = message.key.remoteJid;
    const waMessageId = message.key.id;
    if (!remoteJid || !waMessageId || !toReceivedMessage(message)) return null;
    const media = mediaOf(message);
    if (media && (await this.deps.messages.resolveWaMessageId(tenantId, channelId, waMessageId)))
      return this.stillPending(waMessageId);
    const received = toReceivedMessage(message, media ? await this.storeMedia(message, media) : undefined);
    if (!received) return null;
    const createdAt = this.deps.now?.() ?? new Date();
    const repliedTo = received.context
      ? await this.deps.messages.findByWaMessageId(tenantId, channelId, received.context.messageId)
      : null;
    const { context: _waContext, ...withoutContext } = received;
    const stored: Message = {
      id: newId('message'),
      tenantId,
      channelId,
      direction: 'inbound',
      waMessageId,
      remoteJid,
      contact: addressOf(remoteJid, message.key.remoteJidAlt),
      type: received.type,
      content: received.content,
      status: 'received',
      statusHistory: [],
      createdAt: createdAt.toISOString(),
    };
    const event = platformEvent(
      'message.received',
      { tenantId, channelId },
      {
        ...withoutContext,
        messageId: stored.id,
        ...(repliedTo ? { context: { messageId: repliedTo.id } } : {}),
      },
      createdAt,
    );
    if (await this.deps.messages.put(stored, { outbox: { shard: this.scope.shard, event } })) return event;
    return this.stillPending(waMessageId);
  }

  /** A message recorded before: its event if that was never published (the recorder died first). */
  private async stillPending(waMessageId: string): Promise<PlatformEvent<'message.received'> | null> {
    const { tenantId, channelId } = this.scope;
    const known = await this.deps.messages.resolveWaMessageId(tenantId, channelId, waMessageId);
    return known ? this.deps.outbox.pendingOf(tenantId, channelId, known.messageId) : null;
  }

  private async storeMedia(message: WAMessage, media: InboundMedia): Promise<StoredMediaRef> {
    const maxBytes = this.deps.mediaMaxBytes?.(this.scope.tenantId) ?? DEFAULT_INBOUND_MEDIA_MAX_BYTES;
    if (media.declaredBytes !== null && media.declaredBytes > maxBytes) return { mediaError: 'too_large' };
    const store = () => this.streamMedia(message, media, maxBytes);
    try {
      return { mediaId: await (this.deps.mediaDownloads ? this.deps.mediaDownloads.run(store) : store()) };
    } catch (error) {
      if (error instanceof MediaTooLargeError) return { mediaError: 'too_large' };
      if (!(error instanceof MediaDownloadError)) throw error;
      this.deps.onMediaError?.(error.cause);
      return { mediaError: 'download_failed' };
    }
  }

  private async streamMedia(message: WAMessage, media: InboundMedia, maxBytes: number): Promise<string> {
    const download = await this.deps.downloadMedia(message).catch((error: unknown) => {
      throw new MediaDownloadError('media download failed', { cause: error });
    });
    try {
      return await this.deps.media.putStream(this.scope.tenantId, {
        body: fromWhatsApp(download),
        mimeType: media.mimeType,
        fileName: media.fileName ?? null,
        maxBytes,
      });
    } finally {
      // Whatever stopped the upload, the connection to WhatsApp's media host is not left open.
      download.destroy();
    }
  }
}

async function* fromWhatsApp(download: Readable): AsyncIterable<Uint8Array> {
  try {
    yield* download;
  } catch (error) {
    throw new MediaDownloadError('media download failed', { cause: error });
  }
}
