import { describe, expect, it } from 'vitest';
import type { AdminChannel } from '../../../dashboard/src/api/models.ts';
import { type ChannelPage, countsByStatus, readChannelPage } from '../../../dashboard/src/channel-paging.ts';

const channel = (id: string): AdminChannel => ({
  id,
  tenantId: 'ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW',
  shard: 0,
  name: id,
  status: 'open',
  statusReason: null,
  phoneNumber: null,
  lid: null,
  lastSeenAt: null,
  createdAt: '2026-12-01T09:30:00.000Z',
  updatedAt: '2026-12-01T09:30:00.000Z',
});

/**
 * A list as the API pages it: `reads` says how many channels each read finds (it may find none and
 * still go on), never more than asked; the cursor is the position in the list.
 */
function pagedList(total: number, finds: (read: number) => number) {
  const all = Array.from({ length: total }, (_, index) => channel(`chn_${index}`));
  const asked: { cursor: string | undefined; limit: number }[] = [];
  const read = async (cursor: string | undefined, limit: number): Promise<ChannelPage> => {
    asked.push({ cursor, limit });
    const from = cursor ? Number(cursor) : 0;
    const to = Math.min(total, from + Math.min(limit, finds(asked.length)));
    return { items: all.slice(from, to), nextCursor: to < total ? String(to) : null };
  };
  return { all, asked, read };
}

describe("the operator's channel pages", () => {
  it('follow short and empty pages, asking only for what they lack, until they are full', async () => {
    const list = pagedList(100, (read) => [0, 3, 0, 10][read - 1] ?? 100);
    const page = await readChannelPage(list.read, undefined, 20);
    expect(page.items.map((each) => each.id)).toEqual(list.all.slice(0, 20).map((each) => each.id));
    expect(page.nextCursor).toBe('20');
    expect(list.asked.map((each) => each.limit)).toEqual([20, 20, 17, 17, 7]);
    // The next page starts where this one stopped: nothing skipped, nothing twice.
    const next = await readChannelPage(list.read, page.nextCursor ?? undefined, 20);
    expect(next.items[0]?.id).toBe('chn_20');
  });

  it('stop at the end of the list, and after a bounded number of reads with the cursor to go on', async () => {
    const short = pagedList(5, () => 2);
    expect(await readChannelPage(short.read, undefined, 20)).toEqual({
      items: short.all,
      nextCursor: null,
    });
    const sparse = pagedList(100, () => 0);
    const page = await readChannelPage(sparse.read, '40', 20, 5);
    expect(page).toEqual({ items: [], nextCursor: '40' });
    expect(sparse.asked).toHaveLength(5);
  });

  it('sum the counts of every tenant per status', () => {
    const totals = countsByStatus({
      counts: [
        { tenantId: 'ten_a', status: 'open', count: 2 },
        { tenantId: 'ten_a', status: 'failed', count: 1 },
        { tenantId: 'ten_b', status: 'open', count: 3 },
      ],
      counted: 6,
      complete: true,
    });
    expect([...totals]).toEqual([
      ['open', 5],
      ['failed', 1],
    ]);
  });
});
