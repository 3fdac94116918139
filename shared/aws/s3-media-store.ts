import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { newId } from '../domain/ids.ts';
import type { MediaStore, StoredMedia } from '../ports.ts';

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

function objectKey(tenantId: string, mediaId: string): string {
  if (!/^[\w-]+$/.test(tenantId) || !/^[\w-]+$/.test(mediaId))
    throw new RangeError('invalid media reference');
  return `media/${tenantId}/${mediaId}`;
}
