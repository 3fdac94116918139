// The operator's read-only views of the platform (the admin key's `/v1/admin/…` routes, behind the
// operator dashboard): which runner holds which shard, and channels across tenants. They read the
// records the runners and the API write, and change nothing.
import type { ChannelCounts, ChannelSummary } from '../domain/channel.ts';
import type { Page, PageRequest } from '../domain/pagination.ts';
import { type ShardOwnershipOverview, shardOwnershipOverview } from '../domain/shard-ownership.ts';
import type { ChannelDirectory, ChannelDirectoryFilter, ShardOwnershipReader } from '../ports.ts';

export interface OperationsDependencies {
  readonly shardOwnership: ShardOwnershipReader;
  readonly channelDirectory: ChannelDirectory;
  readonly shardCount: number;
  readonly now?: () => Date;
}

export interface RunnersView extends ShardOwnershipOverview {
  readonly cluster: string;
  readonly shardCount: number;
  /** When the records were read, by the reader's clock: the only clock of this view that is ours. */
  readonly observedAt: Date;
}

export async function viewRunners(deps: OperationsDependencies): Promise<RunnersView> {
  const observedAt = deps.now?.() ?? new Date();
  const records = await deps.shardOwnership.read(deps.shardCount);
  return {
    cluster: deps.shardOwnership.cluster,
    shardCount: deps.shardCount,
    observedAt,
    ...shardOwnershipOverview(records, deps.shardCount),
  };
}

export function listChannelsAcrossTenants(
  deps: OperationsDependencies,
  request: PageRequest & ChannelDirectoryFilter,
): Promise<Page<ChannelSummary>> {
  return deps.channelDirectory.list(request);
}

export function countChannels(
  deps: OperationsDependencies,
  filter: Pick<ChannelDirectoryFilter, 'tenantId'>,
): Promise<ChannelCounts> {
  return deps.channelDirectory.count(filter);
}
