import type { PlatformEvent } from '../domain/events.ts';
import { isId } from '../domain/ids.ts';
import { MEDIA_URL_TTL_SECONDS, RECEIVED_MEDIA_TYPES, type ReceivedMedia } from '../domain/media.ts';
import type { MediaStore } from '../ports.ts';

/** A received file as it leaves the platform: with a download URL and when that URL stops working. */
export interface LinkedReceivedMedia extends ReceivedMedia {
  readonly url: string;
  readonly urlExpiresAt: string;
}

/**
 * An event as it leaves the platform — each try of a webhook delivery, each page of `GET /v1/events`
 * — with a download URL for a received file (`url`, valid `MEDIA_URL_TTL_SECONDS`, until
 * `urlExpiresAt`), presigned afresh each time. Never stored: the event log and the deliveries keep
 * events for the tenant's retention, and a presigned URL is a bearer credential to a patient's file
 * that a stored copy would hand out long after it was meant to. A file that was not stored
 * (`mediaError`) and every other event go out as they are.
 */
export async function withMediaLinks<E extends PlatformEvent>(
  event: E,
  media: Pick<MediaStore, 'presignDownload'>,
  now: Date,
): Promise<E> {
  if (!isReceived(event)) return event;
  const { data } = event;
  if (!(RECEIVED_MEDIA_TYPES as readonly string[]).includes(data.type)) return event;
  const file = data.content[data.type] as Partial<ReceivedMedia> | undefined;
  // An id the store would refuse to look up (only our own records' ids are valid) gets no URL.
  if (typeof file?.mediaId !== 'string' || !isId('media', file.mediaId)) return event;
  // From the clock before the URL is signed: the URL works at least until then.
  const urlExpiresAt = new Date(now.getTime() + MEDIA_URL_TTL_SECONDS * 1000).toISOString();
  const url = await media.presignDownload(event.tenantId, file.mediaId, MEDIA_URL_TTL_SECONDS);
  return {
    ...event,
    data: { ...data, content: { ...data.content, [data.type]: { ...file, url, urlExpiresAt } } },
  };
}

function isReceived(event: PlatformEvent): event is PlatformEvent<'message.received'> {
  return event.type === 'message.received';
}
