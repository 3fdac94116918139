import { describe, expect, it } from 'vitest';
import { statusTicks } from '../../../dashboard/src/status-ticks.ts';

describe("a message's status ticks", () => {
  it('follow WhatsApp: a clock while queued, one tick sent, two delivered, two blue read', () => {
    const outbound = (status: 'queued' | 'sent' | 'delivered' | 'read') =>
      statusTicks({ direction: 'outbound', status });
    expect(outbound('queued')).toEqual({
      tone: 'pending',
      symbol: '🕓',
      label: 'message.status.queued',
      reason: null,
    });
    expect(outbound('sent')).toEqual({
      tone: 'sent',
      symbol: '✓',
      label: 'message.status.sent',
      reason: null,
    });
    expect(outbound('delivered')).toEqual({
      tone: 'delivered',
      symbol: '✓✓',
      label: 'message.status.delivered',
      reason: null,
    });
    expect(outbound('read')).toEqual({
      tone: 'read',
      symbol: '✓✓',
      label: 'message.status.read',
      reason: null,
    });
  });

  it("say why a message failed, in the API's words", () => {
    expect(
      statusTicks({
        direction: 'outbound',
        status: 'failed',
        error: { code: 'media_link_forbidden', message: 'The link points at a private address' },
      }),
    ).toEqual({
      tone: 'failed',
      symbol: '!',
      label: 'message.status.failed',
      reason: 'media_link_forbidden: The link points at a private address',
    });
    expect(statusTicks({ direction: 'outbound', status: 'failed' }).reason).toBeNull();
  });

  it('are not drawn on received messages', () => {
    expect(statusTicks({ direction: 'inbound', status: 'received' })).toEqual({
      tone: 'none',
      symbol: '',
      label: 'message.status.received',
      reason: null,
    });
  });
});
