// Native X25519 for the server side of the handshake: the simulator holds one Noise session per
// client, and node:crypto's X25519 is an order of magnitude cheaper than the pure-JS curve.
//
// Keys are encoded inside the generation job (DER) and never exported afterwards: on Node 20 a
// JWK export of a freshly generated key can deadlock with the garbage collector finalizing the
// generation job (both take the key's mutex).
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';

const SPKI_X25519_PREFIX_LENGTH = 12;
const PKCS8_X25519_PREFIX_LENGTH = 16;

export interface X25519KeyPair {
  readonly public: Buffer;
  readonly privateKey: KeyObject;
}

export function generateX25519KeyPair(): X25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519', {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  const rawPublic = publicKey.subarray(SPKI_X25519_PREFIX_LENGTH);
  // Importing as JWK: OpenSSL 3's DER decoder costs ~0.5 ms a key, once per handshake here.
  const jwk = {
    kty: 'OKP',
    crv: 'X25519',
    d: privateKey.subarray(PKCS8_X25519_PREFIX_LENGTH).toString('base64url'),
    x: rawPublic.toString('base64url'),
  };
  return { public: rawPublic, privateKey: createPrivateKey({ key: jwk, format: 'jwk' }) };
}

/** A key pair as raw 32-byte strings, the form Baileys keeps in its key store. */
export function generateRawX25519KeyPair(): { public: Buffer; private: Buffer } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519', {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  return {
    public: publicKey.subarray(SPKI_X25519_PREFIX_LENGTH),
    private: privateKey.subarray(PKCS8_X25519_PREFIX_LENGTH),
  };
}

export function x25519SharedKey(ownKey: X25519KeyPair, peerPublicKey: Uint8Array): Buffer {
  const peerKey = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peerPublicKey).toString('base64url') },
    format: 'jwk',
  });
  return diffieHellman({ privateKey: ownKey.privateKey, publicKey: peerKey });
}
