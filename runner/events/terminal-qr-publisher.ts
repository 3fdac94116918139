import QRCode from 'qrcode';
import type { PlatformEvent } from '#shared/domain/events.ts';
import type { EventPublisher } from '#shared/ports.ts';

/**
 * Local development against WhatsApp itself (`PRINT_QR_TO_TERMINAL=true`, which `npm start --
 * --whatsapp live` sets and a deployed runner refuses): each `channel.qr` the runner publishes is
 * also drawn in the terminal, to scan with a phone. Written to stdout directly, past the console
 * (which the runner routes into the redacting logger): the QR is a pairing secret, never a log line.
 */
export class TerminalQrPublisher implements EventPublisher {
  constructor(
    private readonly inner: EventPublisher,
    private readonly write: (text: string) => void = (text) => process.stdout.write(text),
  ) {}

  async publish(events: readonly PlatformEvent[]): Promise<void> {
    for (const event of events) {
      if (event.type === 'channel.qr') this.write(await drawQr(event as PlatformEvent<'channel.qr'>));
    }
    await this.inner.publish(events);
  }
}

async function drawQr(event: PlatformEvent<'channel.qr'>): Promise<string> {
  const picture = await QRCode.toString(event.data.qr, { type: 'terminal', small: true });
  const until = event.data.expiresAt.slice(11, 19);
  return (
    `\nChannel ${event.channelId} (tenant ${event.tenantId}): scan in WhatsApp → Linked devices → ` +
    `Link a device, before ${until} UTC\n${picture}\n`
  );
}
