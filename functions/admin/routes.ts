import type { ChannelStatus } from '#shared/domain/channel.ts';
import type { PageRequest } from '#shared/domain/pagination.ts';
import {
  countChannels,
  listChannelsAcrossTenants,
  type OperationsDependencies,
  viewRunners,
} from '#shared/use-cases/operations.ts';
import type { RouteImplementation } from '../http/api-router.ts';
import { adminChannelView, channelCountsView, pageView, runnersView } from '../http/presenters.ts';

/** The operator's read-only views: runners and their shards, channels across tenants. */
export function adminRoutes(deps: OperationsDependencies): Record<string, RouteImplementation> {
  return {
    getRunners: async () => ({ status: 200, body: runnersView(await viewRunners(deps)) }),
    listAllChannels: async ({ query }) => ({
      status: 200,
      body: pageView(
        await listChannelsAcrossTenants(
          deps,
          query as PageRequest & { tenantId?: string; status?: ChannelStatus },
        ),
        adminChannelView,
      ),
    }),
    countChannels: async ({ query }) => ({
      status: 200,
      body: channelCountsView(await countChannels(deps, query as { tenantId?: string })),
    }),
  };
}
