import { createHmac } from 'node:crypto';
import {
  type BinaryNode,
  Curve,
  configureSuccessfulPairing,
  initAuthCreds,
  proto,
  WA_ADV_ACCOUNT_SIG_PREFIX,
} from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { installNativeCurve } from '#runner/crypto/install-native-curve.ts';

// Baileys' pairing step (`configureSuccessfulPairing`) checks the phone's account signature over
// [6,0] ‖ device details ‖ our identity key with `Curve.verify`: rc14's accepts a forged one, the
// native one does not. The tests run in order: stock Baileys first, then with the native curve.
const creds = initAuthCreds();

function pairSuccess(forge: boolean): BinaryNode {
  const account = Curve.generateKeyPair();
  const deviceDetails = proto.ADVDeviceIdentity.encode({
    rawId: 7,
    timestamp: 1_764_000_000,
    keyIndex: 1,
  }).finish();
  const signed = Buffer.concat([WA_ADV_ACCOUNT_SIG_PREFIX, deviceDetails, creds.signedIdentityKey.public]);
  const accountSignature = Buffer.from(Curve.sign(account.private, signed));
  if (forge) accountSignature[10] = (accountSignature[10] ?? 0) ^ 0x01;
  const details = proto.ADVSignedDeviceIdentity.encode({
    details: deviceDetails,
    accountSignatureKey: account.public,
    accountSignature,
  }).finish();
  // The HMAC with the QR's ADV secret is checked for real even in rc14: make it right.
  const hmac = createHmac('sha256', Buffer.from(creds.advSecretKey, 'base64')).update(details).digest();
  return {
    tag: 'iq',
    attrs: { id: 'pair-1', type: 'set', from: 's.whatsapp.net' },
    content: [
      {
        tag: 'pair-success',
        attrs: {},
        content: [
          {
            tag: 'device-identity',
            attrs: {},
            content: proto.ADVSignedDeviceIdentityHMAC.encode({ details, hmac }).finish(),
          },
          { tag: 'platform', attrs: { name: 'smba' } },
          { tag: 'device', attrs: { jid: '5511900000001:1@s.whatsapp.net', lid: '111111111111111:1@lid' } },
        ],
      },
    ],
  };
}

describe('ADV account signature at pairing', () => {
  it('stock rc14 accepts a forged account signature (the finding)', () => {
    expect(() => configureSuccessfulPairing(pairSuccess(true), creds)).not.toThrow();
  });

  it('with the native curve, accepts the genuine signature and refuses the forged one', () => {
    installNativeCurve();

    const paired = configureSuccessfulPairing(pairSuccess(false), creds);

    expect(paired.creds.me?.id).toBe('5511900000001:1@s.whatsapp.net');
    expect(() => configureSuccessfulPairing(pairSuccess(true), creds)).toThrow(
      'Failed to verify account signature',
    );
  });
});
