import { newId } from '#shared/domain/ids.ts';
import { type Message, whatsappMessageId } from '#shared/domain/message.ts';

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
