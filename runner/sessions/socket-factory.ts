import { Agent } from 'node:https';
import type { Logger } from '@aws-lambda-powertools/logger';
import makeWASocket, { DEFAULT_CONNECTION_CONFIG, WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import { SOCKET_TRANSACTION_OPTIONS } from '#runner/auth/dynamo-auth-state.ts';
import { installNativeCurve } from '#runner/crypto/install-native-curve.ts';
import type { WhatsAppConnection } from '../config.ts';
import { baileysLogger } from './baileys-logger.ts';
import type { SocketFactory } from './channel-session.ts';

/** The root WhatsApp's certificate chains are signed with, as Baileys ships it (before any pin). */
const WHATSAPP_ROOT = Buffer.from(WA_CERT_DETAILS.PUBLIC_KEY);

/**
 * Builds Baileys sockets for the runner's WhatsApp: the simulator (its URL, and its certificate root
 * pinned in place of WhatsApp's) or WhatsApp itself. The pin is process-wide in Baileys, which suits
 * a runner: every socket of a process talks to the same WhatsApp.
 */
export function createSocketFactory(connection: WhatsAppConnection, logger: Logger): SocketFactory {
  assertBaileysPatched();
  installNativeCurve();
  WA_CERT_DETAILS.PUBLIC_KEY =
    connection.mode === 'simulator' ? Buffer.from(connection.trustRoot, 'base64') : WHATSAPP_ROOT;
  const socketLogger = baileysLogger(logger);
  const mediaAgent =
    connection.mode === 'simulator' && connection.mediaCaPem
      ? new Agent({ ca: connection.mediaCaPem })
      : undefined;
  return (auth, hooks) =>
    makeWASocket({
      auth,
      beforeDeliveryReceipt: (message) => hooks.beforeDeliveryReceipt(message),
      logger: socketLogger,
      ...(connection.mode === 'simulator' ? { waWebSocketUrl: connection.webSocketUrl } : {}),
      ...(mediaAgent ? { fetchAgent: mediaAgent } : {}),
      transactionOpts: SOCKET_TRANSACTION_OPTIONS,
      markOnlineOnConnect: false,
      syncFullHistory: false,
      fireInitQueries: true,
      getMessage: async () => undefined,
    });
}

/**
 * Without our patch (patches/, applied by `npm ci`'s postinstall) Baileys would ignore the hook and
 * tell WhatsApp "delivered" before a message is recorded: refuse to start rather than lose messages.
 */
function assertBaileysPatched(): void {
  if (!('beforeDeliveryReceipt' in DEFAULT_CONNECTION_CONFIG))
    throw new Error(
      'Baileys is not patched (patches/@whiskeysockets+baileys+*.patch): reinstall with `npm ci`, whose postinstall applies it',
    );
}
