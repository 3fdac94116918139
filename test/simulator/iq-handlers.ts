// Answers to the IQs clients send. Unknown IQs get an empty result: an unanswered IQ costs the
// client a query time-out (60 s), an empty one at worst a warning.
import { createHash } from 'node:crypto';
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { Account, Device } from './accounts.ts';
import {
  bigEndian,
  bytesOf,
  childBytes,
  childOf,
  childrenOf,
  iqError,
  iqResult,
  node,
  unixSeconds,
} from './binary.ts';
import type { ClientConnection } from './client-connection.ts';
import type { PreKey } from './prekeys.ts';
import type { SimulatorContext } from './simulator-context.ts';

const KEY_BUNDLE_TYPE = Buffer.from([5]);

export function handleIq(context: SimulatorContext, connection: ClientConnection, iq: BinaryNode): void {
  const answer = answerIq(context, connection, iq);
  if (answer) connection.send(answer);
}

function answerIq(
  context: SimulatorContext,
  connection: ClientConnection,
  iq: BinaryNode,
): BinaryNode | undefined {
  const [first] = childrenOf(iq);
  const xmlns = iq.attrs.xmlns;
  if (xmlns === 'md') return answerMd(context, connection, iq, first);
  const account = connection.account;
  const device =
    account && connection.deviceId !== undefined ? account.devices.get(connection.deviceId) : undefined;
  if (!account || !device) return iqError(iq, 401, 'not-authorized');
  switch (xmlns) {
    case 'encrypt':
      return answerEncrypt(context, iq, first, account, device);
    case 'usync':
      return answerUsync(context, iq, first);
    case 'privacy':
      return iq.attrs.type === 'get'
        ? iqResult(iq, [
            node(
              'privacy',
              {},
              ['last', 'online', 'profile', 'status', 'groupadd', 'calladd']
                .map((name) => node('category', { name, value: 'all' }))
                .concat([node('category', { name: 'readreceipts', value: 'all' })]),
            ),
          ])
        : iqResult(iq);
    case 'blocklist':
      return iqResult(iq, [node('list', {})]);
    case 'abt':
    case 'w':
      return first?.tag === 'props'
        ? iqResult(iq, [node('props', { protocol: '1', hash: 'sim' })])
        : iqResult(iq);
    case 'w:m':
      return first?.tag === 'media_conn' ? iqResult(iq, [context.media.mediaConnNode()]) : iqResult(iq);
    case 'w:sync:app:state':
      return iqResult(iq, [
        node(
          'sync',
          {},
          childrenOf(first).map((collection) =>
            node('collection', {
              name: collection.attrs.name ?? '',
              version: collection.attrs.version ?? '0',
            }),
          ),
        ),
      ]);
    default:
      return iqResult(iq);
  }
}

function answerMd(
  context: SimulatorContext,
  connection: ClientConnection,
  iq: BinaryNode,
  first: BinaryNode | undefined,
): BinaryNode | undefined {
  if (first?.tag === 'link_code_companion_reg') {
    const pending = context.pairing.pendingFor(connection);
    if (!pending) return iqError(iq, 400, 'bad-request');
    if (first.attrs.stage === 'companion_hello') {
      const phoneNumber = (first.attrs.jid ?? '').split('@')[0]?.split(':')[0] ?? '';
      const wrapped = childBytes(first, 'link_code_pairing_wrapped_companion_ephemeral_pub');
      if (!context.accounts.get(phoneNumber) || !wrapped) return iqError(iq, 404, 'item-not-found');
      const ref = context.pairing.requestCode(pending, phoneNumber, wrapped);
      return iqResult(iq, [node('link_code_companion_reg', {}, [node('link_code_pairing_ref', {}, ref)])]);
    }
    if (first.attrs.stage === 'companion_finish') {
      const bundle = childBytes(first, 'link_code_pairing_wrapped_key_bundle');
      const identity = childBytes(first, 'companion_identity_public');
      if (!bundle || !identity || !context.pairing.acceptCodeFinish(pending, bundle, identity)) {
        return iqError(iq, 400, 'bad-request');
      }
      return iqResult(iq);
    }
    return iqError(iq, 400, 'bad-request');
  }
  if (first?.tag === 'remove-companion-device' && connection.account && connection.deviceId !== undefined) {
    // A companion logging itself out (Baileys' sock.logout()).
    context.removeDevice(connection.account, connection.deviceId);
    return undefined;
  }
  return iqResult(iq);
}

function answerEncrypt(
  context: SimulatorContext,
  iq: BinaryNode,
  first: BinaryNode | undefined,
  account: Account,
  device: Device,
): BinaryNode {
  if (iq.attrs.type === 'get') {
    switch (first?.tag) {
      case 'count':
        return iqResult(iq, [node('count', { value: String(device.preKeys.count) })]);
      case 'digest':
        return iqResult(iq, [digestOf(device)]);
      case 'key':
        return answerKeyFetch(context, iq, first);
      default:
        return iqResult(iq);
    }
  }
  if (first?.tag === 'rotate') {
    const signed = parseSignedPreKey(childOf(first, 'skey'));
    if (signed) device.signedPreKey = signed;
    return iqResult(iq);
  }
  // Key upload: registration, type, identity, list of prekeys, signed prekey.
  const identity = childBytes(iq, 'identity');
  const registration = childBytes(iq, 'registration');
  const signed = parseSignedPreKey(childOf(iq, 'skey'));
  if (identity) device.identityKey = identity;
  if (registration) device.registrationId = registration.readUIntBE(0, registration.length);
  if (signed) device.signedPreKey = signed;
  const preKeys: PreKey[] = [];
  for (const key of childrenOf(childOf(iq, 'list'))) {
    const id = childBytes(key, 'id');
    const value = childBytes(key, 'value');
    if (id && value) preKeys.push({ id: id.readUIntBE(0, id.length), publicKey: value });
  }
  device.preKeys.add(preKeys);
  context.accounts.markKeysUploaded(account, device);
  return iqResult(iq);
}

function parseSignedPreKey(skey: BinaryNode | undefined): Device['signedPreKey'] | undefined {
  const id = childBytes(skey, 'id');
  const publicKey = childBytes(skey, 'value');
  const signature = childBytes(skey, 'signature');
  if (!id || !publicKey || !signature) return undefined;
  return { id: id.readUIntBE(0, id.length), publicKey, signature };
}

function digestOf(device: Device): BinaryNode {
  const hash = createHash('sha1')
    .update(device.identityKey)
    .update(device.signedPreKey.publicKey)
    .update(device.signedPreKey.signature)
    .digest();
  return node('digest', {}, [
    node('type', {}, KEY_BUNDLE_TYPE),
    node('identity', {}, device.identityKey),
    node('skey', {}, [node('id', {}, bigEndian(device.signedPreKey.id, 3))]),
    node('hash', {}, hash),
  ]);
}

function answerKeyFetch(context: SimulatorContext, iq: BinaryNode, keyRequest: BinaryNode): BinaryNode {
  const users = childrenOf(keyRequest).map((user) => {
    const jid = user.attrs.jid ?? '';
    const address = context.accounts.resolve(jid);
    const device = address?.account.devices.get(address.deviceId);
    if (!device) return node('user', { jid }, [node('error', { code: '404', text: 'item-not-found' })]);
    const preKey = device.preKeys.take();
    return node('user', { jid }, [
      node('registration', {}, bigEndian(device.registrationId, 4)),
      node('type', {}, KEY_BUNDLE_TYPE),
      node('identity', {}, device.identityKey),
      ...(preKey
        ? [node('key', {}, [node('id', {}, bigEndian(preKey.id, 3)), node('value', {}, preKey.publicKey)])]
        : []),
      node('skey', {}, [
        node('id', {}, bigEndian(device.signedPreKey.id, 3)),
        node('value', {}, device.signedPreKey.publicKey),
        node('signature', {}, device.signedPreKey.signature),
      ]),
    ]);
  });
  return iqResult(iq, [node('list', {}, users)]);
}

function answerUsync(context: SimulatorContext, iq: BinaryNode, usync: BinaryNode | undefined): BinaryNode {
  const protocols = new Set(childrenOf(childOf(usync, 'query')).map((protocol) => protocol.tag));
  const requestedJids = childrenOf(childOf(usync, 'list')).map((user) => {
    const contactPhone = bytesOf(childOf(user, 'contact'))?.toString('utf8');
    return user.attrs.jid ?? (contactPhone ? `${contactPhone.replace(/[^0-9]/g, '')}@s.whatsapp.net` : '');
  });
  // A sender asks for itself and its peer in one query; in a chat with itself that is one user twice.
  const users = [...new Set(requestedJids)].map((requestedJid) => {
    const account = context.accounts.resolve(requestedJid)?.account;
    const content: BinaryNode[] = [];
    if (protocols.has('devices')) content.push(devicesNode(account));
    if (protocols.has('lid') && account) content.push(node('lid', { val: `${account.lid}@lid` }));
    if (protocols.has('contact')) content.push(node('contact', { type: account ? 'in' : 'out' }));
    return node('user', { jid: requestedJid }, content);
  });
  return iqResult(iq, [
    node(
      'usync',
      {
        sid: usync?.attrs.sid ?? '',
        mode: usync?.attrs.mode ?? 'query',
        context: usync?.attrs.context ?? '',
      },
      [
        node(
          'result',
          {},
          [...protocols].map((protocol) => node(protocol, {})),
        ),
        node('list', {}, users),
      ],
    ),
  ]);
}

function devicesNode(account: Account | undefined): BinaryNode {
  // A device without uploaded keys would answer the key fetch with an error, which fails the
  // sender's whole batch: list only devices that can receive.
  const devices = account ? [...account.devices.values()].filter((device) => device.keysUploaded) : [];
  return node('devices', {}, [
    node(
      'device-list',
      {},
      devices.map((device) =>
        device.id === 0
          ? node('device', { id: '0' })
          : node('device', { id: String(device.id), 'key-index': String(device.keyIndex) }),
      ),
    ),
    node('key-index-list', { ts: unixSeconds() }),
  ]);
}
