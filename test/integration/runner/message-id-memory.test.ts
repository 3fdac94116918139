import { describe, expect, it } from 'vitest';
import { MessageIdMemory } from '#runner/messages/message-id-memory.ts';
import { newId } from '#shared/domain/ids.ts';
import type { Message } from '#shared/domain/message.ts';
import { countingCalls, queuedOutbound } from '../support/messages.ts';
import { platformRepositories } from '../support/platform.ts';

const { messages } = platformRepositories();

/** The real repository, counting the WhatsApp-id reads that reach it. */
function counted() {
  const { repository, calls } = countingCalls(messages, 'resolveWaMessageId');
  return { repository, reads: calls };
}

describe('message id memory', () => {
  it('resolves the WhatsApp id of a message it stored without a read, and only within its channel', async () => {
    const { repository, reads } = counted();
    const memory = new MessageIdMemory(repository);
    const tenantId = newId('tenant');
    const message = queuedOutbound(tenantId, newId('channel'));
    expect(await memory.put(message)).toBe(true);

    const { tenantId: t, channelId: c, waMessageId } = message;
    expect(await memory.resolveWaMessageId(t, c, waMessageId)).toEqual({
      messageId: message.id,
      direction: 'outbound',
    });
    expect(reads.count).toBe(0);
    expect(await memory.resolveWaMessageId(newId('tenant'), c, waMessageId)).toBeNull();
    expect(await memory.resolveWaMessageId(t, newId('channel'), waMessageId)).toBeNull();
    expect(reads.count).toBe(2);
  });

  it('reads what it does not hold: stored elsewhere, or forgotten beyond its capacity', async () => {
    const { repository, reads } = counted();
    const memory = new MessageIdMemory(repository, 2);
    const tenantId = newId('tenant');
    const channelId = newId('channel');
    const elsewhere = queuedOutbound(tenantId, channelId);
    await messages.put(elsewhere); // by another runner, before a takeover
    const mine = [
      queuedOutbound(tenantId, channelId),
      queuedOutbound(tenantId, channelId),
      queuedOutbound(tenantId, channelId),
    ];
    for (const message of mine) await memory.put(message);
    expect(await memory.put(mine[0] as Message)).toBe(false); // a redelivered command

    for (const message of [...mine].reverse().concat(elsewhere)) {
      expect((await memory.resolveWaMessageId(tenantId, channelId, message.waMessageId))?.messageId).toBe(
        message.id,
      );
    }
    expect(reads.count).toBe(2); // the first of mine (forgotten: capacity 2), and `elsewhere`
  });
});
