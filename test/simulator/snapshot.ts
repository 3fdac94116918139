// Simulator state as one JSON file, so the local platform survives restarts: the root key (clients
// keep their pin), accounts and device keys, owed stanzas, media blobs and the phones' own state.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { type BinaryNode, decodeBinaryNode, encodeBinaryNode } from '@whiskeysockets/baileys';
import type { AccountRegistry, Device } from './accounts.ts';
import type { KeyPairBytes } from './cert-chain.ts';
import type { MediaStore } from './media-server.ts';
import type { OfflineQueue } from './offline-queue.ts';
import { PreKeyQueue } from './prekeys.ts';
import type { PhoneSnapshot } from './virtual-phone.ts';

const FORMAT_VERSION = 1;

interface DeviceSnapshot {
  id: number;
  noiseKey: string;
  identityKey: string;
  registrationId: number;
  signedPreKey: { id: number; publicKey: string; signature: string };
  preKeys: string;
  keyIndex: number;
  keysUploaded: boolean;
  platform?: string;
}

export interface SimulatorSnapshot {
  version: number;
  rootKeyPair: { public: string; private: string };
  accounts: Array<{
    phoneNumber: string;
    lid: string;
    nextDeviceId: number;
    nextKeyIndex: number;
    devices: DeviceSnapshot[];
  }>;
  queue: Array<{ device: string; stanzas: string[] }>;
  media: Array<{ path: string; blob: string }>;
  phones: PhoneSnapshot[];
}

export interface SnapshotSources {
  readonly rootKeyPair: KeyPairBytes;
  readonly accounts: AccountRegistry;
  readonly queue: OfflineQueue;
  readonly media: MediaStore;
  readonly phones: () => PhoneSnapshot[];
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const bytes = (text: string) => Buffer.from(text, 'base64');

export function takeSnapshot(sources: SnapshotSources): SimulatorSnapshot {
  return {
    version: FORMAT_VERSION,
    rootKeyPair: { public: b64(sources.rootKeyPair.public), private: b64(sources.rootKeyPair.private) },
    accounts: [...sources.accounts.all()].map((account) => ({
      phoneNumber: account.phoneNumber,
      lid: account.lid,
      nextDeviceId: account.nextDeviceId,
      nextKeyIndex: account.nextKeyIndex,
      devices: [...account.devices.values()].map((device) => ({
        id: device.id,
        noiseKey: b64(device.noiseKey),
        identityKey: b64(device.identityKey),
        registrationId: device.registrationId,
        signedPreKey: {
          id: device.signedPreKey.id,
          publicKey: b64(device.signedPreKey.publicKey),
          signature: b64(device.signedPreKey.signature),
        },
        preKeys: b64(device.preKeys.pack()),
        keyIndex: device.keyIndex,
        keysUploaded: device.keysUploaded,
        ...(device.platform ? { platform: device.platform } : {}),
      })),
    })),
    queue: [...sources.queue.entries()].map(([device, stanzas]) => ({
      device,
      stanzas: [...stanzas.values()].map((stanza) => b64(encodeBinaryNode(stanza))),
    })),
    media: [...sources.media.entries()].map(([path, blob]) => ({ path, blob: b64(blob) })),
    phones: sources.phones(),
  };
}

export async function writeSnapshot(file: string, snapshot: SimulatorSnapshot): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(snapshot));
  await rename(temporary, file);
}

export async function readSnapshot(file: string): Promise<SimulatorSnapshot | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const snapshot = JSON.parse(text) as SimulatorSnapshot;
  if (snapshot.version !== FORMAT_VERSION) {
    throw new Error(`snapshot ${file} has format ${snapshot.version}, expected ${FORMAT_VERSION}`);
  }
  return snapshot;
}

export function rootKeyPairOf(snapshot: SimulatorSnapshot): KeyPairBytes {
  return { public: bytes(snapshot.rootKeyPair.public), private: bytes(snapshot.rootKeyPair.private) };
}

/** Restores everything but the phones, which need the server listening first. */
export async function restoreState(
  snapshot: SimulatorSnapshot,
  targets: { accounts: AccountRegistry; queue: OfflineQueue; media: MediaStore },
): Promise<void> {
  for (const saved of snapshot.accounts) {
    const account = targets.accounts.create(saved.phoneNumber, saved.lid);
    account.nextDeviceId = saved.nextDeviceId;
    account.nextKeyIndex = saved.nextKeyIndex;
    for (const device of saved.devices) targets.accounts.restoreDevice(account, deviceFrom(device));
  }
  for (const { device, stanzas } of snapshot.queue) {
    for (const stanza of stanzas)
      targets.queue.hold(device, (await decodeBinaryNode(bytes(stanza))) as BinaryNode);
  }
  for (const { path, blob } of snapshot.media) targets.media.put(path, bytes(blob));
}

function deviceFrom(saved: DeviceSnapshot): Device {
  return {
    id: saved.id,
    noiseKey: bytes(saved.noiseKey),
    identityKey: bytes(saved.identityKey),
    registrationId: saved.registrationId,
    signedPreKey: {
      id: saved.signedPreKey.id,
      publicKey: bytes(saved.signedPreKey.publicKey),
      signature: bytes(saved.signedPreKey.signature),
    },
    preKeys: new PreKeyQueue(bytes(saved.preKeys)),
    keyIndex: saved.keyIndex,
    keysUploaded: saved.keysUploaded,
    ...(saved.platform ? { platform: saved.platform } : {}),
  };
}
