// The operator's views of runners and channels across tenants (`/v1/admin/…`, docs/api.md, "The
// operator's views"), typed from the generated schema.
import type { Api } from './api/client.ts';
import type { ChannelCounts, Runners } from './api/models.ts';
import type { ChannelFilter, ReadChannels } from './channel-paging.ts';

export const readRunners = (api: Api): Promise<Runners> => api.call(api.typed.GET('/v1/admin/runners'));

export const readChannelCounts = (api: Api, tenantId?: string): Promise<ChannelCounts> =>
  api.call(api.typed.GET('/v1/admin/channels/counts', { params: { query: tenantId ? { tenantId } : {} } }));

export const channelReader =
  (api: Api, filter: ChannelFilter): ReadChannels =>
  (cursor, limit) =>
    api.call(
      api.typed.GET('/v1/admin/channels', {
        params: {
          query: {
            limit,
            ...(filter.tenantId ? { tenantId: filter.tenantId } : {}),
            ...(filter.status ? { status: filter.status } : {}),
            ...(cursor ? { cursor } : {}),
          },
        },
      }),
    );
