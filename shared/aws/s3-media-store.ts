import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { MediaTooLargeError, StoreRejectedError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { MediaDescription, MediaStore, MediaStream, StoredMedia, StoredMediaObject } from '../ports.ts';

/**
 * A streamed upload holds at most `queueSize` parts of `partSize` in memory (S3's smallest part is
 * 5 MiB); a file smaller than one part goes up in a single PutObject.
 */
const PART_BYTES = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;
/** S3 keeps at most 2 KB of user metadata (names and values); the file name takes at most half. */
const FILE_NAME_METADATA_BYTES = 1024;
/** A media type with parameters (`audio/ogg; codecs=opus`), in the characters a header may carry. */
const MEDIA_TYPE =
  /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(?:[ \t]*;[ \t]*[\w!#$&^.+-]+=(?:[\w!#$&^.+-]+|"[ !#-[\]-~]*"))*$/;
/**
 * What S3 answers to a request it will refuse however often it is sent (as opposed to an outage,
 * throttling, `RequestTimeout`, an expired token, or a permission or bucket that is missing — a
 * configuration to fix, during which records wait rather than lose their files).
 */
const REFUSALS = new Set(['MetadataTooLarge', 'InvalidArgument', 'EntityTooLarge', 'KeyTooLongError']);

/** Media bytes in S3 under the tenant's prefix, so one tenant's id never reaches another's object. */
export class S3MediaStore implements MediaStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async put(tenantId: string, media: StoredMedia): Promise<string> {
    const mediaId = newId('media');
    await refusalsRejected(() =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: objectKey(tenantId, mediaId),
          Body: media.data,
          ...objectHeaders(media),
        }),
      ),
    );
    return mediaId;
  }

  async putStream(tenantId: string, media: MediaStream): Promise<StoredMediaObject> {
    const mediaId = newId('media');
    const counted = new CountedBytes();
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: objectKey(tenantId, mediaId),
        Body: Readable.from(counted.through(capped(media.body, media.maxBytes)), { objectMode: false }),
        ...objectHeaders(media),
      },
      partSize: PART_BYTES,
      queueSize: PARTS_IN_FLIGHT,
      // A failed multipart upload is aborted: no parts (nor object) are left behind.
      leavePartsOnError: false,
    });
    await refusalsRejected(() => upload.done());
    return { mediaId, ...counted.result() };
  }

  async get(tenantId: string, mediaId: string): Promise<StoredMedia | null> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey(tenantId, mediaId) }),
      );
      return {
        data: Buffer.from((await object.Body?.transformToByteArray()) ?? []),
        ...storedHeaders(object),
      };
    } catch (error) {
      if (error instanceof NoSuchKey) return null;
      throw error;
    }
  }

  async describe(tenantId: string, mediaId: string): Promise<MediaDescription | null> {
    try {
      const object = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey(tenantId, mediaId) }),
      );
      return { ...storedHeaders(object), size: object.ContentLength ?? 0 };
    } catch (error) {
      if (error instanceof NotFound || error instanceof NoSuchKey) return null;
      throw error;
    }
  }

  async presignUpload(
    tenantId: string,
    media: { mimeType: string; fileName: string | null; size: number },
    expiresInSeconds: number,
  ): Promise<{ mediaId: string; url: string; headers: Record<string, string> }> {
    const mediaId = newId('media');
    const headers = objectHeaders(media);
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: objectKey(tenantId, mediaId),
      ContentLength: media.size,
      ...headers,
    });
    // The type and length are signed: S3 refuses an upload of other bytes than were announced. The
    // file name stays a header (signed, not hoisted into the URL), so it never reaches access logs.
    const url = await getSignedUrl(this.client, command, {
      expiresIn: expiresInSeconds,
      signableHeaders: new Set(['content-type', 'content-length']),
      unhoistableHeaders: new Set(['x-amz-meta-filename']),
    });
    return {
      mediaId,
      url,
      headers: {
        'content-type': headers.ContentType,
        'content-length': String(media.size),
        ...(headers.Metadata ? { 'x-amz-meta-filename': headers.Metadata.filename } : {}),
      },
    };
  }

  presignDownload(tenantId: string, mediaId: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({ Bucket: this.bucket, Key: objectKey(tenantId, mediaId) }),
      { expiresIn: expiresInSeconds },
    );
  }
}

/** The content type and file name an object was stored with (the inverse of `objectHeaders`). */
function storedHeaders(object: { ContentType?: string; Metadata?: Record<string, string> }) {
  const fileName = object.Metadata?.filename;
  return {
    mimeType: object.ContentType ?? 'application/octet-stream',
    fileName: fileName ? decodeURIComponent(fileName) : null,
  };
}

/** Content type and file name as S3 takes them: a valid media type, a name that fits the metadata. */
function objectHeaders(media: { mimeType: string; fileName: string | null }) {
  const contentType = MEDIA_TYPE.test(media.mimeType) && media.mimeType.length <= 255;
  return {
    ContentType: contentType ? media.mimeType : 'application/octet-stream',
    ...(media.fileName ? { Metadata: { filename: fileNameMetadata(media.fileName) } } : {}),
  };
}

/**
 * The file name URI-encoded (metadata is ASCII), at most `FILE_NAME_METADATA_BYTES`: a longer one
 * keeps its extension and as much of the start as fits, with `…` between.
 */
export function fileNameMetadata(fileName: string): string {
  // A lone surrogate (a name decoded from bad UTF-8) would make encodeURIComponent throw.
  const name = fileName.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    '\uFFFD',
  );
  const encoded = encodeURIComponent(name);
  if (encoded.length <= FILE_NAME_METADATA_BYTES) return encoded;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  const tail = encodeURIComponent(`…${extension}`);
  let head = '';
  for (const character of name.slice(0, name.length - extension.length)) {
    const next = encodeURIComponent(character);
    if (head.length + next.length + tail.length > FILE_NAME_METADATA_BYTES) break;
    head += next;
  }
  return head + tail;
}

/** Runs an S3 write; a refusal of what it would store becomes `StoreRejectedError`. */
async function refusalsRejected<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof S3ServiceException && REFUSALS.has(error.name))
      throw new StoreRejectedError('S3', error);
    throw error;
  }
}

/**
 * The size and SHA-256 of a stream as it passes, so a stored file's digest costs no second read.
 * Only a stream read to its end has them: the upload reads its body whole before it completes.
 */
class CountedBytes {
  private readonly hash = createHash('sha256');
  private size = 0;
  private ended = false;

  async *through(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    for await (const chunk of body) {
      this.hash.update(chunk);
      this.size += chunk.byteLength;
      yield chunk;
    }
    this.ended = true;
  }

  result(): { size: number; sha256: string } {
    if (!this.ended) throw new Error('the upload completed before its body was read to the end');
    return { size: this.size, sha256: this.hash.digest('hex') };
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
