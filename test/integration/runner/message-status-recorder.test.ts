import { describe, expect, it } from 'vitest';
import { ChannelEventSequence } from '#runner/events/channel-event-sequence.ts';
import { MessageStatusRecorder } from '#runner/events/message-status-recorder.ts';
import type { PlatformEvent } from '#shared/domain/events.ts';
import { countingCalls, queuedOutbound } from '../support/messages.ts';
import { platformRepositories } from '../support/platform.ts';

const { messages } = platformRepositories();

/** The recorder over the real repository, counting its writes and keeping what it publishes. */
function recorder(sequence = new ChannelEventSequence(7)) {
  const published: PlatformEvent[] = [];
  const { repository: counted, calls: writes } = countingCalls(messages, 'advanceStatus');
  const events = { publish: async (batch: readonly PlatformEvent[]) => void published.push(...batch) };
  return { recorder: new MessageStatusRecorder(counted, events, sequence), published, writes };
}

const statusesOf = (events: PlatformEvent[]) =>
  events.map((event) => (event.data as { status: string }).status);

describe('message status recorder', () => {
  it('records a receipt that overtook the ack as every step it skipped, each once', async () => {
    const message = queuedOutbound();
    await messages.put(message);
    const { recorder: statuses, published } = recorder();
    const scope = { tenantId: message.tenantId, channelId: message.channelId };

    await statuses.record(scope, message.id, 'delivered');
    await statuses.record(scope, message.id, 'sent'); // the ack, late
    await statuses.record(scope, message.id, 'delivered'); // a repeated receipt

    expect(statusesOf(published)).toEqual(['sent', 'delivered']);
    const stored = await messages.get(message.tenantId, message.channelId, message.id);
    expect(stored?.statusHistory.map((change) => change.status)).toEqual(['queued', 'sent', 'delivered']);
    // Numbered in the channel's order as published: the repeated receipt, never published, took none.
    expect(published.map((event) => event.sequence)).toEqual([
      { epoch: 7, seq: 1 },
      { epoch: 7, seq: 2 },
    ]);
  });

  it('numbers a channel’s statuses across its messages, and each channel on its own', async () => {
    const first = queuedOutbound();
    const second = queuedOutbound(first.tenantId, first.channelId);
    const elsewhere = queuedOutbound();
    for (const message of [first, second, elsewhere]) await messages.put(message);
    const { recorder: statuses, published } = recorder(new ChannelEventSequence(3));
    const scopeOf = (message: typeof first) => ({ tenantId: message.tenantId, channelId: message.channelId });

    await statuses.record(scopeOf(first), first.id, 'sent');
    await statuses.record(scopeOf(elsewhere), elsewhere.id, 'sent');
    await statuses.record(scopeOf(second), second.id, 'read'); // sent, delivered, read: three events
    await statuses.record(scopeOf(first), first.id, 'delivered');

    const placesIn = (channelId: string) =>
      published.filter((event) => event.channelId === channelId).map((event) => event.sequence);
    expect(placesIn(first.channelId)).toEqual([1, 2, 3, 4, 5].map((seq) => ({ epoch: 3, seq })));
    expect(placesIn(elsewhere.channelId)).toEqual([{ epoch: 3, seq: 1 }]);
  });

  it('records the next step of the path with one write', async () => {
    const message = queuedOutbound();
    await messages.put(message);
    const { recorder: statuses, published, writes } = recorder();
    const scope = { tenantId: message.tenantId, channelId: message.channelId };
    await statuses.record(scope, message.id, 'sent');

    writes.count = 0;
    await statuses.record(scope, message.id, 'delivered');
    expect(writes.count).toBe(1);
    await statuses.record(scope, message.id, 'read');
    expect(writes.count).toBe(2);
    expect(statusesOf(published)).toEqual(['sent', 'delivered', 'read']);
  });

  it('records a receipt that lands while the ack is being recorded after it, with one write each', async () => {
    const message = queuedOutbound();
    await messages.put(message);
    const { recorder: statuses, published, writes } = recorder();
    const scope = { tenantId: message.tenantId, channelId: message.channelId };

    await Promise.all([
      statuses.record(scope, message.id, 'sent'),
      statuses.record(scope, message.id, 'delivered'),
    ]);
    expect(writes.count).toBe(2);
    expect(statusesOf(published)).toEqual(['sent', 'delivered']);
  });

  it('holds a receipt that overtakes the ack until the send’s turn is recorded, or given up', async () => {
    const message = queuedOutbound();
    await messages.put(message);
    const { recorder: statuses, published, writes } = recorder();
    const scope = { tenantId: message.tenantId, channelId: message.channelId };

    const send = statuses.reserve(scope, message.id);
    const receipt = statuses.record(scope, message.id, 'delivered');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(writes.count).toBe(0); // waiting for the ack
    await send.record('sent');
    await receipt;
    expect(writes.count).toBe(1); // both in one write, in order
    expect(statusesOf(published)).toEqual(['sent', 'delivered']);
    const stored = await messages.get(message.tenantId, message.channelId, message.id);
    expect(stored?.statusHistory.map((change) => change.status)).toEqual(['queued', 'sent', 'delivered']);

    // A send that will be retried gives its turn up: the receipt behind it goes on.
    const retried = statuses.reserve(scope, message.id);
    const read = statuses.record(scope, message.id, 'read');
    retried.release();
    await read;
    expect(statusesOf(published)).toEqual(['sent', 'delivered', 'read']);
  });

  it('records a failure with its reason, and nothing after it', async () => {
    const message = queuedOutbound();
    await messages.put(message);
    const { recorder: statuses, published } = recorder();
    const scope = { tenantId: message.tenantId, channelId: message.channelId };
    const error = { code: 'whatsapp_463', message: 'WhatsApp refused the message' };

    await statuses.record(scope, message.id, 'failed', error);
    await statuses.record(scope, message.id, 'delivered');

    expect(published.map((event) => event.data)).toEqual([
      expect.objectContaining({ status: 'failed', error }),
    ]);
  });
});
