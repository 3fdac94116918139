import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoMessageOutbox } from '#shared/aws/dynamo/message-outbox.ts';
import { messageKey } from '#shared/aws/dynamo/platform-keys.ts';
import { newId } from '#shared/domain/ids.ts';
import { ownShard, receivedText } from './support/messages.ts';
import { platformRepositories } from './support/platform.ts';

const { client, resources, messages } = platformRepositories();
const outbox = new DynamoMessageOutbox(client, resources.platformTable);

describe('the outbox of received messages’ events', () => {
  it('keeps each event with its message until marked published, per shard and oldest first, page by page', async () => {
    const shard = ownShard();
    const tenantId = newId('tenant');
    const channelId = newId('channel');
    const [first, second, third] = [0, 1, 2].map(() => receivedText(tenantId, channelId));
    if (!first || !second || !third) throw new Error('three messages');
    for (const { message, event } of [second, third, first])
      expect(await messages.put(message, { outbox: { shard, event } })).toBe(true);
    // A redelivered message is not stored again, and its event stays the first one.
    const again = receivedText(tenantId, channelId);
    expect(await messages.put({ ...first.message }, { outbox: { shard, event: again.event } })).toBe(false);

    const ref = ({ message, event }: typeof first) => ({
      eventId: event.id,
      tenantId,
      channelId,
      messageId: message.id,
    });
    const page = await outbox.waiting(shard, { limit: 2 });
    expect(page).toEqual({ refs: [ref(first), ref(second)], more: true });
    expect(await outbox.waiting(shard, { limit: 2, after: ref(second) })).toEqual({
      refs: [ref(third)],
      more: false,
    });
    expect(await outbox.waiting(shard + 1, { limit: 2 })).toEqual({ refs: [], more: false });
    expect(await outbox.eventsOf(page.refs)).toEqual([first.event, second.event]);
    expect(await outbox.pendingOf(tenantId, channelId, first.message.id)).toEqual(first.event);

    await outbox.markPublished(tenantId, channelId, first.message.id, new Date());
    expect((await outbox.waiting(shard, { limit: 10 })).refs).toEqual([ref(second), ref(third)]);
    // Read from the record: an entry still in the index (eventually consistent) yields no event.
    expect(await outbox.eventsOf(page.refs)).toEqual([second.event]);
    expect(await outbox.pendingOf(tenantId, channelId, first.message.id)).toBeNull();
    // The message itself is unchanged by its stay in the outbox.
    expect(await messages.get(tenantId, channelId, first.message.id)).toEqual(first.message);
  });

  it('keeps an event’s place in its channel’s order, for whoever publishes it', async () => {
    const shard = ownShard();
    const tenantId = newId('tenant');
    const channelId = newId('channel');
    const received = receivedText(tenantId, channelId);
    const event = { ...received.event, sequence: { epoch: 12, seq: 4 } };
    expect(await messages.put(received.message, { outbox: { shard, event } })).toBe(true);

    const { refs } = await outbox.waiting(shard, { limit: 10 });
    expect(await outbox.eventsOf(refs)).toEqual([event]);
    expect(await outbox.pendingOf(tenantId, channelId, received.message.id)).toEqual(event);
  });

  it('stores a message’s content once: a 300 KB text and its event fit in one item', async () => {
    const shard = ownShard();
    const tenantId = newId('tenant');
    const channelId = newId('channel');
    const body = 'Segue o relatório do exame. '.repeat(11_000);
    const { message, event } = receivedText(tenantId, channelId, new Date(), { body });
    expect(Buffer.byteLength(body)).toBeGreaterThan(300_000);

    expect(await messages.put(message, { outbox: { shard, event } })).toBe(true);

    expect(await outbox.pendingOf(tenantId, channelId, message.id)).toEqual(event);
    const item = await client.send(
      new GetCommand({
        TableName: resources.platformTable,
        Key: messageKey(tenantId, channelId, message.id),
      }),
    );
    expect(item.Item?.pendingEvent).toEqual({ id: event.id, timestamp: event.data.timestamp });
  });
});
