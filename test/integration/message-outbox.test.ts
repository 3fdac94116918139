import { describe, expect, it } from 'vitest';
import { platformEvent } from '#runner/events/platform-events.ts';
import { DynamoMessageOutbox } from '#shared/aws/dynamo/message-outbox.ts';
import { newId } from '#shared/domain/ids.ts';
import type { Message } from '#shared/domain/message.ts';
import { platformRepositories } from './support/platform.ts';

const { client, resources, messages } = platformRepositories();
const outbox = new DynamoMessageOutbox(client, resources.platformTable);

function received(tenantId: string, channelId: string, at: Date) {
  const message: Message = {
    id: newId('message'),
    tenantId,
    channelId,
    direction: 'inbound',
    waMessageId: `3A${newId('message').slice(4)}`,
    remoteJid: '5511987654321@s.whatsapp.net',
    contact: { phoneNumber: '+5511987654321', lid: null },
    type: 'text',
    content: { body: 'Posso remarcar?' },
    status: 'received',
    statusHistory: [],
    createdAt: at.toISOString(),
  };
  const event = platformEvent(
    'message.received',
    { tenantId, channelId },
    {
      messageId: message.id,
      from: message.contact,
      timestamp: at.toISOString(),
      type: 'text',
      content: message.content,
    },
    at,
  );
  return { message, event };
}

describe('the outbox of received messages’ events', () => {
  it('keeps each event with its message until marked published, per shard and oldest first', async () => {
    // Shards are numbers in the key: one of its own keeps this test apart from every other.
    const shard = 1_000_000 + Math.floor(Math.random() * 1_000_000);
    const tenantId = newId('tenant');
    const channelId = newId('channel');
    const first = received(tenantId, channelId, new Date());
    const second = received(tenantId, channelId, new Date());
    await new Promise((resolve) => setTimeout(resolve, 5));
    const before = new Date();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const fresh = received(tenantId, channelId, new Date());
    for (const { message, event } of [second, first, fresh])
      expect(await messages.put(message, { outbox: { shard, event } })).toBe(true);
    // A redelivered message is not stored again, and its event stays the first one.
    const again = received(tenantId, channelId, new Date());
    expect(await messages.put({ ...first.message }, { outbox: { shard, event: again.event } })).toBe(false);

    expect(await outbox.pending(shard, { before, limit: 10 })).toEqual([first.event, second.event]);
    expect(await outbox.pending(shard + 1, { before, limit: 10 })).toEqual([]);
    expect(await outbox.pendingOf(tenantId, channelId, first.message.id)).toEqual(first.event);

    await outbox.markPublished(tenantId, channelId, first.message.id, new Date());
    expect(await outbox.pending(shard, { before, limit: 10 })).toEqual([second.event]);
    expect(await outbox.pendingOf(tenantId, channelId, first.message.id)).toBeNull();
    // The message itself is unchanged by its stay in the outbox.
    expect(await messages.get(tenantId, channelId, first.message.id)).toEqual(first.message);
  });
});
