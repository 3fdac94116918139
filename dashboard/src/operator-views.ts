// The operator's views of runners and channels across tenants, through admin routes an API may not
// have yet (docs/dashboard.md): a 404 there means "this API has no such view", not an error.
import type {
  AdminChannelPage,
  ChannelCountsAnswer,
  ChannelStatus,
  RunnersAnswer,
} from './api/admin-types.ts';
import { ApiError } from './api/api-error.ts';
import type { Api } from './api/client.ts';

export type Optional<T> = { readonly available: true; readonly value: T } | { readonly available: false };

async function optional<T>(read: () => Promise<T>): Promise<Optional<T>> {
  try {
    return { available: true, value: await read() };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return { available: false };
    throw error;
  }
}

export const runnersView = (api: Api) => optional(() => api.json<RunnersAnswer>('GET', '/v1/admin/runners'));

export const channelCounts = (api: Api) =>
  optional(() => api.json<ChannelCountsAnswer>('GET', '/v1/admin/channels/counts'));

export function adminChannels(
  api: Api,
  filter: { tenantId?: string; status?: ChannelStatus | ''; cursor?: string },
): Promise<Optional<AdminChannelPage>> {
  const query = new URLSearchParams({ limit: '100' });
  if (filter.tenantId) query.set('tenantId', filter.tenantId);
  if (filter.status) query.set('status', filter.status);
  if (filter.cursor) query.set('cursor', filter.cursor);
  return optional(() => api.json<AdminChannelPage>('GET', `/v1/admin/channels?${query}`));
}

/** Counts per status for one tenant, or summed over all. */
export function countsByStatus(answer: ChannelCountsAnswer, tenantId?: string): Map<ChannelStatus, number> {
  const totals = new Map<ChannelStatus, number>();
  for (const { tenantId: owner, status, count } of answer.counts) {
    if (tenantId && owner !== tenantId) continue;
    totals.set(status, (totals.get(status) ?? 0) + count);
  }
  return totals;
}
