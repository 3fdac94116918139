import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { TerminalQrPublisher } from '#runner/events/terminal-qr-publisher.ts';
import { type PlatformEvent, platformEvent } from '#shared/domain/events.ts';
import type { EventPublisher } from '#shared/ports.ts';

const scope = { tenantId: 'ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW', channelId: 'chn_01JDQ7Z8K3M4N5P6Q7R8S9T0VX' };
const QR = '2@Xq9CwD1,k3Jp0Vb8nT+4=,Zl2mR7yHs=,aGVsbG8=';

function recording() {
  const published: PlatformEvent[][] = [];
  const written: string[] = [];
  const inner: EventPublisher = {
    publish: async (events) => {
      published.push([...events]);
    },
  };
  return { published, written, publisher: new TerminalQrPublisher(inner, (text) => written.push(text)) };
}

describe('TerminalQrPublisher', () => {
  it('draws each channel.qr as a terminal QR code of exactly its string, and publishes every event', async () => {
    const { published, written, publisher } = recording();
    const qr = platformEvent(
      'channel.qr',
      scope,
      { qr: QR, expiresAt: '2026-12-01T09:31:00.000Z' },
      new Date('2026-12-01T09:30:00.000Z'),
    );
    const status = platformEvent('channel.status', scope, { status: 'qr', previousStatus: 'connecting' });

    await publisher.publish([status, qr]);

    expect(published).toEqual([[status, qr]]);
    expect(written).toHaveLength(1);
    const picture = await QRCode.toString(QR, { type: 'terminal', small: true });
    expect(written[0]).toBe(
      `\nChannel ${scope.channelId} (tenant ${scope.tenantId}): scan in WhatsApp → Linked devices → ` +
        `Link a device, before 09:31:00 UTC\n${picture}\n`,
    );
    // The secret is drawn, not printed as text someone could copy out of a scrollback.
    expect(written[0]).not.toContain(QR);
  });

  it('draws nothing for other events, pairing codes included', async () => {
    const { published, written, publisher } = recording();
    const code = platformEvent('channel.pairing_code', scope, {
      pairingCode: 'ABCD2345',
      phoneNumber: '+5511977770001',
      expiresAt: '2026-12-01T09:33:00.000Z',
    });
    await publisher.publish([code]);
    expect(published).toEqual([[code]]);
    expect(written).toEqual([]);
  });
});
