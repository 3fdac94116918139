import type { PlatformEvent } from '../domain/events.ts';
import type { Page } from '../domain/pagination.ts';
import type { EventLog, EventLogRequest } from '../ports.ts';

export interface EventLogDependencies {
  readonly eventLog: EventLog;
}

/**
 * The tenant's events in the order they arrived, after `after` (an event id of the tenant: another
 * tenant's or an unknown one is a not-found) or where a `nextCursor` stopped, narrowed by type or
 * channel. A channel filter is a filter, not a lookup: another tenant's channel id finds nothing.
 */
export function listEvents(
  deps: EventLogDependencies,
  tenantId: string,
  request: EventLogRequest,
): Promise<Page<PlatformEvent>> {
  return deps.eventLog.list(tenantId, request);
}
