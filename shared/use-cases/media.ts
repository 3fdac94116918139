import { NotFoundError } from '../domain/errors.ts';
import {
  DIRECT_UPLOAD_MAX_BYTES,
  MEDIA_URL_TTL_SECONDS,
  type NewMedia,
  validateNewMedia,
} from '../domain/media.ts';
import type { MediaDescription, MediaStore } from '../ports.ts';

export interface MediaDependencies {
  readonly media: MediaStore;
  readonly now?: () => Date;
}

export interface StoredMediaView extends MediaDescription {
  readonly mediaId: string;
}

/** Stores a file sent in the request itself (small files); its id is what a send refers to. */
export async function uploadMedia(
  deps: MediaDependencies,
  tenantId: string,
  file: { data: Buffer; mimeType: string; fileName: string | null },
): Promise<StoredMediaView> {
  const media = validateNewMedia({ ...file, size: file.data.length }, DIRECT_UPLOAD_MAX_BYTES);
  const mediaId = await deps.media.put(tenantId, {
    data: file.data,
    mimeType: media.mimeType,
    fileName: media.fileName,
  });
  return { mediaId, mimeType: media.mimeType, fileName: media.fileName, size: media.size };
}

/** Reserves a media id for a large file and hands out where to upload it (one PUT, `size` bytes). */
export async function startMediaUpload(deps: MediaDependencies, tenantId: string, file: NewMedia) {
  const media = validateNewMedia(file);
  const upload = await deps.media.presignUpload(tenantId, media, MEDIA_URL_TTL_SECONDS);
  return {
    mediaId: upload.mediaId,
    mimeType: media.mimeType,
    fileName: media.fileName,
    size: media.size,
    upload: { method: 'PUT' as const, url: upload.url, headers: upload.headers },
    expiresAt: expiry(deps),
  };
}

/** A stored file of the tenant with a short-lived download URL. */
export async function getMediaDownload(deps: MediaDependencies, tenantId: string, mediaId: string) {
  const media = await deps.media.describe(tenantId, mediaId);
  if (!media) throw new NotFoundError('media', mediaId);
  const url = await deps.media.presignDownload(tenantId, mediaId, MEDIA_URL_TTL_SECONDS);
  return { mediaId, ...media, url, expiresAt: expiry(deps) };
}

function expiry(deps: MediaDependencies): string {
  return new Date((deps.now?.() ?? new Date()).getTime() + MEDIA_URL_TTL_SECONDS * 1000).toISOString();
}
