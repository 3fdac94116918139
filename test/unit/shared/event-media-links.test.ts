import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3MediaStore } from '#shared/aws/s3-media-store.ts';
import { type PlatformEvent, platformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import { MEDIA_URL_TTL_SECONDS } from '#shared/domain/media.ts';
import { withMediaLinks } from '#shared/use-cases/event-media-links.ts';

// The real store presigns without calling S3 (a signature is computed locally): no emulator needed.
const store = new S3MediaStore(
  new S3Client({
    region: 'sa-east-1',
    endpoint: 'http://127.0.0.1:9',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  }),
  'media-bucket',
);
const tenantId = newId('tenant');
const NOW = new Date('2026-12-01T09:30:00.000Z');

function received(type: string, content: Record<string, unknown>) {
  return platformEvent(
    'message.received',
    { tenantId, channelId: newId('channel') },
    {
      messageId: newId('message'),
      from: { phoneNumber: '+5511987654321', lid: null, name: 'Maria Quintela' },
      timestamp: NOW.toISOString(),
      type,
      content,
    },
    NOW,
  );
}

describe('download URLs of received files', () => {
  it('adds a URL to the tenant’s object, valid for the media TTL, to a copy of the event', async () => {
    const mediaId = newId('media');
    const file = { mediaId, mimeType: 'image/jpeg', sha256: 'ab'.repeat(32), size: 1_024, fileName: null };
    const event = received('image', { image: file });
    const before = structuredClone(event);

    const linked = await withMediaLinks(event, store, NOW);

    const image = linked.data.content.image as typeof file & { url: string; urlExpiresAt: string };
    expect(image).toEqual({ ...file, url: expect.any(String), urlExpiresAt: '2026-12-01T09:35:00.000Z' });
    const url = new URL(image.url);
    expect(url.pathname).toBe(`/media-bucket/media/${tenantId}/${mediaId}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe(String(MEDIA_URL_TTL_SECONDS));
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect({ ...linked, data: { ...linked.data, content: { image: file } } }).toEqual(event);
    // The event it was given (what is stored) is left as it was.
    expect(event).toEqual(before);
  });

  it('adds one to every kind of file, and to nothing else', async () => {
    for (const type of ['video', 'audio', 'document', 'sticker']) {
      const event = received(type, { [type]: { mediaId: newId('media'), mimeType: 'x/y' } });
      expect((await withMediaLinks(event, store, NOW)).data.content[type]).toHaveProperty('url');
    }
    const untouched: PlatformEvent[] = [
      received('text', { text: { body: 'Posso remarcar?' } }),
      received('location', { location: { latitude: -23.5, longitude: -46.6 } }),
      // A file that was not stored, a content kept apart, an id the store never made.
      received('document', {
        document: { mediaId: null, mediaError: 'too_large', mimeType: 'application/pdf' },
      }),
      received('text', { text: { contentMediaId: newId('media'), contentBytes: 300_000 } }),
      received('image', { image: { mediaId: '../other-tenant/med_1', mimeType: 'image/jpeg' } }),
      platformEvent(
        'channel.status',
        { tenantId, channelId: null },
        { status: 'open', previousStatus: 'qr' },
      ),
    ];
    for (const event of untouched) expect(await withMediaLinks(event, store, NOW)).toBe(event);
  });
});
