import { createRequire } from 'node:module';
import { Curve, proto, WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateChainError } from '#runner/crypto/certificate-chain.ts';
import { installNativeCurve, nativeCurveStatus } from '#runner/crypto/install-native-curve.ts';

// What libsignal and Baileys' sender-key messages call.
const fromLibsignal = createRequire(createRequire(import.meta.url).resolve('libsignal/src/curve.js'));
const libsignalCurve = fromLibsignal('./curve.js') as {
  verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
};
const curveJs = fromLibsignal('curve25519-js') as { verify: unknown; sign: unknown };
const originalCurveJsSign = curveJs.sign;
const originalCurveJsVerify = curveJs.verify;

const root = Curve.generateKeyPair();

/** Plays Baileys' processHandshake from the client side: DH(e, E), DH(e, S), then decode the chain. */
function handshake(options: { leafKey?: Uint8Array; rootKey?: typeof root } = {}) {
  const ephemeral = Curve.generateKeyPair();
  const serverEphemeral = Curve.generateKeyPair();
  const serverStatic = Curve.generateKeyPair();
  const intermediate = Curve.generateKeyPair();
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: 0,
    key: intermediate.public,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: options.leafKey ?? serverStatic.public,
  }).finish();
  const encoded = proto.CertChain.encode({
    intermediate: {
      details: intermediateDetails,
      signature: Curve.sign((options.rootKey ?? root).private, intermediateDetails),
    },
    leaf: { details: leafDetails, signature: Curve.sign(intermediate.private, leafDetails) },
  }).finish();
  return () => {
    Curve.sharedKey(ephemeral.private, serverEphemeral.public);
    Curve.sharedKey(ephemeral.private, serverStatic.public);
    return proto.CertChain.decode(encoded);
  };
}

describe('installNativeCurve', () => {
  beforeAll(() => {
    WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(root.public);
    installNativeCurve();
  });

  it('makes Baileys’ Curve.verify (chain and ADV checks) refuse bad signatures', () => {
    const keyPair = Curve.generateKeyPair();
    const message = Buffer.from('ADV device identity');
    const signature = Curve.sign(keyPair.private, message);
    const tampered = Buffer.from(signature);
    tampered[0] = (tampered[0] ?? 0) ^ 1;

    expect(Curve.verify(keyPair.public, message, signature)).toBe(true);
    expect(Curve.verify(keyPair.public, message, tampered)).toBe(false);
    expect(Curve.verify(Curve.generateKeyPair().public, message, signature)).toBe(false);
  });

  it('routes libsignal’s signature checks (sender-key messages) to the native verification, keeping its signer', () => {
    const keyPair = Curve.generateKeyPair();
    const message = Buffer.from('sender key message');
    const signature = Curve.sign(keyPair.private, message);
    const prefixed = Buffer.concat([Buffer.from([5]), keyPair.public]);

    expect(libsignalCurve.verifySignature(prefixed, message, signature)).toBe(true);
    expect(libsignalCurve.verifySignature(prefixed, Buffer.from('another message'), signature)).toBe(false);
    expect(curveJs.verify).not.toBe(originalCurveJsVerify);
    expect(curveJs.sign).toBe(originalCurveJsSign);
  });

  it('computes Curve.sharedKey natively, equal on both sides', () => {
    const alice = Curve.generateKeyPair();
    const bob = Curve.generateKeyPair();
    expect(
      Curve.sharedKey(alice.private, bob.public).equals(Curve.sharedKey(bob.private, alice.public)),
    ).toBe(true);
  });

  it('is idempotent: a second call keeps the same functions and only updates the options', () => {
    const { verify, sharedKey } = Curve;
    const decode = proto.CertChain.decode;

    const status = installNativeCurve({ certificateChain: 'observe' });

    expect(status.certificateChain).toBe('observe');
    expect([Curve.verify, Curve.sharedKey, proto.CertChain.decode]).toEqual([verify, sharedKey, decode]);
    installNativeCurve({ certificateChain: 'enforce' });
    expect(nativeCurveStatus().certificateChain).toBe('enforce');
  });

  it('lets a handshake through when its chain is good, and counts it', () => {
    const before = nativeCurveStatus().chainsAccepted;
    const chain = handshake()();
    expect(chain.leaf?.details).toBeInstanceOf(Uint8Array);
    expect(nativeCurveStatus().chainsAccepted).toBe(before + 1);
  });

  it('fails a handshake whose chain certifies another static key, or comes from another root', () => {
    const replayed = handshake({ leafKey: Curve.generateKeyPair().public });
    expect(replayed).toThrow(CertificateChainError);
    expect(nativeCurveStatus().lastRefusal).toBe('leaf-key-mismatch');

    const foreign = handshake({ rootKey: Curve.generateKeyPair() });
    expect(foreign).toThrow(
      expect.objectContaining({ reason: 'intermediate-signature', output: { statusCode: 400 } }),
    );
  });

  it('fails closed when the decode does not follow the two handshake agreements', () => {
    const run = handshake();
    run(); // consumes the agreements
    const encoded = proto.CertChain.encode(run()).finish();
    expect(() => proto.CertChain.decode(encoded)).toThrow(
      expect.objectContaining({ reason: 'server-static-unknown' }),
    );
  });

  it('in observe mode, counts a refused chain and lets the handshake go on', () => {
    installNativeCurve({ certificateChain: 'observe' });
    try {
      const before = nativeCurveStatus().chainsRefused;
      expect(handshake({ leafKey: Curve.generateKeyPair().public })).not.toThrow();
      expect(nativeCurveStatus().chainsRefused).toBe(before + 1);
    } finally {
      installNativeCurve({ certificateChain: 'enforce' });
    }
  });
});
