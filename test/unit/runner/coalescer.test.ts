import { describe, expect, it } from 'vitest';
import { Coalescer } from '#runner/batching/coalescer.ts';
import { CoalescingEventPublisher } from '#runner/events/coalescing-event-publisher.ts';
import type { PlatformEvent } from '#shared/domain/events.ts';

function recording<T>(outcome: (batch: T[]) => (unknown | undefined)[] = () => []) {
  const batches: T[][] = [];
  return {
    batches,
    process: async (batch: T[]) => {
      batches.push(batch);
      return outcome(batch);
    },
  };
}

describe('coalescer', () => {
  it('carries out full batches at once and the rest after the linger', async () => {
    const { batches, process } = recording<number>();
    const coalescer = new Coalescer({ process, maxItems: 10, lingerMs: 5 });
    const items = Array.from({ length: 25 }, (_, i) => i);
    const done = items.map((item) => coalescer.submit(item));
    expect(batches.map((batch) => batch.length)).toEqual([10, 10]);
    await Promise.all(done);
    expect(batches).toEqual([items.slice(0, 10), items.slice(10, 20), items.slice(20)]);
  });

  it('settles each caller with its own item’s outcome', async () => {
    const { process } = recording<string>((batch) =>
      batch.map((item) => (item === 'bad' ? new Error(`refused ${item}`) : undefined)),
    );
    const coalescer = new Coalescer({ process, maxItems: 10, lingerMs: 1 });
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((item) => coalescer.submit(item)));
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('refused bad'));
  });

  it('fails every item of a batch whose call failed, and only those', async () => {
    let calls = 0;
    const coalescer = new Coalescer<number>({
      maxItems: 2,
      lingerMs: 1,
      process: async () => {
        if (++calls === 1) throw new Error('throttled');
        return [];
      },
    });
    const results = await Promise.allSettled([1, 2, 3].map((item) => coalescer.submit(item)));
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
  });

  it('keeps a batch under its weight limit', async () => {
    const { batches, process } = recording<string>();
    const coalescer = new Coalescer({
      process,
      maxItems: 10,
      lingerMs: 1,
      maxWeight: 10,
      weigh: (item) => item.length,
    });
    await Promise.all(['aaaa', 'bbbb', 'cccc', 'dddddddddddd', 'e'].map((item) => coalescer.submit(item)));
    expect(batches).toEqual([['aaaa', 'bbbb'], ['cccc'], ['dddddddddddd'], ['e']]);
  });

  it('flushes without waiting for the linger', async () => {
    const { batches, process } = recording<number>();
    const coalescer = new Coalescer({ process, maxItems: 10, lingerMs: 60_000 });
    const done = coalescer.submit(1);
    await coalescer.flush();
    await done;
    expect(batches).toEqual([[1]]);
  });
});

describe('coalescing event publisher', () => {
  const event = (n: number): PlatformEvent =>
    ({
      id: `event_${n}`,
      type: 'message.status',
      createdAt: '2026-11-29T10:00:00.000Z',
      tenantId: 'tenant_1',
      channelId: 'channel_1',
      data: { messageId: `message_${n}`, status: 'sent' },
    }) as unknown as PlatformEvent;

  it('publishes the events of concurrent callers in one call', async () => {
    const calls: (readonly PlatformEvent[])[] = [];
    const publisher = new CoalescingEventPublisher({ publish: async (events) => void calls.push(events) });
    await Promise.all([publisher.publish([event(1)]), publisher.publish([event(2), event(3)])]);
    expect(calls).toEqual([[event(1), event(2), event(3)]]);
  });

  it('fails the callers whose events were refused', async () => {
    const publisher = new CoalescingEventPublisher({
      publish: async () => {
        throw new Error('EventBridge refused 1 event(s)');
      },
    });
    await expect(publisher.publish([event(1)])).rejects.toThrow('EventBridge refused');
  });
});
