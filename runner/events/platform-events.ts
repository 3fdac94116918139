import type { EventDataByType, EventType, PlatformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';

/** A new event with its stable id: receivers deduplicate retries and redeliveries by it. */
export function platformEvent<T extends EventType>(
  type: T,
  scope: { tenantId: string; channelId: string | null },
  data: EventDataByType[T],
  now: Date = new Date(),
): PlatformEvent<T> {
  return { id: newId('event', now.getTime()), type, createdAt: now.toISOString(), ...scope, data };
}
