import { describe, expect, it } from 'vitest';
import {
  channelCommandSchema,
  commandDeadline,
  DEFAULT_COMMAND_TTL_MS,
  readCommandEnvelope,
} from '#shared/domain/commands.ts';
import { newId } from '#shared/domain/ids.ts';
import { OUTBOUND_MESSAGE_TYPES, outboundMessageSchema } from '#shared/domain/outbound-message.ts';

describe('outbound messages', () => {
  it('accepts every message type of the API contract', () => {
    expect(OUTBOUND_MESSAGE_TYPES).toEqual([
      'text',
      'image',
      'document',
      'audio',
      'video',
      'location',
      'contacts',
      'reaction',
    ]);
    const to = '+5511987654321';
    const repliedTo = newId('message');
    const valid = [
      { to, type: 'text', text: { body: 'Sua consulta é amanhã às 9h.' }, context: { messageId: repliedTo } },
      { to, type: 'image', image: { mediaId: newId('media'), caption: 'Raio-X' } },
      {
        to,
        type: 'document',
        document: { link: 'https://example.org/receita.pdf', filename: 'receita.pdf' },
      },
      { to, type: 'audio', audio: { mediaId: newId('media') } },
      { to, type: 'video', video: { mediaId: newId('media') } },
      { to, type: 'location', location: { latitude: -23.56, longitude: -46.65, name: 'Clínica' } },
      {
        to,
        type: 'contacts',
        contacts: [{ name: { formattedName: 'Dra. Ana' }, phones: [{ phone: '+5511912345678' }] }],
      },
      { to, type: 'reaction', reaction: { messageId: repliedTo, emoji: '👍' } },
    ];
    for (const message of valid) expect(outboundMessageSchema.safeParse(message).success).toBe(true);
  });

  it('names the failing field of a bad message', () => {
    const cases: [unknown, string][] = [
      [{ to: '11987654321', type: 'text', text: { body: 'x' } }, 'to'],
      [{ to: '+5511987654321', type: 'text', text: { body: '' } }, 'text.body'],
      [{ to: '+5511987654321', type: 'image', image: { caption: 'no source' } }, 'image'],
      [
        {
          to: '+5511987654321',
          type: 'image',
          image: { mediaId: newId('media'), link: 'https://x.org/a.png' },
        },
        'image',
      ],
      [
        { to: '+5511987654321', type: 'location', location: { latitude: 91, longitude: 0 } },
        'location.latitude',
      ],
      // Replies and reactions name one of our messages; anything else could not even be looked up.
      [
        { to: '+5511987654321', type: 'reaction', reaction: { messageId: 'msg_1', emoji: '👍' } },
        'reaction.messageId',
      ],
      [
        {
          to: '+5511987654321',
          type: 'text',
          text: { body: 'x' },
          context: { messageId: 'm'.repeat(2_000) },
        },
        'context.messageId',
      ],
      [
        {
          to: '+5511987654321',
          type: 'image',
          image: { link: `https://example.org/${'a'.repeat(400_000)}` },
        },
        'image.link',
      ],
    ];
    for (const [message, field] of cases) {
      const result = outboundMessageSchema.safeParse(message);
      expect(result.success).toBe(false);
      expect(result.error?.issues.map((issue) => issue.path.join('.'))).toContain(field);
    }
    expect(outboundMessageSchema.safeParse({ to: '+5511987654321', type: 'sticker' }).success).toBe(false);
  });
});

describe('channel commands', () => {
  const base = {
    commandId: newId('command'),
    tenantId: newId('tenant'),
    channelId: newId('channel'),
    issuedAt: '2026-11-29T10:00:00.000Z',
  };

  it('parses a send carrying its message', () => {
    const command = channelCommandSchema.parse({
      ...base,
      type: 'send',
      messageId: newId('message'),
      message: { to: '+5511987654321', type: 'text', text: { body: 'Olá' } },
    });
    expect(command.type).toBe('send');
  });

  it('rejects an unknown command type and a pairing number that is not E.164', () => {
    expect(channelCommandSchema.safeParse({ ...base, type: 'reboot' }).success).toBe(false);
    expect(
      channelCommandSchema.safeParse({
        ...base,
        type: 'connect',
        method: 'pairing_code',
        phoneNumber: '5511',
      }).success,
    ).toBe(false);
  });

  it('refuses ids that are not of their kind, or of any size beyond one, naming each field', () => {
    const send = {
      ...base,
      type: 'send',
      messageId: newId('message'),
      message: { to: '+5511987654321', type: 'text', text: { body: 'Olá' } },
    };
    const huge = 'x'.repeat(300 * 1024);
    const forged = channelCommandSchema.safeParse({
      ...send,
      commandId: huge,
      tenantId: newId('channel'),
      channelId: `${base.channelId}#`,
      messageId: 'msg_1',
    });
    expect(forged.error?.issues.map((issue) => issue.path.join('.')).sort()).toEqual([
      'channelId',
      'commandId',
      'messageId',
      'tenantId',
    ]);
    expect(channelCommandSchema.safeParse(send).success).toBe(true);
  });

  it('reads whom a broken command is for, and nothing when even that is not there', () => {
    const messageId = newId('message');
    expect(readCommandEnvelope({ ...base, type: 'send', messageId, message: 'garbage' })).toEqual({
      ...base,
      type: 'send',
      messageId,
    });
    expect(readCommandEnvelope({ ...base, messageId: 'not-an-id' })).toEqual(base);
    expect(readCommandEnvelope({ ...base, tenantId: 'x'.repeat(1000) })).toBeNull();
    expect(readCommandEnvelope('not an object')).toBeNull();
  });

  it('gives up a command a day after it was issued, or at its own expiry', () => {
    expect(commandDeadline(base)).toBe(Date.parse(base.issuedAt) + DEFAULT_COMMAND_TTL_MS);
    expect(commandDeadline({ ...base, expiresAt: '2026-11-29T10:05:00.000Z' })).toBe(
      Date.parse('2026-11-29T10:05:00.000Z'),
    );
  });
});
