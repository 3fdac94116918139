// Accounts (one per phone number) and their devices: device 0 is the phone, 1..N its companions.
// This is all the server knows about a user: public keys, never a private key or a plaintext.
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { jidDecode } from '@whiskeysockets/baileys';
import { PreKeyQueue } from './prekeys.ts';

export interface SignedPreKey {
  readonly id: number;
  readonly publicKey: Buffer;
  readonly signature: Buffer;
}

export interface Device {
  readonly id: number;
  readonly noiseKey: Buffer;
  identityKey: Buffer;
  registrationId: number;
  signedPreKey: SignedPreKey;
  readonly preKeys: PreKeyQueue;
  readonly keyIndex: number;
  /** Set after the first prekey upload; a companion is then ready for messages. */
  keysUploaded: boolean;
  platform?: string;
}

export interface Account {
  readonly phoneNumber: string;
  readonly lid: string;
  readonly devices: Map<number, Device>;
  nextDeviceId: number;
  nextKeyIndex: number;
}

export interface DeviceAddress {
  readonly account: Account;
  readonly deviceId: number;
}

export interface NewDevice {
  readonly noiseKey: Buffer;
  readonly identityKey: Buffer;
  readonly registrationId: number;
  readonly signedPreKey: SignedPreKey;
  readonly platform?: string;
}

export interface AccountEvents {
  'device-removed': [address: DeviceAddress];
  'keys-uploaded': [address: DeviceAddress, firstUpload: boolean];
}

export class AccountRegistry extends EventEmitter<AccountEvents> {
  private readonly byPhone = new Map<string, Account>();
  private readonly byLid = new Map<string, Account>();

  create(phoneNumber: string, lid = randomLid()): Account {
    const existing = this.byPhone.get(phoneNumber);
    if (existing) return existing;
    const account: Account = { phoneNumber, lid, devices: new Map(), nextDeviceId: 1, nextKeyIndex: 1 };
    this.byPhone.set(phoneNumber, account);
    this.byLid.set(lid, account);
    return account;
  }

  get(phoneNumber: string): Account | undefined {
    return this.byPhone.get(phoneNumber);
  }

  all(): IterableIterator<Account> {
    return this.byPhone.values();
  }

  /** Resolves `user[:device]@s.whatsapp.net` or `lid[:device]@lid`. */
  resolve(jid: string): DeviceAddress | undefined {
    const decoded = jidDecode(jid);
    if (!decoded?.user) return undefined;
    const account = decoded.server === 'lid' ? this.byLid.get(decoded.user) : this.byPhone.get(decoded.user);
    return account ? { account, deviceId: decoded.device ?? 0 } : undefined;
  }

  addPrimaryDevice(account: Account, device: NewDevice): Device {
    return this.addDevice(account, 0, 0, device);
  }

  addCompanionDevice(account: Account, device: NewDevice): Device {
    const id = account.nextDeviceId++;
    return this.addDevice(account, id, account.nextKeyIndex++, device);
  }

  restoreDevice(account: Account, device: Device): void {
    account.devices.set(device.id, device);
  }

  removeDevice(account: Account, deviceId: number): boolean {
    if (!account.devices.delete(deviceId)) return false;
    this.emit('device-removed', { account, deviceId });
    return true;
  }

  markKeysUploaded(account: Account, device: Device): void {
    const firstUpload = !device.keysUploaded;
    device.keysUploaded = true;
    this.emit('keys-uploaded', { account, deviceId: device.id }, firstUpload);
  }

  private addDevice(account: Account, id: number, keyIndex: number, device: NewDevice): Device {
    const created: Device = { ...device, id, keyIndex, preKeys: new PreKeyQueue(), keysUploaded: false };
    account.devices.set(id, created);
    return created;
  }
}

function randomLid(): string {
  // LIDs are opaque numeric user ids, 14–15 digits in the wild.
  return `${randomInt(10_000, 99_999)}${randomInt(100_000_000, 999_999_999)}`;
}

export function phoneDeviceJid(account: Account, deviceId: number): string {
  return deviceId === 0
    ? `${account.phoneNumber}@s.whatsapp.net`
    : `${account.phoneNumber}:${deviceId}@s.whatsapp.net`;
}

export function lidDeviceJid(account: Account, deviceId: number): string {
  return deviceId === 0 ? `${account.lid}@lid` : `${account.lid}:${deviceId}@lid`;
}
