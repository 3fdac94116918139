import type { PlatformEvent } from '../domain/events.ts';
import type { Page } from '../domain/pagination.ts';
import type { EventLog, EventLogRequest, MediaStore } from '../ports.ts';
import { withMediaLinks } from './event-media-links.ts';

export interface EventLogDependencies {
  readonly eventLog: EventLog;
  /** Presigns a received file's download URL for each read (`withMediaLinks`). */
  readonly media: Pick<MediaStore, 'presignDownload'>;
  readonly now?: () => Date;
}

/**
 * The tenant's events in the order they arrived, after `after` (an event id of the tenant: another
 * tenant's or an unknown one is a not-found) or where a `nextCursor` stopped, narrowed by type or
 * channel. A channel filter is a filter, not a lookup: another tenant's channel id finds nothing.
 * A received file's event comes with a download URL made for this read.
 */
export async function listEvents(
  deps: EventLogDependencies,
  tenantId: string,
  request: EventLogRequest,
): Promise<Page<PlatformEvent>> {
  const page = await deps.eventLog.list(tenantId, request);
  const now = deps.now?.() ?? new Date();
  return {
    ...page,
    items: await Promise.all(page.items.map((event) => withMediaLinks(event, deps.media, now))),
  };
}
