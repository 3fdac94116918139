// What the stanza handlers may reach: the state and the few server actions they trigger.
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { Account, AccountRegistry, DeviceAddress } from './accounts.ts';
import type { ClientConnection } from './client-connection.ts';
import type { OfflineQueue } from './offline-queue.ts';
import type { PairingDesk } from './pairing.ts';

export interface MediaConnProvider {
  mediaConnNode(): BinaryNode;
}

export interface SimulatorContext {
  readonly accounts: AccountRegistry;
  readonly pairing: PairingDesk;
  readonly queue: OfflineQueue;
  readonly media: MediaConnProvider;
  connectionOf(address: DeviceAddress): ClientConnection | undefined;
  /** Sends now when the device is connected and keeps the stanza until the device acks it. */
  deliver(address: DeviceAddress, stanza: BinaryNode): void;
  removeDevice(account: Account, deviceId: number): void;
}
