import { createHash } from 'node:crypto';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createS3Client } from '#shared/aws/clients.ts';
import { S3MediaStore } from '#shared/aws/s3-media-store.ts';
import { loadAwsConfig } from '#shared/config.ts';
import { MediaTooLargeError } from '#shared/domain/errors.ts';
import { newId } from '#shared/domain/ids.ts';
import { emulatorEnvironment, platformRepositories } from './support/platform.ts';

const { resources } = platformRepositories();
const s3 = createS3Client(loadAwsConfig(emulatorEnvironment()));
const store = new S3MediaStore(s3, resources.mediaBucket);
const MiB = 1024 * 1024;

/** `total` bytes in 64 KiB chunks, made as they are read; each chunk's bytes say where it is. */
async function* generated(total: number, failAt?: number): AsyncIterable<Uint8Array> {
  for (let offset = 0; offset < total; offset += 64 * 1024) {
    if (failAt !== undefined && offset >= failAt) throw new Error('connection reset by the media host');
    yield Buffer.alloc(Math.min(64 * 1024, total - offset), offset / (64 * 1024));
  }
}

async function leftovers(tenantId: string) {
  const objects = await s3.send(
    new ListObjectsV2Command({ Bucket: resources.mediaBucket, Prefix: `media/${tenantId}/` }),
  );
  const uploads = await s3.send(
    new ListMultipartUploadsCommand({ Bucket: resources.mediaBucket, Prefix: `media/${tenantId}/` }),
  );
  return { objects: objects.KeyCount ?? 0, uploads: uploads.Uploads?.length ?? 0 };
}

describe('streamed media', () => {
  it('stores a stream of several parts byte for byte, and answers its size and SHA-256', async () => {
    const tenantId = newId('tenant');
    const { mediaId, size, sha256 } = await store.putStream(tenantId, {
      body: generated(12 * MiB + 123),
      mimeType: 'application/pdf',
      fileName: 'exame completo.pdf',
      maxBytes: 100 * MiB,
    });
    const stored = await store.get(tenantId, mediaId);
    expect(stored?.fileName).toBe('exame completo.pdf');
    const chunks: Uint8Array[] = [];
    for await (const chunk of generated(12 * MiB + 123)) chunks.push(chunk);
    expect(stored?.data.equals(Buffer.concat(chunks))).toBe(true);
    // What was stored, read back from S3: not what the stream was meant to hold.
    expect(size).toBe(stored?.data.length);
    expect(size).toBe(12 * MiB + 123);
    expect(sha256).toBe(
      createHash('sha256')
        .update(stored?.data ?? Buffer.alloc(0))
        .digest('hex'),
    );
    expect((await store.describe(tenantId, mediaId))?.size).toBe(size);
  });

  it('answers the size and SHA-256 of a file smaller than one part (one PutObject), and of an empty one', async () => {
    const tenantId = newId('tenant');
    const photo = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(70_000, 3)]);
    async function* twoChunks() {
      yield photo.subarray(0, 1_000);
      yield photo.subarray(1_000);
    }
    const small = await store.putStream(tenantId, {
      body: twoChunks(),
      mimeType: 'image/jpeg',
      fileName: null,
      maxBytes: MiB,
    });
    expect(small).toEqual({
      mediaId: expect.stringMatching(/^med_/),
      size: photo.length,
      sha256: createHash('sha256').update(photo).digest('hex'),
    });
    expect((await store.get(tenantId, small.mediaId))?.data.equals(photo)).toBe(true);

    const empty = await store.putStream(tenantId, {
      body: generated(0),
      mimeType: 'text/plain',
      fileName: null,
      maxBytes: MiB,
    });
    expect(empty).toMatchObject({
      size: 0,
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    });
  });

  it('keeps a file name too long for S3’s metadata shortened, and an invalid type as bytes', async () => {
    const tenantId = newId('tenant');
    // 3 KB once URI-encoded (each ç takes six bytes): S3 keeps at most 2 KB of metadata.
    const fileName = `resultado-${'ç'.repeat(500)}.pdf`;
    const stored = [
      await store.put(tenantId, { data: Buffer.from('%PDF'), mimeType: 'application/pdf', fileName }),
      (
        await store.putStream(tenantId, {
          body: generated(64 * 1024),
          mimeType: 'application/pdf\r\nx-evil: 1',
          fileName,
          maxBytes: MiB,
        })
      ).mediaId,
    ];
    const [whole, streamed] = await Promise.all(stored.map((mediaId) => store.get(tenantId, mediaId)));
    const shortened = `resultado-${'ç'.repeat(166)}….pdf`;
    expect(Buffer.byteLength(encodeURIComponent(shortened))).toBeLessThanOrEqual(1024);
    expect(whole).toMatchObject({ fileName: shortened, mimeType: 'application/pdf' });
    expect(streamed).toMatchObject({ fileName: shortened, mimeType: 'application/octet-stream' });
  });

  it('stops at the cap while streaming and leaves nothing behind', async () => {
    const tenantId = newId('tenant');
    await expect(
      store.putStream(tenantId, {
        body: generated(20 * MiB),
        mimeType: 'video/mp4',
        fileName: null,
        maxBytes: 11 * MiB,
      }),
    ).rejects.toBeInstanceOf(MediaTooLargeError);
    expect(await leftovers(tenantId)).toEqual({ objects: 0, uploads: 0 });
  });

  it('rethrows the source’s own failure and leaves nothing behind', async () => {
    const tenantId = newId('tenant');
    await expect(
      store.putStream(tenantId, {
        body: generated(20 * MiB, 7 * MiB),
        mimeType: 'video/mp4',
        fileName: null,
        maxBytes: 100 * MiB,
      }),
    ).rejects.toThrow('connection reset by the media host');
    expect(await leftovers(tenantId)).toEqual({ objects: 0, uploads: 0 });
  });
});
