// Native X25519 for the server side of the handshake: the simulator holds one Noise session per
// client, and node:crypto's X25519 is an order of magnitude cheaper than the pure-JS curve.
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';

export interface X25519KeyPair {
  readonly public: Buffer;
  readonly private: Buffer;
}

export function generateX25519KeyPair(): X25519KeyPair {
  const { privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return { public: fromBase64Url(jwk.x), private: fromBase64Url(jwk.d) };
}

export function x25519SharedKey(privateKey: X25519KeyPair, peerPublicKey: Uint8Array): Buffer {
  const ownKey = createPrivateKey({
    key: { kty: 'OKP', crv: 'X25519', d: toBase64Url(privateKey.private), x: toBase64Url(privateKey.public) },
    format: 'jwk',
  });
  const peerKey = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: toBase64Url(peerPublicKey) },
    format: 'jwk',
  });
  return diffieHellman({ privateKey: ownKey, publicKey: peerKey });
}

function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function fromBase64Url(text: string | undefined): Buffer {
  if (!text) throw new Error('x25519 key export lacks a component');
  return Buffer.from(text, 'base64url');
}
