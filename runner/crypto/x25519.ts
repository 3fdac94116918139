// Native X25519 (node:crypto) on raw 32-byte keys, in the shapes Baileys' `Curve` uses.
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { rawCurveKey } from './xeddsa.ts';

const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export interface CurveKeyPair {
  /** 32-byte private scalar (clamped by X25519 itself when used). */
  readonly private: Buffer;
  /** 32-byte Montgomery u-coordinate, without libsignal's 0x05 prefix. */
  readonly public: Buffer;
}

/**
 * X25519(privateKey, publicKey). The public key may carry libsignal's 0x05 prefix. Throws on a
 * malformed key and when the result is all zeros (a small-order peer key), as OpenSSL refuses it.
 */
export function x25519SharedKey(privateKey: Uint8Array, publicKey: Uint8Array): Buffer {
  const peer = rawCurveKey(publicKey);
  if (!peer) throw new Error('x25519: public key must be 32 bytes, or 33 with the 0x05 prefix');
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) {
    throw new Error('x25519: private key must be 32 bytes');
  }
  return diffieHellman({
    privateKey: createPrivateKey({
      key: Buffer.concat([X25519_PKCS8_PREFIX, privateKey]),
      format: 'der',
      type: 'pkcs8',
    }),
    publicKey: createPublicKey({
      key: Buffer.concat([X25519_SPKI_PREFIX, peer]),
      format: 'der',
      type: 'spki',
    }),
  });
}

export function generateX25519KeyPair(): CurveKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519', {
    publicKeyEncoding: { format: 'der', type: 'spki' },
    privateKeyEncoding: { format: 'der', type: 'pkcs8' },
  });
  return {
    private: Buffer.from(privateKey.subarray(X25519_PKCS8_PREFIX.length)),
    public: Buffer.from(publicKey.subarray(X25519_SPKI_PREFIX.length)),
  };
}

/** The X25519 public key of a private scalar. */
export function x25519PublicKey(privateKey: Uint8Array): Buffer {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) {
    throw new Error('x25519: private key must be 32 bytes');
  }
  const key = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, privateKey]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return Buffer.from(spki.subarray(X25519_SPKI_PREFIX.length));
}
