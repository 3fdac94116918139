import { describe, expect, it } from 'vitest';
import { ChannelEventSequence } from '#runner/events/channel-event-sequence.ts';
import { newId } from '#shared/domain/ids.ts';
import { eventOfType, statusEvent } from '#test/support/webhook-fakes.ts';

const tenantId = newId('tenant');
const placesOf = (events: readonly { sequence?: { epoch: number; seq: number } }[]) =>
  events.map((event) => (event.sequence ? `${event.sequence.epoch}/${event.sequence.seq}` : '-'));

describe('numbering a shard’s channel events', () => {
  it('numbers each channel’s events 1, 2, 3… under its epoch, and leaves pairing secrets and events of no channel alone', async () => {
    const sequence = new ChannelEventSequence(4);
    const [a, b] = [newId('channel'), newId('channel')];
    const first = await sequence.stamp([statusEvent(tenantId, a), statusEvent(tenantId, b)]);
    const qr = eventOfType('channel.qr', tenantId, a, { qr: '2@x', expiresAt: new Date().toISOString() });
    const next = await sequence.stamp([
      statusEvent(tenantId, a),
      qr,
      statusEvent(tenantId, null),
      statusEvent(tenantId, a),
    ]);
    expect(placesOf(first)).toEqual(['4/1', '4/1']);
    expect(placesOf(next)).toEqual(['4/2', '-', '-', '4/3']);
    // The next lease's numbering starts again.
    expect(placesOf(await new ChannelEventSequence(5).stamp([statusEvent(tenantId, a)]))).toEqual(['5/1']);
  });

  it('gives a number back when the write it was taken for does not happen, and holds the channel’s other events meanwhile', async () => {
    const sequence = new ChannelEventSequence(9);
    const channel = newId('channel');
    const other = newId('channel');
    let finishWrite: (written: boolean) => void = () => undefined;
    const stored: string[] = [];
    const writing = sequence.stampThrough(statusEvent(tenantId, channel), async (numbered) => {
      stored.push(...placesOf([numbered]));
      return new Promise<boolean>((resolve) => {
        finishWrite = resolve;
      });
    });
    // Another channel is not held; this one's next event waits for the write to settle.
    expect(placesOf(await sequence.stamp([statusEvent(tenantId, other)]))).toEqual(['9/1']);
    let waited: string[] | undefined;
    const behind = sequence.stamp([statusEvent(tenantId, channel)]).then((events) => {
      waited = placesOf(events);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(waited).toBeUndefined();
    finishWrite(false); // the record existed: nothing is published, the number is free again
    expect(await writing).toBe(false);
    await behind;
    expect(stored).toEqual(['9/1']);
    expect(waited).toEqual(['9/1']);

    // A write that throws gives its number back too; one that is written keeps it.
    await expect(
      sequence.stampThrough(statusEvent(tenantId, channel), async () => {
        throw new Error('DynamoDB is down');
      }),
    ).rejects.toThrow('DynamoDB is down');
    let kept: string[] = [];
    expect(
      await sequence.stampThrough(statusEvent(tenantId, channel), async (numbered) => {
        kept = placesOf([numbered]);
        return true;
      }),
    ).toBe(true);
    expect(kept).toEqual(['9/2']);
    expect(placesOf(await sequence.stamp([statusEvent(tenantId, channel)]))).toEqual(['9/3']);
  });
});
