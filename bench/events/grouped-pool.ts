// Runs work items with at most `concurrency` in flight and at most one of each group at a time,
// each group's items in their order: what the dispatcher's ordered queue allows its worker (one
// message group per webhook and channel, several groups side by side), so the bare loop of the
// events benchmark can go exactly as wide as the dispatcher may, and no wider.

export async function runGrouped<T>(
  items: readonly T[],
  options: { readonly concurrency: number; readonly groupOf: (item: T) => string },
  work: (item: T) => Promise<void>,
): Promise<void> {
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
  }
  // Each group's items in order, with their place in `items` (the earliest waiting goes first).
  const queues = new Map<string, { index: number; item: T }[]>();
  items.forEach((item, index) => {
    const group = options.groupOf(item);
    const queue = queues.get(group) ?? [];
    queue.push({ index, item });
    queues.set(group, queue);
  });
  const busy = new Set<string>();
  /** The earliest item of a group not in flight, taken off its queue; undefined when none is free. */
  const take = (): { group: string; item: T } | undefined => {
    let best: string | undefined;
    let bestIndex = Number.POSITIVE_INFINITY;
    for (const [group, queue] of queues) {
      const head = queue[0];
      if (busy.has(group) || !head || head.index >= bestIndex) continue;
      best = group;
      bestIndex = head.index;
    }
    if (best === undefined) return undefined;
    const head = queues.get(best)?.shift() as { item: T };
    return { group: best, item: head.item };
  };
  let failure: unknown;
  await new Promise<void>((resolve) => {
    let running = 0;
    const pump = () => {
      while (failure === undefined && running < options.concurrency) {
        const next = take();
        if (!next) break;
        running++;
        busy.add(next.group);
        work(next.item).then(
          () => {
            running--;
            busy.delete(next.group);
            pump();
          },
          (error: unknown) => {
            running--;
            failure ??= error;
            pump();
          },
        );
      }
      if (running === 0) resolve();
    };
    pump();
  });
  if (failure !== undefined) throw failure;
}
