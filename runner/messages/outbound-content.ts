import type { AnyMessageContent, proto, WAMessageKey } from '@whiskeysockets/baileys';
import type { OutboundContent } from '#shared/domain/outbound-message.ts';

/** Media a send refers to, as the bytes to upload; `link` media is fetched by the caller's resolver. */
export type MediaResolver = (reference: { link?: string; mediaId?: string }) => Promise<{
  data: Buffer;
  mimeType: string;
}>;

/** The WhatsApp key of a message the channel sent or received, for reactions and replies. */
export type MessageKeyLookup = (messageId: string) => Promise<WAMessageKey | null>;

export class UnknownReferencedMessageError extends Error {
  constructor(readonly messageId: string) {
    super(`Message ${messageId} is not a message of this channel`);
    this.name = 'UnknownReferencedMessageError';
  }
}

/** Turns the API's message content into what Baileys sends. */
export async function toBaileysContent(
  content: OutboundContent,
  deps: { resolveMedia: MediaResolver; lookupKey: MessageKeyLookup },
): Promise<AnyMessageContent> {
  switch (content.type) {
    case 'text':
      return { text: content.text.body };
    case 'image': {
      const { data, mimeType } = await deps.resolveMedia(content.image);
      return {
        image: data,
        mimetype: mimeType,
        ...(content.image.caption ? { caption: content.image.caption } : {}),
      };
    }
    case 'video': {
      const { data, mimeType } = await deps.resolveMedia(content.video);
      return {
        video: data,
        mimetype: mimeType,
        ...(content.video.caption ? { caption: content.video.caption } : {}),
      };
    }
    case 'audio': {
      const { data, mimeType } = await deps.resolveMedia(content.audio);
      return { audio: data, mimetype: mimeType };
    }
    case 'document': {
      const { data, mimeType } = await deps.resolveMedia(content.document);
      return {
        document: data,
        mimetype: content.document.mimeType ?? mimeType,
        fileName: content.document.filename ?? 'document',
        ...(content.document.caption ? { caption: content.document.caption } : {}),
      };
    }
    case 'location':
      return {
        location: {
          degreesLatitude: content.location.latitude,
          degreesLongitude: content.location.longitude,
          ...(content.location.name ? { name: content.location.name } : {}),
          ...(content.location.address ? { address: content.location.address } : {}),
        },
      };
    case 'contacts':
      return {
        contacts: {
          displayName:
            content.contacts.length === 1
              ? content.contacts[0]?.name.formattedName
              : `${content.contacts.length} contacts`,
          contacts: content.contacts.map(toContactCard),
        },
      };
    case 'reaction': {
      const key = await deps.lookupKey(content.reaction.messageId);
      if (!key) throw new UnknownReferencedMessageError(content.reaction.messageId);
      return { react: { text: content.reaction.emoji, key } };
    }
  }
}

type ContactCard = Extract<OutboundContent, { type: 'contacts' }>['contacts'][number];

function toContactCard(contact: ContactCard) {
  const lines = ['BEGIN:VCARD', 'VERSION:3.0', `FN:${escapeVCard(contact.name.formattedName)}`];
  for (const phone of contact.phones) {
    const digits = phone.phone.replace(/[^\d+]/g, '');
    const waid = digits.replace(/^\+/, '');
    lines.push(`TEL;type=${escapeVCard(phone.type ?? 'CELL')};waid=${waid}:${digits}`);
  }
  lines.push('END:VCARD');
  return {
    displayName: contact.name.formattedName,
    vcard: lines.join('\n'),
  } satisfies proto.Message.IContactMessage;
}

function escapeVCard(value: string): string {
  return value.replace(/[\\;,\n]/g, (char) => (char === '\n' ? '\\n' : `\\${char}`));
}
