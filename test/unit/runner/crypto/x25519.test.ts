import { createRequire } from 'node:module';
import { Curve } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { generateX25519KeyPair, x25519PublicKey, x25519SharedKey } from '#runner/crypto/x25519.ts';

const hex = (text: string) => Buffer.from(text, 'hex');

// RFC 7748 section 6.1.
const RFC7748 = {
  alicePrivate: hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'),
  alicePublic: hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'),
  bobPrivate: hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'),
  bobPublic: hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'),
  shared: hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'),
};

const curveJs = createRequire(createRequire(import.meta.url).resolve('libsignal/src/curve.js'))(
  'curve25519-js',
) as { sharedKey(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array };

describe('native X25519', () => {
  it('reproduces the RFC 7748 public keys and shared secret', () => {
    expect(x25519PublicKey(RFC7748.alicePrivate).toString('hex')).toBe(RFC7748.alicePublic.toString('hex'));
    expect(x25519PublicKey(RFC7748.bobPrivate).toString('hex')).toBe(RFC7748.bobPublic.toString('hex'));
    expect(x25519SharedKey(RFC7748.alicePrivate, RFC7748.bobPublic).toString('hex')).toBe(
      RFC7748.shared.toString('hex'),
    );
    expect(x25519SharedKey(RFC7748.bobPrivate, RFC7748.alicePublic).toString('hex')).toBe(
      RFC7748.shared.toString('hex'),
    );
  });

  it('equals curve25519-js and Baileys’ Curve.sharedKey for 200 random Baileys key pairs', () => {
    const mismatches: number[] = [];
    for (let i = 0; i < 200; i += 1) {
      const ours = Curve.generateKeyPair();
      const theirs = i % 2 === 0 ? Curve.generateKeyPair() : generateX25519KeyPair();
      const native = x25519SharedKey(ours.private, theirs.public);
      const prefixed = x25519SharedKey(ours.private, Buffer.concat([Buffer.from([5]), theirs.public]));
      const js = Buffer.from(curveJs.sharedKey(ours.private, theirs.public));
      const baileys = Curve.sharedKey(ours.private, theirs.public);
      const reverse = x25519SharedKey(theirs.private, ours.public);
      if (![prefixed, js, baileys, reverse].every((other) => other.equals(native))) mismatches.push(i);
    }
    expect(mismatches).toEqual([]);
  });

  it('derives the public key Baileys derived for its own key pairs', () => {
    for (let i = 0; i < 20; i += 1) {
      const pair = Curve.generateKeyPair();
      expect(x25519PublicKey(pair.private).equals(pair.public)).toBe(true);
    }
  });

  it('throws on malformed keys and on a small-order peer key (all-zero secret)', () => {
    const pair = generateX25519KeyPair();
    expect(() => x25519SharedKey(pair.private, new Uint8Array(31))).toThrow(/public key/);
    expect(() => x25519SharedKey(pair.private, Buffer.concat([Buffer.from([6]), pair.public]))).toThrow(
      /public key/,
    );
    expect(() => x25519SharedKey(new Uint8Array(31), pair.public)).toThrow(/private key/);
    expect(() => x25519SharedKey(pair.private, new Uint8Array(32))).toThrow();
  });
});
