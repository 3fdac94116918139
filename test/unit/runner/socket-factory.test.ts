import { WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { nativeCurveStatus } from '#runner/crypto/install-native-curve.ts';
import { createSocketFactory } from '#runner/sessions/socket-factory.ts';
import { createLogger } from '#shared/observability.ts';

const logger = createLogger({ logLevel: 'ERROR', component: 'socket-factory-test' });
// WhatsApp's published noise root (WA-PROTOCOL.md), written out so a changed default is noticed.
const WHATSAPP_ROOT_HEX = '142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b';

describe('socket factory', () => {
  it('pins the simulator’s root in simulator mode and WhatsApp’s own again in live mode', () => {
    const simulatorRoot = Buffer.alloc(32, 7);
    createSocketFactory(
      { mode: 'simulator', webSocketUrl: 'ws://127.0.0.1:1/ws', trustRoot: simulatorRoot.toString('base64') },
      logger,
    );
    expect(Buffer.from(WA_CERT_DETAILS.PUBLIC_KEY).equals(simulatorRoot)).toBe(true);

    createSocketFactory({ mode: 'live' }, logger);
    expect(Buffer.from(WA_CERT_DETAILS.PUBLIC_KEY).toString('hex')).toBe(WHATSAPP_ROOT_HEX);
    // Live sockets are refused unless the chain checks out (Baileys' own check accepts anything).
    expect(nativeCurveStatus().certificateChain).toBe('enforce');
  });
});
