import { describe, expect, it } from 'vitest';
import { StoreRejectedError } from '#shared/domain/errors.ts';
import { newId } from '#shared/domain/ids.ts';
import { queuedOutbound } from './support/messages.ts';
import { platformRepositories } from './support/platform.ts';

const { messages } = platformRepositories();

describe('messages', () => {
  it('stores a message once and finds it by WhatsApp’s id', async () => {
    const tenantId = newId('tenant');
    const message = queuedOutbound(tenantId, newId('channel'));
    expect(await messages.put(message)).toBe(true);
    expect(await messages.put(message)).toBe(false);
    expect(await messages.get(tenantId, message.channelId, message.id)).toEqual(message);
    expect(await messages.findByWaMessageId(tenantId, message.channelId, message.waMessageId)).toEqual(
      message,
    );
    expect(
      await messages.findByWaMessageId(newId('tenant'), message.channelId, message.waMessageId),
    ).toBeNull();
    expect(await messages.resolveWaMessageId(tenantId, message.channelId, message.waMessageId)).toEqual({
      messageId: message.id,
      direction: 'outbound',
    });
    expect(await messages.resolveWaMessageId(tenantId, newId('channel'), message.waMessageId)).toBeNull();
  });

  it('records a message whose WhatsApp id is too long for a key, once', async () => {
    const tenantId = newId('tenant');
    // A sender's client picks the id; a modified one can send 2,000 characters.
    const message = { ...queuedOutbound(tenantId, newId('channel')), waMessageId: '3A'.repeat(1_000) };
    expect(await messages.put(message)).toBe(true);
    expect(await messages.put({ ...message, id: newId('message') })).toBe(false);
    expect(await messages.resolveWaMessageId(tenantId, message.channelId, message.waMessageId)).toEqual({
      messageId: message.id,
      direction: 'outbound',
    });
    expect(
      await messages.resolveWaMessageId(tenantId, message.channelId, `${message.waMessageId}B`),
    ).toBeNull();
  });

  it('says a record is refused for what it holds (over 400 KB), unlike an outage', async () => {
    const message = { ...queuedOutbound(), content: { body: 'a'.repeat(500_000) } };
    await expect(messages.put(message)).rejects.toBeInstanceOf(StoreRejectedError);
    expect(await messages.get(message.tenantId, message.channelId, message.id)).toBeNull();
  });

  it('moves the status only forward and keeps its history', async () => {
    const message = queuedOutbound(newId('tenant'), newId('channel'));
    await messages.put(message);
    const at = (second: number) => `2026-11-29T10:00:0${second}.000Z`;
    const step = (status: 'sent' | 'delivered' | 'read' | 'failed', second: number) =>
      messages.advanceStatus(message.tenantId, message.channelId, message.id, { status, at: at(second) });

    expect((await step('sent', 1))?.status).toBe('sent');
    expect(await step('failed', 2)).toBeNull();
    expect((await step('read', 3))?.status).toBe('read');
    expect(await step('delivered', 4)).toBeNull();
    const stored = await messages.get(message.tenantId, message.channelId, message.id);
    expect(stored?.statusHistory).toEqual([
      { status: 'queued', at: '2026-11-29T10:00:00.000Z' },
      { status: 'sent', at: at(1) },
      { status: 'read', at: at(3) },
    ]);
    // Only from a given status: refused from another, even where it would be an advance.
    const other = queuedOutbound(message.tenantId, message.channelId);
    await messages.put(other);
    const { tenantId, channelId } = other;
    const delivered = { status: 'delivered' as const, at: at(6) };
    expect(
      await messages.advanceStatus(tenantId, channelId, other.id, delivered, { onlyFrom: 'sent' }),
    ).toBeNull();
    expect((await messages.get(tenantId, channelId, other.id))?.status).toBe('queued');
    await messages.advanceStatus(tenantId, channelId, other.id, { status: 'sent', at: at(5) });
    expect(
      (await messages.advanceStatus(tenantId, channelId, other.id, delivered, { onlyFrom: 'sent' }))?.status,
    ).toBe('delivered');
    expect(
      await messages.advanceStatus(message.tenantId, message.channelId, 'msg_absent', {
        status: 'sent',
        at: at(5),
      }),
    ).toBeNull();
  });

  it('lists a channel’s messages newest first, in pages', async () => {
    const tenantId = newId('tenant');
    const channelId = newId('channel');
    const stored = [];
    for (let n = 0; n < 3; n++) {
      const message = queuedOutbound(tenantId, channelId);
      stored.push(message);
      await messages.put(message);
    }
    await messages.put(queuedOutbound(tenantId, newId('channel')));
    const first = await messages.list(tenantId, channelId, { limit: 2 });
    const second = await messages.list(tenantId, channelId, { limit: 2, cursor: first.nextCursor ?? '' });
    expect([...first.items, ...second.items].map((m) => m.id)).toEqual(stored.map((m) => m.id).reverse());
    expect(second.nextCursor).toBeNull();
  });
});
