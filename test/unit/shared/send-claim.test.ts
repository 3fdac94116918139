import { describe, expect, it } from 'vitest';
import type { OutboundMessage } from '#shared/domain/outbound-message.ts';
import { sendRequestDigest } from '#shared/domain/send-claim.ts';

describe('sendRequestDigest', () => {
  const image: OutboundMessage = {
    to: '+5511987654321',
    type: 'image',
    image: { link: 'https://example.com/receita.jpg', caption: 'Receita' },
  };

  it('is the same for the same request whatever the order of its keys', () => {
    const reordered = JSON.parse(
      '{"image":{"caption":"Receita","link":"https://example.com/receita.jpg"},"type":"image","to":"+5511987654321"}',
    ) as OutboundMessage;
    expect(sendRequestDigest('chn_1', reordered)).toBe(sendRequestDigest('chn_1', image));
  });

  it('tells apart another channel, recipient or content, however deep', () => {
    const digest = sendRequestDigest('chn_1', image);
    expect(sendRequestDigest('chn_2', image)).not.toBe(digest);
    expect(sendRequestDigest('chn_1', { ...image, to: '+5511987654322' })).not.toBe(digest);
    expect(sendRequestDigest('chn_1', { ...image, image: { ...image.image, caption: 'Receita.' } })).not.toBe(
      digest,
    );
  });
});
