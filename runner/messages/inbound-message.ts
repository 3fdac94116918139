import {
  extractMessageContent,
  getContentType,
  isJidGroup,
  isJidStatusBroadcast,
  isLidUser,
  jidDecode,
  type proto,
  type WAMessage,
} from '@whiskeysockets/baileys';
import type { ReceivedMedia, ReceivedMediaError } from '#shared/domain/media.ts';
import type { MessageParty, ReceivedMessageType } from '#shared/domain/message.ts';

/**
 * A patient's message in our terms: what its record and its `message.received` event are made of
 * (`receivedMessageData` presents the record as the event). Ids are WhatsApp's still.
 */
export interface ReceivedMessage {
  /** WhatsApp's id of the message. */
  readonly messageId: string;
  readonly from: Required<MessageParty>;
  readonly timestamp: string;
  readonly type: string;
  /**
   * The content as the record keeps it: the Cloud API's object for `type` (`{ body }` for a text,
   * `ReceivedMedia` for a file), which the event and the messages API put under the key `type`
   * names (`typedContent`).
   */
  readonly content: Record<string, unknown>;
  /** WhatsApp's id of the message replied to. */
  readonly context?: { messageId: string };
}

/** Media of a received message, kept by reference: the bytes go to the media store. */
export interface InboundMedia {
  readonly kind: 'image' | 'video' | 'audio' | 'document' | 'sticker';
  readonly mimeType: string;
  readonly fileName?: string;
  /** The size the sender declared (WhatsApp's `fileLength`), null when absent. */
  readonly declaredBytes: number | null;
}

export type MediaError = ReceivedMediaError;

/** Where a received message's media went: the store's id with what it stored, or why it is not there. */
export type StoredMediaRef =
  | { readonly mediaId: string; readonly size: number; readonly sha256: string }
  | { readonly mediaError: MediaError };

/**
 * A patient's one-to-one message, with both the phone number and the LID when WhatsApp gave them
 * and the push name their phone sent with it. Group, broadcast, own and protocol messages are not
 * patient messages and give null.
 */
export function toReceivedMessage(message: WAMessage, media?: StoredMediaRef): ReceivedMessage | null {
  const key = message.key;
  if (!key.remoteJid || key.fromMe || isJidGroup(key.remoteJid) || isJidStatusBroadcast(key.remoteJid))
    return null;
  const content = extractMessageContent(message.message);
  const type = getContentType(content);
  if (!content || !type) return null;
  const mapped = mapContent(content, type, media);
  if (!mapped) return null;
  const contextId = contextInfoOf(content, type)?.stanzaId;
  return {
    messageId: key.id ?? '',
    from: { ...addressOf(key.remoteJid, key.remoteJidAlt), name: message.pushName || null },
    timestamp: new Date(Number(message.messageTimestamp ?? 0) * 1000).toISOString(),
    type: mapped.type,
    content: mapped.content,
    ...(contextId ? { context: { messageId: contextId } } : {}),
  };
}

export function mediaOf(message: WAMessage): InboundMedia | null {
  const content = extractMessageContent(message.message);
  const type = getContentType(content);
  if (!content || !type) return null;
  const kind = MEDIA_KINDS[type as keyof typeof MEDIA_KINDS];
  const media = kind ? (content[type] as proto.Message.IDocumentMessage | null | undefined) : undefined;
  if (!kind || !media) return null;
  return {
    kind,
    mimeType: media.mimetype ?? 'application/octet-stream',
    ...(media.fileName ? { fileName: media.fileName } : {}),
    declaredBytes:
      media.fileLength === null || media.fileLength === undefined ? null : Number(media.fileLength),
  };
}

/** Phone number (E.164) and LID of a chat, from its JID and WhatsApp's alternate addressing. */
export function addressOf(
  jid: string,
  alternate?: string | null,
): { phoneNumber: string | null; lid: string | null } {
  const lidJid = [jid, alternate].find((candidate) => candidate && isLidUser(candidate));
  const phoneJid = [jid, alternate].find((candidate) => candidate?.endsWith('@s.whatsapp.net'));
  const user = phoneJid ? jidDecode(phoneJid)?.user : undefined;
  return {
    phoneNumber: user ? `+${user}` : null,
    lid: lidJid ? `${jidDecode(lidJid)?.user}@lid` : null,
  };
}

const MEDIA_KINDS = {
  imageMessage: 'image',
  videoMessage: 'video',
  audioMessage: 'audio',
  documentMessage: 'document',
  stickerMessage: 'sticker',
} as const;

/**
 * A WhatsApp message's content as the Cloud API names its fields, for the record (not yet under its
 * type's key); null for a kind the platform does not carry.
 */
function mapContent(
  content: proto.IMessage,
  type: keyof proto.IMessage,
  stored: StoredMediaRef | undefined,
): { type: ReceivedMessageType; content: Record<string, unknown> } | null {
  switch (type) {
    case 'conversation':
      return { type: 'text', content: { body: content.conversation ?? '' } };
    case 'extendedTextMessage':
      return { type: 'text', content: { body: content.extendedTextMessage?.text ?? '' } };
    case 'imageMessage':
    case 'videoMessage':
    case 'audioMessage':
    case 'documentMessage':
    case 'stickerMessage': {
      const kind = MEDIA_KINDS[type];
      const media = content[type] as proto.Message.IDocumentMessage;
      const kept = stored && 'mediaId' in stored ? stored : null;
      const received: ReceivedMedia = {
        mediaId: kept?.mediaId ?? null,
        ...(stored && 'mediaError' in stored ? { mediaError: stored.mediaError } : {}),
        mimeType: media.mimetype || 'application/octet-stream',
        sha256: kept?.sha256 ?? null,
        size: kept?.size ?? null,
        fileName: media.fileName || null,
        ...(media.caption ? { caption: media.caption } : {}),
      };
      return { type: kind, content: { ...received } };
    }
    case 'locationMessage': {
      const location = content.locationMessage;
      return {
        type: 'location',
        content: {
          latitude: finiteOrNull(location?.degreesLatitude),
          longitude: finiteOrNull(location?.degreesLongitude),
          ...(location?.name ? { name: location.name } : {}),
          ...(location?.address ? { address: location.address } : {}),
        },
      };
    }
    case 'contactMessage':
      return { type: 'contacts', content: { contacts: [contactOf(content.contactMessage)] } };
    case 'contactsArrayMessage':
      return {
        type: 'contacts',
        content: { contacts: (content.contactsArrayMessage?.contacts ?? []).map(contactOf) },
      };
    case 'reactionMessage':
      return {
        type: 'reaction',
        content: {
          messageId: content.reactionMessage?.key?.id ?? null,
          emoji: content.reactionMessage?.text ?? '',
        },
      };
    default:
      return null;
  }
}

/** A coordinate the store can keep: a sender's client may put NaN or Infinity in the double. */
function finiteOrNull(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function contactOf(card: proto.Message.IContactMessage | null | undefined) {
  const phones = [...(card?.vcard ?? '').matchAll(/^TEL[^:]*:(.+)$/gm)].map((match) => ({
    phone: (match[1] ?? '').trim(),
  }));
  return { name: { formattedName: card?.displayName ?? '' }, phones };
}

function contextInfoOf(
  content: proto.IMessage,
  type: keyof proto.IMessage,
): proto.IContextInfo | null | undefined {
  const inner = content[type] as { contextInfo?: proto.IContextInfo | null } | null | undefined;
  return typeof inner === 'object' ? inner?.contextInfo : undefined;
}
