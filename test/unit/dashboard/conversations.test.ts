import { describe, expect, it } from 'vitest';
import { type ConversationSource, conversationsOf, previewOf } from '../../../dashboard/src/conversations.ts';

const message = (
  id: string,
  phoneNumber: string | null,
  createdAt: string,
  extra: Partial<ConversationSource> = {},
): ConversationSource => ({
  id,
  direction: 'inbound',
  contact: { phoneNumber, lid: phoneNumber ? null : `${id}@lid` },
  type: 'text',
  text: { body: id },
  createdAt,
  ...extra,
});

describe('conversations of a channel', () => {
  it('are one per contact, the latest first, each with its last message and count', () => {
    const messages = [
      message('a1', '+5511900000001', '2026-01-01T10:00:00.000Z'),
      message('b1', '+5511900000002', '2026-01-01T11:00:00.000Z'),
      message('a2', '+5511900000001', '2026-01-01T12:00:00.000Z', { direction: 'outbound' }),
      message('c1', null, '2026-01-01T09:00:00.000Z'),
    ];
    expect(
      conversationsOf(messages).map(({ contact, last, count }) => ({ contact, last: last.id, count })),
    ).toEqual([
      { contact: '+5511900000001', last: 'a2', count: 2 },
      { contact: '+5511900000002', last: 'b1', count: 1 },
      { contact: 'c1@lid', last: 'c1', count: 1 },
    ]);
  });

  it('preview a text, a caption, or name the kind', () => {
    expect(previewOf(message('x', '+5511900000001', '2026-01-01T10:00:00.000Z'))).toEqual({
      text: 'x',
      kind: 'text',
    });
    expect(
      previewOf({ ...message('y', null, ''), type: 'image', image: { mediaId: 'med_1', caption: 'exame' } }),
    ).toEqual({ text: 'exame', kind: 'image' });
    expect(previewOf({ ...message('z', null, ''), type: 'audio', audio: { mediaId: 'med_2' } })).toEqual({
      text: null,
      kind: 'audio',
    });
  });
});
