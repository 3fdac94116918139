// Relays messages and receipts between devices. The server reads envelopes only: each <enc> is
// opaque ciphertext addressed to one device.
import type { BinaryNode } from '@whiskeysockets/baileys';
import { jidDecode } from '@whiskeysockets/baileys';
import { type Account, type DeviceAddress, lidDeviceJid, phoneDeviceJid } from './accounts.ts';
import { childOf, childrenOf, node, SERVER_JID, unixSeconds } from './binary.ts';
import type { ClientConnection } from './client-connection.ts';
import { deviceKey } from './offline-queue.ts';
import type { SimulatorContext } from './simulator-context.ts';

/** Receipt types that only concern the receiver's own devices or the server. */
const RECEIPTS_NOT_FORWARDED = new Set(['sender', 'hist_sync', 'peer_msg', 'read-self', 'server-error']);

export function routeMessage(
  context: SimulatorContext,
  connection: ClientConnection,
  message: BinaryNode,
): void {
  const sender = senderOf(connection);
  const to = message.attrs.to;
  const id = message.attrs.id;
  if (!sender || !to || !id) return;
  const timestamp = unixSeconds();
  const destination = context.accounts.resolve(to);
  const extras = childrenOf(message).filter((child) => child.tag === 'device-identity');
  const envelopeAttrs = (recipient: DeviceAddress, viaLid: boolean): Record<string, string> => {
    const attrs: Record<string, string> = {
      id,
      t: timestamp,
      type: message.attrs.type ?? 'text',
      from: viaLid
        ? lidDeviceJid(sender.account, sender.deviceId)
        : phoneDeviceJid(sender.account, sender.deviceId),
    };
    if (viaLid) attrs.sender_pn = phoneDeviceJid(sender.account, sender.deviceId);
    else attrs.sender_lid = lidDeviceJid(sender.account, sender.deviceId);
    if (recipient.account === sender.account && destination) {
      attrs.recipient = viaLid
        ? `${destination.account.lid}@lid`
        : `${destination.account.phoneNumber}@s.whatsapp.net`;
    }
    if (message.attrs.category) attrs.category = message.attrs.category;
    const pushName = connection.pushName;
    if (pushName) attrs.notify = pushName;
    return attrs;
  };

  const participants = childrenOf(childOf(message, 'participants')).filter((child) => child.tag === 'to');
  const targeted = new Set<string>();
  for (const target of participants) {
    const targetJid = target.attrs.jid ?? '';
    if (targeted.has(targetJid)) continue;
    targeted.add(targetJid);
    const recipient = context.accounts.resolve(targetJid);
    const enc = childOf(target, 'enc');
    if (!recipient || !enc || !recipient.account.devices.has(recipient.deviceId)) continue;
    context.deliver(recipient, node('message', envelopeAttrs(recipient, isLid(targetJid)), [enc, ...extras]));
  }
  // A message with a bare <enc> is addressed to one device (retries, peer messages).
  const directEnc = childOf(message, 'enc');
  if (directEnc && destination) {
    const direct = message.attrs.category === 'peer' ? { account: sender.account, deviceId: 0 } : destination;
    if (direct.account.devices.has(direct.deviceId) && !sameDevice(direct, sender)) {
      context.deliver(direct, node('message', envelopeAttrs(direct, isLid(to)), [directEnc, ...extras]));
    }
  }
  connection.send(node('ack', { class: 'message', id, from: to, t: timestamp }));
}

export function routeReceipt(
  context: SimulatorContext,
  connection: ClientConnection,
  receipt: BinaryNode,
): void {
  const sender = senderOf(connection);
  const id = receipt.attrs.id;
  const to = receipt.attrs.to;
  if (!sender || !id || !to) return;
  const type = receipt.attrs.type;
  // Clients answer a message with a receipt instead of an ack: that settles it.
  const settledIds = [id, ...childrenOf(childOf(receipt, 'list')).map((item) => item.attrs.id ?? '')];
  const device = deviceKey(sender.account.phoneNumber, sender.deviceId);
  for (const settledId of settledIds)
    context.queue.settle(device, 'message', settledId, undefined, { all: true });
  connection.send(node('ack', { class: 'receipt', id, from: to, ...(type ? { type } : {}) }));
  if (type && RECEIPTS_NOT_FORWARDED.has(type)) return;
  const original = context.accounts.resolve(to);
  if (!original || original.account === sender.account) return;
  const viaLid = isLid(to);
  const attrs: Record<string, string> = {
    id,
    from: viaLid ? `${sender.account.lid}@lid` : `${sender.account.phoneNumber}@s.whatsapp.net`,
    t: receipt.attrs.t ?? unixSeconds(),
  };
  // "inactive" only says the receiver was in the background; the sender must see plain delivery.
  if (type && type !== 'inactive') attrs.type = type;
  const list = childOf(receipt, 'list');
  let content = list ? [list] : undefined;
  if (type === 'retry') {
    // The sender encrypts the message again for the one device that asked, with what it sent along
    // (the retry count, its registration id, maybe a fresh key bundle).
    attrs.participant = viaLid
      ? lidDeviceJid(sender.account, sender.deviceId)
      : phoneDeviceJid(sender.account, sender.deviceId);
    content = childrenOf(receipt);
  }
  for (const deviceId of original.account.devices.keys()) {
    context.deliver({ account: original.account, deviceId }, node('receipt', attrs, content));
  }
}

export function settleAck(context: SimulatorContext, connection: ClientConnection, ack: BinaryNode): void {
  const sender = senderOf(connection);
  const { class: tag, id, type } = ack.attrs;
  if (sender && tag && id)
    context.queue.settle(deviceKey(sender.account.phoneNumber, sender.deviceId), tag, id, type);
}

function senderOf(connection: ClientConnection): DeviceAddress | undefined {
  return connection.account && connection.deviceId !== undefined
    ? { account: connection.account, deviceId: connection.deviceId }
    : undefined;
}

function sameDevice(a: DeviceAddress, b: DeviceAddress): boolean {
  return a.account === b.account && a.deviceId === b.deviceId;
}

function isLid(jid: string): boolean {
  return jidDecode(jid)?.server === 'lid';
}

export function userJid(account: Account): string {
  return `${account.phoneNumber}@${SERVER_JID}`;
}
