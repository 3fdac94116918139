// The WhatsApp side of the simulator: accepts client sockets, logs devices in, and dispatches
// their stanzas. Holds which device is connected where.
import type { BinaryNode, proto } from '@whiskeysockets/baileys';
import type { WebSocket } from 'ws';
import { type Account, AccountRegistry, type DeviceAddress, lidDeviceJid } from './accounts.ts';
import { node, unixSeconds } from './binary.ts';
import type { ServerIdentity } from './cert-chain.ts';
import { ClientConnection } from './client-connection.ts';
import { FaultState } from './faults.ts';
import { handleIq } from './iq-handlers.ts';
import { deviceKey, OfflineQueue } from './offline-queue.ts';
import { PairingDesk } from './pairing.ts';
import type { MediaConnProvider, SimulatorContext } from './simulator-context.ts';
import { routeMessage, routeReceipt, settleAck } from './stanza-router.ts';

export interface DeviceSelector {
  readonly phoneNumber?: string;
  readonly deviceId?: number;
}

export class SimulatorServer implements SimulatorContext {
  readonly accounts = new AccountRegistry();
  readonly pairing = new PairingDesk(this.accounts);
  readonly queue = new OfflineQueue();
  readonly faults = new FaultState();
  private readonly connections = new Map<string, ClientConnection>();
  private readonly allConnections = new Set<ClientConnection>();

  constructor(
    readonly identity: ServerIdentity,
    readonly media: MediaConnProvider,
  ) {}

  accept(socket: WebSocket): void {
    if (this.faults.refusing) {
      socket.terminate();
      return;
    }
    const connection = new ClientConnection(socket, this.identity, this.faults, {
      onPayload: (client, payload) => this.onPayload(client, payload),
      onStanza: (client, stanza) => this.onStanza(client, stanza),
      onClose: (client) => this.onClose(client),
    });
    this.allConnections.add(connection);
  }

  /** Logins that replaced a live connection of the same device (440 to the older): two sockets, one device. */
  replacedConnections = 0;

  get connectedCount(): number {
    return this.connections.size;
  }

  connectionOf(address: DeviceAddress): ClientConnection | undefined {
    return this.connections.get(deviceKey(address.account.phoneNumber, address.deviceId));
  }

  isConnected(address: DeviceAddress): boolean {
    return this.connectionOf(address) !== undefined;
  }

  deliver(address: DeviceAddress, stanza: BinaryNode): void {
    const key = deviceKey(address.account.phoneNumber, address.deviceId);
    this.queue.hold(key, stanza);
    this.connections.get(key)?.send(stanza);
  }

  removeDevice(account: Account, deviceId: number): void {
    const key = deviceKey(account.phoneNumber, deviceId);
    this.accounts.removeDevice(account, deviceId);
    this.queue.forget(key);
    const connection = this.connections.get(key);
    if (connection) {
      this.connections.delete(key);
      connection.sendStreamError(401, node('conflict', { type: 'device_removed' }));
    }
  }

  /** Fault: cut matching sockets without a close frame. Returns how many were cut. */
  dropConnections(selector: DeviceSelector = {}): number {
    const matching = this.matching(selector);
    for (const connection of matching) connection.drop();
    return matching.length;
  }

  /** Fault: send `<stream:error code>` (440 as a replaced conflict) and close. */
  sendStreamError(code: number, selector: DeviceSelector = {}): number {
    const matching = this.matching(selector);
    for (const connection of matching) {
      if (code === 440) connection.sendStreamError(440, node('conflict', { type: 'replaced' }));
      else connection.sendStreamError(code);
    }
    return matching.length;
  }

  closeAll(): void {
    for (const connection of this.allConnections) connection.drop();
  }

  private matching({ phoneNumber, deviceId }: DeviceSelector): ClientConnection[] {
    return [...this.allConnections].filter(
      (connection) =>
        !connection.closed &&
        (phoneNumber === undefined || connection.account?.phoneNumber === phoneNumber) &&
        (deviceId === undefined || connection.deviceId === deviceId),
    );
  }

  private onPayload(connection: ClientConnection, payload: proto.ClientPayload): void {
    if (payload.devicePairingData) {
      this.pairing.admit(connection, payload.devicePairingData);
      return;
    }
    if (payload.username === null || payload.username === undefined) {
      connection.sendFailure(400);
      return;
    }
    this.logIn(connection, String(payload.username), payload.device ?? 0, payload.pushName ?? undefined);
  }

  private logIn(
    connection: ClientConnection,
    phoneNumber: string,
    deviceId: number,
    pushName?: string,
  ): void {
    const account = this.accounts.get(phoneNumber);
    const device = account?.devices.get(deviceId);
    if (
      !account ||
      !device ||
      !connection.clientStaticKey ||
      !device.noiseKey.equals(connection.clientStaticKey)
    ) {
      connection.sendFailure(401);
      return;
    }
    const key = deviceKey(phoneNumber, deviceId);
    const previous = this.connections.get(key);
    if (previous && !previous.closed) {
      this.replacedConnections++;
      previous.sendStreamError(440, node('conflict', { type: 'replaced' }));
    }
    connection.account = account;
    connection.deviceId = deviceId;
    connection.pushName = pushName;
    this.connections.set(key, connection);
    connection.send(
      node('success', {
        t: unixSeconds(),
        lid: lidDeviceJid(account, deviceId),
        props: '1',
        abprops: '1',
        location: 'sim',
        creation: unixSeconds(),
      }),
    );
    const owed = this.queue.pending(key);
    for (const stanza of owed) connection.send({ ...stanza, attrs: { ...stanza.attrs, offline: '1' } });
    connection.send(node('ib', {}, [node('offline', { count: String(owed.length) })]));
  }

  private onStanza(connection: ClientConnection, stanza: BinaryNode): void {
    if (stanza.tag === 'iq') {
      if (stanza.attrs.type === 'get' || stanza.attrs.type === 'set') handleIq(this, connection, stanza);
      return;
    }
    if (!connection.loggedIn) return;
    switch (stanza.tag) {
      case 'message':
        routeMessage(this, connection, stanza);
        break;
      case 'receipt':
        routeReceipt(this, connection, stanza);
        break;
      case 'ack':
        settleAck(this, connection, stanza);
        break;
      case 'presence':
        if (stanza.attrs.name) connection.pushName = stanza.attrs.name;
        break;
      default:
        break;
    }
  }

  private onClose(connection: ClientConnection): void {
    this.allConnections.delete(connection);
    this.pairing.forget(connection);
    if (connection.account && connection.deviceId !== undefined) {
      const key = deviceKey(connection.account.phoneNumber, connection.deviceId);
      if (this.connections.get(key) === connection) this.connections.delete(key);
    }
  }
}
