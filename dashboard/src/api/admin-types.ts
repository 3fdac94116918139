// until schema.d.ts has the admin routes: the operator's runner and channel views, as the API is
// adding them (GET /v1/admin/runners, /v1/admin/channels, /v1/admin/channels/counts). Replace with
// the generated types (`npm run dashboard:types`) once the routes are in functions/http/routes.ts.
import type { components } from './schema.d.ts';

export type Channel = components['schemas']['Channel'];
export type ChannelStatus = Channel['status'];

export interface ShardLease {
  readonly shard: number;
  readonly token: string;
  readonly expiresAt: string;
}

export interface RunnerView {
  readonly runnerId: string;
  readonly lastSeenAt: string;
  readonly shards: readonly ShardLease[];
}

export interface RunnersAnswer {
  readonly runners: readonly RunnerView[];
  readonly unownedShards: readonly number[];
}

/** A channel as the operator sees it: the tenant's view plus whose it is. */
export type AdminChannel = Channel & { readonly tenantId?: string };

export interface AdminChannelPage {
  readonly items: readonly AdminChannel[];
  readonly nextCursor: string | null;
}

export interface ChannelCount {
  readonly tenantId: string;
  readonly status: ChannelStatus;
  readonly count: number;
}

export interface ChannelCountsAnswer {
  readonly counts: readonly ChannelCount[];
}
