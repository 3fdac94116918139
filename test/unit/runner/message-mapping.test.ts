import type { WAMessage } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { addressOf, mediaOf, toReceivedMessage } from '#runner/messages/inbound-message.ts';
import { toBaileysContent, UnknownReferencedMessageError } from '#runner/messages/outbound-content.ts';
import { receivedMessageData } from '#shared/domain/message.ts';

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
    pushName: 'Maria Quintela',
  };
  const from = { phoneNumber: '+5511987654321', lid: '123456789012345@lid', name: 'Maria Quintela' };
  const photo = { mediaId: 'med_9', size: 184_320, sha256: 'ab'.repeat(32) };

  /** The `message.received` data of the message as the recorder makes it: from its record. */
  function eventDataOf(message: WAMessage, media?: Parameters<typeof toReceivedMessage>[1]) {
    const received = toReceivedMessage(message, media);
    if (!received) throw new Error('not a patient’s message');
    const record = { id: 'msg_1', contact: received.from, type: received.type, content: received.content };
    return receivedMessageData(record, { timestamp: received.timestamp });
  }

  it('gives a patient’s text with phone number, LID, push name, time and the message it replies to', () => {
    const message = {
      ...base,
      message: { extendedTextMessage: { text: 'Confirmo', contextInfo: { stanzaId: 'WA0' } } },
    } as WAMessage;
    expect(toReceivedMessage(message)).toEqual({
      messageId: 'WA1',
      from,
      timestamp: new Date(1_764_410_000_000).toISOString(),
      type: 'text',
      content: { body: 'Confirmo' },
      context: { messageId: 'WA0' },
    });
    expect(eventDataOf(message)).toEqual({
      messageId: 'msg_1',
      from,
      timestamp: new Date(1_764_410_000_000).toISOString(),
      type: 'text',
      content: { text: { body: 'Confirmo' } },
    });
    expect(eventDataOf({ ...base, message: { conversation: 'Oi' } } as WAMessage).content).toEqual({
      text: { body: 'Oi' },
    });
  });

  it('names the patient by push name, null when their phone sent none', () => {
    const text = { conversation: 'Oi' };
    expect(toReceivedMessage({ ...base, message: text } as WAMessage)?.from.name).toBe('Maria Quintela');
    const { pushName: _, ...nameless } = base;
    expect(toReceivedMessage({ ...nameless, message: text } as WAMessage)?.from).toEqual({
      ...from,
      name: null,
    });
    expect(eventDataOf({ ...base, pushName: '', message: text } as WAMessage).from.name).toBeNull();
  });

  it('refers to received media by id with the size and SHA-256 stored, under its type', () => {
    const message = {
      ...base,
      message: { imageMessage: { mimetype: 'image/jpeg', caption: 'Exame' } },
    } as WAMessage;
    expect(mediaOf(message)).toEqual({ kind: 'image', mimeType: 'image/jpeg', declaredBytes: null });
    const image = {
      mediaId: 'med_9',
      mimeType: 'image/jpeg',
      sha256: 'ab'.repeat(32),
      size: 184_320,
      fileName: null,
      caption: 'Exame',
    };
    expect(toReceivedMessage(message, photo)?.content).toEqual(image);
    expect(eventDataOf(message, photo)).toMatchObject({ type: 'image', content: { image } });
    for (const [kind, type] of [
      ['videoMessage', 'video'],
      ['audioMessage', 'audio'],
      ['stickerMessage', 'sticker'],
    ] as const) {
      const data = eventDataOf({ ...base, message: { [kind]: { mimetype: 'x/y' } } } as WAMessage, photo);
      expect(data.type).toBe(type);
      expect(data.content).toEqual({
        [type]: { mediaId: 'med_9', mimeType: 'x/y', sha256: photo.sha256, size: photo.size, fileName: null },
      });
    }
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
    expect(eventDataOf(message, { mediaError: 'too_large' }).content).toEqual({
      document: {
        mediaId: null,
        mediaError: 'too_large',
        mimeType: 'application/pdf',
        sha256: null,
        size: null,
        fileName: 'exame.pdf',
      },
    });
  });

  it('gives a location under `location`, and a coordinate a store can hold: NaN or Infinity become null', () => {
    const place = {
      ...base,
      message: {
        locationMessage: {
          degreesLatitude: -23.5613,
          degreesLongitude: -46.6559,
          name: 'Casa',
          address: 'Rua Bela Cintra 1578',
        },
      },
    } as WAMessage;
    expect(eventDataOf(place)).toMatchObject({
      type: 'location',
      content: {
        location: { latitude: -23.5613, longitude: -46.6559, name: 'Casa', address: 'Rua Bela Cintra 1578' },
      },
    });
    const message = {
      ...base,
      message: { locationMessage: { degreesLatitude: Number.NaN, degreesLongitude: -46.6 } },
    } as WAMessage;
    expect(toReceivedMessage(message)?.content).toEqual({ latitude: null, longitude: -46.6 });
    const infinite = {
      ...base,
      message: { locationMessage: { degreesLatitude: -23.5, degreesLongitude: Number.POSITIVE_INFINITY } },
    } as WAMessage;
    expect(eventDataOf(infinite).content).toEqual({ location: { latitude: -23.5, longitude: null } });
  });

  it('gives one contact card or several as `contacts`, with each card’s name and phones', () => {
    const card = (name: string, phone: string) => ({
      displayName: name,
      vcard: `BEGIN:VCARD\nVERSION:3.0\nFN:${name}\nTEL;type=CELL;waid=5521987651234:${phone}\nEND:VCARD`,
    });
    const one = {
      ...base,
      message: { contactMessage: card('Joana Prado', '+55 21 98765-1234') },
    } as WAMessage;
    expect(eventDataOf(one)).toMatchObject({
      type: 'contacts',
      content: {
        contacts: [{ name: { formattedName: 'Joana Prado' }, phones: [{ phone: '+55 21 98765-1234' }] }],
      },
    });
    const several = {
      ...base,
      message: {
        contactsArrayMessage: {
          displayName: '2 contatos',
          contacts: [card('Joana Prado', '+5521987651234'), card('Rogério Nunes', '+5531976543210')],
        },
      },
    } as WAMessage;
    expect(eventDataOf(several).content).toEqual({
      contacts: [
        { name: { formattedName: 'Joana Prado' }, phones: [{ phone: '+5521987651234' }] },
        { name: { formattedName: 'Rogério Nunes' }, phones: [{ phone: '+5531976543210' }] },
      ],
    });
  });

  it('gives a reaction under `reaction` with the WhatsApp id of the message reacted to', () => {
    const message = {
      ...base,
      message: { reactionMessage: { key: { id: 'WA0', remoteJid: base.key.remoteJid }, text: '👍' } },
    } as WAMessage;
    expect(eventDataOf(message)).toMatchObject({
      type: 'reaction',
      content: { reaction: { messageId: 'WA0', emoji: '👍' } },
    });
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
