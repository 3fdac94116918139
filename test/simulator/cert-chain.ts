// The simulator's own Noise certificate chain: root → intermediate → leaf (the server static key).
// Clients pin the root public key through Baileys' WA_CERT_DETAILS.PUBLIC_KEY.
import { Curve, proto, WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import { generateX25519KeyPair, type X25519KeyPair } from './curve.ts';

export interface KeyPairBytes {
  readonly public: Uint8Array;
  readonly private: Uint8Array;
}

export interface ServerIdentity {
  readonly rootKeyPair: KeyPairBytes;
  readonly staticKeyPair: X25519KeyPair;
  /** Encoded `CertChain` sent in the server hello. */
  readonly certChain: Buffer;
}

export function generateRootKeyPair(): KeyPairBytes {
  return Curve.generateKeyPair();
}

export function createServerIdentity(rootKeyPair: KeyPairBytes = generateRootKeyPair()): ServerIdentity {
  const intermediateKeyPair = Curve.generateKeyPair();
  const staticKeyPair = generateX25519KeyPair();
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: WA_CERT_DETAILS.SERIAL,
    key: intermediateKeyPair.public,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: staticKeyPair.public,
  }).finish();
  const certChain = proto.CertChain.encode({
    intermediate: {
      details: intermediateDetails,
      signature: Curve.sign(rootKeyPair.private, intermediateDetails),
    },
    leaf: { details: leafDetails, signature: Curve.sign(intermediateKeyPair.private, leafDetails) },
  }).finish();
  return { rootKeyPair, staticKeyPair, certChain: Buffer.from(certChain) };
}
