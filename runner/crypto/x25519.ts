// Native X25519 (node:crypto) on raw 32-byte keys, in the shapes Baileys' `Curve` uses.
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { rawCurveKey } from './xeddsa.ts';

const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX_LENGTH = 12;

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
  return diffieHellman({ privateKey: importPrivateKey(privateKey), publicKey: importPublicKey(peer) });
}

/**
 * Raw keys go in as JWK: OpenSSL 3 parses DER through its decoder framework, ~0.5 ms for a PKCS8
 * key and ~0.13 ms for an SPKI one, against ~0.02–0.06 ms for JWK (measured on Node 20). Node builds
 * a private OKP key from `d` alone and only checks that `x` is a string, so `x` is left empty rather
 * than paid for with a scalar multiplication; DER remains the fallback should a Node version insist.
 */
function importPrivateKey(privateKey: Uint8Array): KeyObject {
  const d = Buffer.from(privateKey).toString('base64url');
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: '' }, format: 'jwk' });
  } catch {
    return createPrivateKey({
      key: Buffer.concat([X25519_PKCS8_PREFIX, privateKey]),
      format: 'der',
      type: 'pkcs8',
    });
  }
}

function importPublicKey(publicKey: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(publicKey).toString('base64url') },
    format: 'jwk',
  });
}

/**
 * Encoded inside the generation job (DER), as libsignal does, never exported afterwards: on Node 20
 * a JWK export of a freshly generated key can deadlock with the garbage collector finalizing the
 * generation job (both take the key's mutex; seen in the simulator).
 */
export function generateX25519KeyPair(): CurveKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519', {
    publicKeyEncoding: { format: 'der', type: 'spki' },
    privateKeyEncoding: { format: 'der', type: 'pkcs8' },
  });
  return {
    private: Buffer.from(privateKey.subarray(X25519_PKCS8_PREFIX.length)),
    public: Buffer.from(publicKey.subarray(X25519_SPKI_PREFIX_LENGTH)),
  };
}

/** The X25519 public key of a private scalar. */
export function x25519PublicKey(privateKey: Uint8Array): Buffer {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) {
    throw new Error('x25519: private key must be 32 bytes');
  }
  const spki = createPublicKey(importPrivateKey(privateKey)).export({ format: 'der', type: 'spki' });
  return Buffer.from(spki.subarray(X25519_SPKI_PREFIX_LENGTH));
}
