// Linked companions created directly in server state, skipping the QR/code exchange and the
// first prekey upload: for load tests and benchmarks that need hundreds of logged-in clients.
// The keys are real (prekeys made with native X25519), so provisioned companions can message.
import { randomInt } from 'node:crypto';
import {
  Curve,
  initAuthCreds,
  proto,
  WA_ADV_ACCOUNT_SIG_PREFIX,
  WA_ADV_DEVICE_SIG_PREFIX,
} from '@whiskeysockets/baileys';
import { lidDeviceJid, phoneDeviceJid } from './accounts.ts';
import { generateRawX25519KeyPair } from './curve.ts';
import { type MemoryAuthState, memoryAuthState } from './memory-auth-state.ts';
import type { SimulatorServer } from './server.ts';

const PREKEY_COUNT = 812;

// Generating 812 key pairs per client dominates provisioning a thousand clients, so provisioned
// companions get copies of one per-process set. Fine for load tests; each device still has its own
// identity, signed prekey and Signal sessions.
let sharedPreKeys: Array<{ public: Buffer; private: Buffer }> | undefined;

function preKeyPairs() {
  sharedPreKeys ??= Array.from({ length: PREKEY_COUNT }, () => {
    const pair = generateRawX25519KeyPair();
    clamp(pair.private);
    return pair;
  });
  return sharedPreKeys;
}

/**
 * Creates (or reuses) the account of `phoneNumber` and a companion device of it, already logged
 * in once: the returned auth state logs in without pairing. The account key signing the device
 * identity is made up when the account has no virtual phone.
 */
export function provisionCompanion(server: SimulatorServer, phoneNumber: string): MemoryAuthState {
  const account = server.accounts.create(phoneNumber);
  const creds = initAuthCreds();
  const keys = new Map<string, unknown>();
  const preKeys = preKeyPairs().map((pair, index) => {
    keys.set(`pre-key/${index + 1}`, {
      public: Buffer.from(pair.public),
      private: Buffer.from(pair.private),
    });
    return { id: index + 1, publicKey: pair.public };
  });
  creds.nextPreKeyId = PREKEY_COUNT + 1;
  creds.firstUnuploadedPreKeyId = PREKEY_COUNT + 1;
  // A provisioned device behaves as one that synced history before.
  creds.accountSyncCounter = 1;
  creds.registered = true;
  const device = server.accounts.addCompanionDevice(account, {
    noiseKey: Buffer.from(creds.noiseKey.public),
    identityKey: Buffer.from(creds.signedIdentityKey.public),
    registrationId: creds.registrationId,
    signedPreKey: {
      id: creds.signedPreKey.keyId,
      publicKey: Buffer.from(creds.signedPreKey.keyPair.public),
      signature: Buffer.from(creds.signedPreKey.signature),
    },
  });
  device.preKeys.add(preKeys);
  device.keysUploaded = true;

  const accountKey = Curve.generateKeyPair();
  const details = proto.ADVDeviceIdentity.encode({
    rawId: randomInt(1, 2 ** 31),
    timestamp: Math.floor(Date.now() / 1000),
    keyIndex: device.keyIndex,
  }).finish();
  const identity = creds.signedIdentityKey.public;
  creds.account = {
    details,
    accountSignatureKey: accountKey.public,
    accountSignature: Curve.sign(
      accountKey.private,
      Buffer.concat([WA_ADV_ACCOUNT_SIG_PREFIX, details, identity]),
    ),
    deviceSignature: Curve.sign(
      creds.signedIdentityKey.private,
      Buffer.concat([WA_ADV_DEVICE_SIG_PREFIX, details, identity, accountKey.public]),
    ),
  };
  creds.me = {
    id: phoneDeviceJid(account, device.id),
    lid: lidDeviceJid(account, device.id),
    name: phoneNumber,
  };
  return memoryAuthState(creds, keys);
}

function clamp(privateKey: Buffer): void {
  privateKey[0] = (privateKey[0] ?? 0) & 248;
  privateKey[31] = ((privateKey[31] ?? 0) & 127) | 64;
}
