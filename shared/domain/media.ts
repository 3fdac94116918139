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
