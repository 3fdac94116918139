import { MediaTooLargeError, ValidationError } from './errors.ts';

/** The largest file a clinic can send: WhatsApp's document limit. */
export const MEDIA_MAX_BYTES = 100 * 1024 * 1024;
/**
 * The largest file uploaded in the request itself: a Lambda request carries at most 6 MB, and
 * API Gateway hands binary bodies over base64-encoded (4/3 larger). Larger files go straight to
 * the store through a presigned upload.
 */
export const DIRECT_UPLOAD_MAX_BYTES = 4 * 1024 * 1024;
/** How long a presigned upload or download URL works. */
export const MEDIA_URL_TTL_SECONDS = 300;

const MEDIA_TYPE = /^[\w.+-]+\/[\w.+-]+$/;

export interface NewMedia {
  readonly mimeType: string;
  readonly fileName: string | null;
  readonly size: number;
}

/** A file a clinic may store for sending: a plain media type, a name of at most 255 characters. */
export function validateNewMedia(media: NewMedia, maxBytes = MEDIA_MAX_BYTES): NewMedia {
  const issues = [];
  const mimeType = media.mimeType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (!MEDIA_TYPE.test(mimeType) || mimeType.length > 255) {
    issues.push({ field: 'mimeType', message: 'must be a media type such as image/jpeg' });
  }
  if (media.fileName !== null && (media.fileName.length < 1 || media.fileName.length > 255)) {
    issues.push({ field: 'fileName', message: 'must have 1 to 255 characters' });
  }
  if (!Number.isInteger(media.size) || media.size < 1) {
    issues.push({ field: 'size', message: 'must be a positive number of bytes' });
  }
  if (issues.length) throw new ValidationError('The media is not valid', issues);
  if (media.size > maxBytes) throw new MediaTooLargeError(maxBytes);
  return { ...media, mimeType };
}

/** The types of received messages whose content is a file. */
export const RECEIVED_MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const;
export type ReceivedMediaType = (typeof RECEIVED_MEDIA_TYPES)[number];

/**
 * Why a received message's file has no bytes in the store: over the tenant's cap, not to be had
 * from WhatsApp's media host (after retries), or refused by the store for what it is.
 */
export type ReceivedMediaError = 'too_large' | 'download_failed' | 'rejected';

/**
 * A received file as its record and its event carry it, under its type's key: the store's id with
 * the size and SHA-256 (hex) of the bytes stored, or, when the file could not be stored, a null id
 * and `mediaError`. A short-lived download URL is added only when an event leaves the platform
 * (`withMediaLinks`): never stored, as a presigned URL is a bearer credential.
 */
export interface ReceivedMedia {
  readonly mediaId: string | null;
  readonly mediaError?: ReceivedMediaError;
  /** As the sender's phone declared it. */
  readonly mimeType: string;
  readonly sha256: string | null;
  readonly size: number | null;
  /** The name the patient's phone gave the file (documents), null when none; as `GET /v1/media` names it. */
  readonly fileName: string | null;
  readonly caption?: string;
}
