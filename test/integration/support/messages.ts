import { platformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import { type Message, whatsappMessageId } from '#shared/domain/message.ts';
import type { MessageRepository } from '#shared/ports.ts';

/**
 * A patient's text as the runner records it (its content as the record keeps it), with its
 * `message.received` event (made at `at`): the content under `text`, the patient's push name.
 */
export function receivedText(
  tenantId: string,
  channelId: string,
  at = new Date(),
  content: Record<string, unknown> = { body: 'Posso remarcar?' },
) {
  const message: Message = {
    id: newId('message'),
    tenantId,
    channelId,
    direction: 'inbound',
    waMessageId: `3A${newId('message').slice(4)}`,
    remoteJid: '5511987654321@s.whatsapp.net',
    contact: { phoneNumber: '+5511987654321', lid: null, name: 'Maria Quintela' },
    type: 'text',
    content,
    status: 'received',
    statusHistory: [],
    createdAt: at.toISOString(),
  };
  // Written out, not made by `receivedMessageData`: what the outbox rebuilds is checked against it.
  const event = platformEvent(
    'message.received',
    { tenantId, channelId },
    {
      messageId: message.id,
      from: { phoneNumber: '+5511987654321', lid: null, name: 'Maria Quintela' },
      timestamp: at.toISOString(),
      type: 'text',
      content: { text: content },
    },
    at,
  );
  return { message, event };
}

/** A shard number of a test's own: shards are numbers in the outbox's key. */
export const ownShard = () => 1_000_000 + Math.floor(Math.random() * 1_000_000_000);

/** An outbound text as a send command stores it: queued, with its WhatsApp id derived from ours. */
export function queuedOutbound(tenantId = newId('tenant'), channelId = newId('channel')): Message {
  const id = newId('message');
  return {
    id,
    tenantId,
    channelId,
    direction: 'outbound',
    waMessageId: whatsappMessageId(channelId, id),
    remoteJid: '5511987654321@s.whatsapp.net',
    contact: { phoneNumber: '+5511987654321', lid: null },
    type: 'text',
    content: { body: 'Sua consulta é amanhã às 9h.' },
    status: 'queued',
    statusHistory: [{ status: 'queued', at: '2026-11-29T10:00:00.000Z' }],
    createdAt: '2026-11-29T10:00:00.000Z',
  };
}

/** The repository with one of its methods counted: `calls.count` is how often it was reached. */
export function countingCalls<K extends keyof MessageRepository>(repository: MessageRepository, method: K) {
  const calls = { count: 0 };
  const original = repository[method] as (...args: unknown[]) => unknown;
  const counted: MessageRepository = Object.create(repository, {
    [method]: {
      value: (...args: unknown[]) => {
        calls.count++;
        return original.apply(repository, args);
      },
    },
  });
  return { repository: counted, calls };
}
