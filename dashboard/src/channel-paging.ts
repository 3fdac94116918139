// The operator's channel list a page at a time, and its counts by status: the rules, apart from the
// requests that feed them (./operator-views.ts).
import type { AdminChannel, ChannelCounts, ChannelStatus } from './api/models.ts';

export interface ChannelFilter {
  readonly tenantId?: string;
  readonly status?: ChannelStatus;
}

export interface ChannelPage {
  readonly items: readonly AdminChannel[];
  readonly nextCursor: string | null;
}

/** One read of the list: up to `limit` channels from `cursor`. */
export type ReadChannels = (cursor: string | undefined, limit: number) => Promise<ChannelPage>;

/**
 * A page of `size` channels. The API may answer a short page, even an empty one, with a `nextCursor`
 * (across tenants a page reads at most ten times, so a rare status runs short): the page follows the
 * cursor, asking each time only for what it still lacks, until it has `size`, the list ends, or
 * `maxReads` reads were made. Its `nextCursor` is the last read's, so no channel is skipped or shown twice.
 */
export async function readChannelPage(
  read: ReadChannels,
  cursor: string | undefined,
  size: number,
  maxReads = 5,
): Promise<ChannelPage> {
  const items: AdminChannel[] = [];
  let next: string | null | undefined = cursor;
  for (let reads = 0; reads < maxReads && items.length < size; reads++) {
    const page: ChannelPage = await read(next ?? undefined, size - items.length);
    items.push(...page.items);
    next = page.nextCursor;
    if (next === null) break;
  }
  return { items, nextCursor: next ?? null };
}

/** Counts per status, summed over the tenants of the answer, in the status machine's order. */
export function countsByStatus(answer: ChannelCounts): Map<ChannelStatus, number> {
  const totals = new Map<ChannelStatus, number>();
  for (const { status, count } of answer.counts) totals.set(status, (totals.get(status) ?? 0) + count);
  return totals;
}
