import { Readable } from 'node:stream';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { MediaTooLargeError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { MediaStore, MediaStream, StoredMedia } from '../ports.ts';

/**
 * A streamed upload holds at most `queueSize` parts of `partSize` in memory (S3's smallest part is
 * 5 MiB); a file smaller than one part goes up in a single PutObject.
 */
const PART_BYTES = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;

/** Media bytes in S3 under the tenant's prefix, so one tenant's id never reaches another's object. */
export class S3MediaStore implements MediaStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async put(tenantId: string, media: StoredMedia): Promise<string> {
    const mediaId = newId('media');
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: objectKey(tenantId, mediaId),
        Body: media.data,
        ContentType: media.mimeType,
        ...(media.fileName ? { Metadata: { filename: encodeURIComponent(media.fileName) } } : {}),
      }),
    );
    return mediaId;
  }

  async putStream(tenantId: string, media: MediaStream): Promise<string> {
    const mediaId = newId('media');
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: objectKey(tenantId, mediaId),
        Body: Readable.from(capped(media.body, media.maxBytes), { objectMode: false }),
        ContentType: media.mimeType,
        ...(media.fileName ? { Metadata: { filename: encodeURIComponent(media.fileName) } } : {}),
      },
      partSize: PART_BYTES,
      queueSize: PARTS_IN_FLIGHT,
      // A failed multipart upload is aborted: no parts (nor object) are left behind.
      leavePartsOnError: false,
    });
    await upload.done();
    return mediaId;
  }

  async get(tenantId: string, mediaId: string): Promise<StoredMedia | null> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey(tenantId, mediaId) }),
      );
      const fileName = object.Metadata?.filename;
      return {
        data: Buffer.from((await object.Body?.transformToByteArray()) ?? []),
        mimeType: object.ContentType ?? 'application/octet-stream',
        fileName: fileName ? decodeURIComponent(fileName) : null,
      };
    } catch (error) {
      if (error instanceof NoSuchKey) return null;
      throw error;
    }
  }
}

async function* capped(body: AsyncIterable<Uint8Array>, maxBytes: number): AsyncIterable<Uint8Array> {
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.byteLength;
    if (bytes > maxBytes) throw new MediaTooLargeError(maxBytes);
    yield chunk;
  }
}

function objectKey(tenantId: string, mediaId: string): string {
  if (!/^[\w-]+$/.test(tenantId) || !/^[\w-]+$/.test(mediaId))
    throw new RangeError('invalid media reference');
  return `media/${tenantId}/${mediaId}`;
}
