import type { WAMessage } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { addressOf, mediaOf, toReceivedMessage } from '#runner/messages/inbound-message.ts';
import { toBaileysContent, UnknownReferencedMessageError } from '#runner/messages/outbound-content.ts';

const noMedia = async () => {
  throw new Error('no media expected');
};
const noKeys = async () => null;

describe('outbound content', () => {
  it('maps text, location, contacts and reactions to Baileys content', async () => {
    const deps = { resolveMedia: noMedia, lookupKey: noKeys };
    expect(await toBaileysContent({ type: 'text', text: { body: 'Olá' } }, deps)).toEqual({ text: 'Olá' });
    expect(
      await toBaileysContent(
        { type: 'location', location: { latitude: -23.5, longitude: -46.6, name: 'Clínica' } },
        deps,
      ),
    ).toEqual({ location: { degreesLatitude: -23.5, degreesLongitude: -46.6, name: 'Clínica' } });

    const contacts = await toBaileysContent(
      {
        type: 'contacts',
        contacts: [{ name: { formattedName: 'Dra. Ana; CRM' }, phones: [{ phone: '+55 11 91234-5678' }] }],
      },
      deps,
    );
    expect(contacts).toEqual({
      contacts: {
        displayName: 'Dra. Ana; CRM',
        contacts: [
          {
            displayName: 'Dra. Ana; CRM',
            vcard:
              'BEGIN:VCARD\nVERSION:3.0\nFN:Dra. Ana\\; CRM\nTEL;type=CELL;waid=5511912345678:+5511912345678\nEND:VCARD',
          },
        ],
      },
    });

    const key = { remoteJid: '5511987654321@s.whatsapp.net', id: 'ABC', fromMe: false };
    expect(
      await toBaileysContent(
        { type: 'reaction', reaction: { messageId: 'msg_1', emoji: '👍' } },
        { resolveMedia: noMedia, lookupKey: async (id) => (id === 'msg_1' ? key : null) },
      ),
    ).toEqual({ react: { text: '👍', key } });
    await expect(
      toBaileysContent({ type: 'reaction', reaction: { messageId: 'msg_x', emoji: '👍' } }, deps),
    ).rejects.toBeInstanceOf(UnknownReferencedMessageError);
  });

  it('uploads media from the resolver with its type, caption and file name', async () => {
    const data = Buffer.from('%PDF-1.7');
    const deps = { resolveMedia: async () => ({ data, mimeType: 'application/pdf' }), lookupKey: noKeys };
    expect(
      await toBaileysContent(
        { type: 'document', document: { mediaId: 'med_1', filename: 'receita.pdf', caption: 'Receita' } },
        deps,
      ),
    ).toEqual({ document: data, mimetype: 'application/pdf', fileName: 'receita.pdf', caption: 'Receita' });
    expect(await toBaileysContent({ type: 'audio', audio: { mediaId: 'med_2' } }, deps)).toEqual({
      audio: data,
      mimetype: 'application/pdf',
    });
  });
});

describe('inbound messages', () => {
  const base = {
    key: {
      remoteJid: '5511987654321@s.whatsapp.net',
      remoteJidAlt: '123456789012345@lid',
      fromMe: false,
      id: 'WA1',
    },
    messageTimestamp: 1_764_410_000,
  };

  it('gives a patient’s text with phone number, LID, time and the message it replies to', () => {
    const message = {
      ...base,
      message: { extendedTextMessage: { text: 'Confirmo', contextInfo: { stanzaId: 'WA0' } } },
    } as WAMessage;
    expect(toReceivedMessage(message)).toEqual({
      messageId: 'WA1',
      from: { phoneNumber: '+5511987654321', lid: '123456789012345@lid' },
      timestamp: new Date(1_764_410_000_000).toISOString(),
      type: 'text',
      content: { body: 'Confirmo' },
      context: { messageId: 'WA0' },
    });
  });

  it('refers to received media by id and describes it', () => {
    const message = {
      ...base,
      message: { imageMessage: { mimetype: 'image/jpeg', caption: 'Exame' } },
    } as WAMessage;
    expect(mediaOf(message)).toEqual({ kind: 'image', mimeType: 'image/jpeg', declaredBytes: null });
    expect(toReceivedMessage(message, { mediaId: 'med_9' })?.content).toEqual({
      mediaId: 'med_9',
      mimeType: 'image/jpeg',
      caption: 'Exame',
    });
  });

  it('gives the declared size of received media, and says why media has no bytes', () => {
    const message = {
      ...base,
      message: {
        documentMessage: { mimetype: 'application/pdf', fileName: 'exame.pdf', fileLength: 314_572_800 },
      },
    } as WAMessage;
    expect(mediaOf(message)).toEqual({
      kind: 'document',
      mimeType: 'application/pdf',
      fileName: 'exame.pdf',
      declaredBytes: 314_572_800,
    });
    expect(toReceivedMessage(message, { mediaError: 'too_large' })?.content).toEqual({
      mediaId: null,
      mediaError: 'too_large',
      mimeType: 'application/pdf',
      filename: 'exame.pdf',
    });
  });

  it('keeps a coordinate a store can hold: NaN or Infinity from a sender’s client become null', () => {
    const message = {
      ...base,
      message: { locationMessage: { degreesLatitude: Number.NaN, degreesLongitude: -46.6 } },
    } as WAMessage;
    expect(toReceivedMessage(message)?.content).toEqual({ latitude: null, longitude: -46.6 });
    const infinite = {
      ...base,
      message: { locationMessage: { degreesLatitude: -23.5, degreesLongitude: Number.POSITIVE_INFINITY } },
    } as WAMessage;
    expect(toReceivedMessage(infinite)?.content).toEqual({ latitude: -23.5, longitude: null });
  });

  it('ignores own, group and broadcast messages', () => {
    const text = { conversation: 'x' };
    expect(
      toReceivedMessage({ ...base, key: { ...base.key, fromMe: true }, message: text } as WAMessage),
    ).toBeNull();
    expect(
      toReceivedMessage({ ...base, key: { remoteJid: '1203@g.us', id: 'G' }, message: text } as WAMessage),
    ).toBeNull();
    expect(
      toReceivedMessage({
        ...base,
        key: { remoteJid: 'status@broadcast', id: 'S' },
        message: text,
      } as WAMessage),
    ).toBeNull();
  });

  it('reads the phone number and LID whichever of the two addresses the chat', () => {
    expect(addressOf('123456789012345@lid', '5511987654321@s.whatsapp.net')).toEqual({
      phoneNumber: '+5511987654321',
      lid: '123456789012345@lid',
    });
    expect(addressOf('5511987654321:2@s.whatsapp.net')).toEqual({ phoneNumber: '+5511987654321', lid: null });
  });
});
