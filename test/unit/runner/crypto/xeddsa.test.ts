import { generateKeyPairSync, randomBytes, randomInt, sign } from 'node:crypto';
import { createRequire } from 'node:module';
import { Curve } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { montgomeryToEdwardsY, verifyXEdDSA } from '#runner/crypto/xeddsa.ts';

const P = 2n ** 255n - 19n;
const hex = (text: string) => Buffer.from(text, 'hex');

// libsignal's own test vector (libsignal-protocol-java Curve25519Test.testSignature): Alice's identity
// key signing her ephemeral key. Its signature has bit 255 set, so the sign-bit path is exercised.
const SIGNAL_VECTOR = {
  publicKey: hex('05ab7e717d4a163b7d9a1d8071dfe9dcf8cdcd1cea3339b6356be84d887e322c64'),
  message: hex('05edce9d9c415ca78cb7252e72c2c4a554d3eb29485a0e1d503118d1a82d99fb4a'),
  signature: hex(
    '5de88ca9a89b4a115da79109c67c9c7464a3e4180274f1cb8c63c2984e286dfbede82deb9dcd9fae0bfbb821569b3d9001bd8130cd11d486cef047bd60b86e88',
  ),
};

// The module libsignal (and so Baileys) signs and verifies with.
const curveJs = createRequire(createRequire(import.meta.url).resolve('libsignal/src/curve.js'))(
  'curve25519-js',
) as { verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean };

function flipBit(bytes: Uint8Array, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return copy;
}

function littleEndian(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, '0'), 'hex').reverse();
}

function fromLittleEndian(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).reverse().toString('hex')}`);
}

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = base % P;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

/** u = (1 + y)/(1 − y): the Montgomery form of an Ed25519 public key, for signatures made by OpenSSL. */
function edwardsToMontgomery(edwardsPublicKey: Uint8Array): Buffer {
  const y = fromLittleEndian(edwardsPublicKey) & ((1n << 255n) - 1n);
  return littleEndian((((1n + y) % P) * power((1n - y + P) % P, P - 2n)) % P);
}

describe('verifyXEdDSA', () => {
  it('accepts libsignal’s published test vector, with and without the 0x05 prefix', () => {
    const { publicKey, message, signature } = SIGNAL_VECTOR;
    expect(verifyXEdDSA(publicKey, message, signature)).toBe(true);
    expect(verifyXEdDSA(publicKey.subarray(1), message, signature)).toBe(true);
    expect(curveJs.verify(publicKey.subarray(1), message, signature)).toBe(true);
  });

  it('refuses the vector with any single bit flipped in message, signature or key', () => {
    const { publicKey, message, signature } = SIGNAL_VECTOR;
    const accepted: string[] = [];
    for (let bit = 0; bit < message.length * 8; bit += 1) {
      if (verifyXEdDSA(publicKey, flipBit(message, bit), signature)) accepted.push(`message bit ${bit}`);
    }
    for (let bit = 0; bit < 512; bit += 1) {
      if (verifyXEdDSA(publicKey, message, flipBit(signature, bit))) accepted.push(`signature bit ${bit}`);
    }
    for (let bit = 8; bit < 33 * 8; bit += 1) {
      if (verifyXEdDSA(flipBit(publicKey, bit), message, signature)) accepted.push(`key bit ${bit}`);
    }
    expect(accepted).toEqual([]);
  });

  it('agrees with curve25519-js on 200 random keys and messages signed by Baileys, and refuses every tampering', () => {
    const disagreements: string[] = [];
    for (let i = 0; i < 200; i += 1) {
      const keyPair = Curve.generateKeyPair();
      const message = randomBytes(randomInt(0, 300));
      const signature = Curve.sign(keyPair.private, message);
      if (!verifyXEdDSA(keyPair.public, message, signature)) disagreements.push(`${i}: valid refused`);
      // curve25519-js costs ~10 ms a verification: a quarter of the cases is cross-checked with it.
      if (i % 4 === 0 && !curveJs.verify(keyPair.public, message, signature)) {
        disagreements.push(`${i}: curve25519-js refused`);
      }
      const prefixed = Buffer.concat([Buffer.from([5]), keyPair.public]);
      if (!verifyXEdDSA(prefixed, message, signature)) disagreements.push(`${i}: prefixed key refused`);
      if (
        message.length > 0 &&
        verifyXEdDSA(keyPair.public, flipBit(message, randomInt(message.length * 8)), signature)
      ) {
        disagreements.push(`${i}: tampered message accepted`);
      }
      if (verifyXEdDSA(keyPair.public, message, flipBit(signature, randomInt(512)))) {
        disagreements.push(`${i}: tampered signature accepted`);
      }
      const otherKey = Curve.generateKeyPair().public;
      if (verifyXEdDSA(otherKey, message, signature)) disagreements.push(`${i}: other key accepted`);
      if (verifyXEdDSA(flipBit(keyPair.public, randomInt(254)), message, signature)) {
        disagreements.push(`${i}: tampered key accepted`);
      }
    }
    expect(disagreements).toEqual([]);
  }, 60_000);

  it('accepts spec-conformant XEdDSA signatures (sign bit in the key, not the signature) made by OpenSSL', () => {
    // An Ed25519 key whose x is "positive" is its own XEdDSA key: its plain Ed25519 signatures are
    // XEdDSA signatures of the Montgomery u. For a "negative" x, libsignal's format puts the bit in s.
    const results: Array<{ negative: boolean; verified: boolean }> = [];
    for (let i = 0; i < 40; i += 1) {
      // Encoded by the generation job itself: exporting a fresh key later can deadlock on Node 20.
      const { publicKey, privateKey } = generateKeyPairSync('ed25519', {
        publicKeyEncoding: { format: 'der', type: 'spki' },
        privateKeyEncoding: { format: 'der', type: 'pkcs8' },
      });
      const edwards = Buffer.from(publicKey.subarray(12));
      const negative = ((edwards[31] ?? 0) & 0x80) !== 0;
      const message = randomBytes(64);
      const signature = sign(null, message, { key: privateKey, format: 'der', type: 'pkcs8' });
      if (negative) signature[63] = (signature[63] ?? 0) | 0x80;
      results.push({ negative, verified: verifyXEdDSA(edwardsToMontgomery(edwards), message, signature) });
    }
    expect(results.every(({ verified }) => verified)).toBe(true);
    expect(results.some(({ negative }) => negative)).toBe(true);
    expect(results.some(({ negative }) => !negative)).toBe(true);
  });

  it('refuses malformed input by returning false, without throwing', () => {
    const { publicKey, message, signature } = SIGNAL_VECTOR;
    const raw = publicKey.subarray(1);
    const cases: Array<[string, Uint8Array, Uint8Array, Uint8Array]> = [
      ['31-byte key', raw.subarray(1), message, signature],
      ['34-byte key', Buffer.concat([publicKey, Buffer.from([0])]), message, signature],
      ['33-byte key without 0x05', Buffer.concat([Buffer.from([6]), raw]), message, signature],
      ['empty key', new Uint8Array(0), message, signature],
      ['63-byte signature', publicKey, message, signature.subarray(1)],
      ['65-byte signature', publicKey, message, Buffer.concat([signature, Buffer.from([0])])],
      ['empty signature', publicKey, message, new Uint8Array(0)],
      ['u with bit 255 set (≥ p)', Buffer.from(raw).fill((raw[31] ?? 0) | 0x80, 31), message, signature],
      ['u = p', littleEndian(P), message, signature],
      ['u = p − 1', littleEndian(P - 1n), message, signature],
      ['u = 2^255 − 1', littleEndian(2n ** 255n - 1n), message, signature],
      ['u = 0 (small order)', littleEndian(0n), message, signature],
      ['u = 1 (small order)', littleEndian(1n), message, signature],
      ['s ≥ ℓ (s + ℓ)', publicKey, message, withSPlusOrder(signature)],
      ['all-zero signature', publicKey, message, new Uint8Array(64)],
    ];
    const outcomes = cases.map(([name, key, msg, sig]) => {
      try {
        return [name, verifyXEdDSA(key, msg, sig)];
      } catch (error) {
        return [name, `threw ${(error as Error).message}`];
      }
    });
    expect(outcomes).toEqual(cases.map(([name]) => [name, false]));
  });

  it('returns false, never throws, for inputs that are not byte arrays', () => {
    const { publicKey, message, signature } = SIGNAL_VECTOR;
    const notBytes = [undefined, null, 'text', 42, [1, 2, 3], {}] as unknown as Uint8Array[];
    for (const value of notBytes) {
      expect(verifyXEdDSA(value, message, signature)).toBe(false);
      expect(verifyXEdDSA(publicKey, value, signature)).toBe(false);
      expect(verifyXEdDSA(publicKey, message, value)).toBe(false);
    }
  });

  it('is stricter than curve25519-js on a non-canonical s (s + ℓ), which Ed25519 forbids', () => {
    const { publicKey, message, signature } = SIGNAL_VECTOR;
    expect(curveJs.verify(publicKey.subarray(1), message, withSPlusOrder(signature))).toBe(true);
    expect(verifyXEdDSA(publicKey, message, withSPlusOrder(signature))).toBe(false);
  });

  it('accepts an empty message when the signature covers it', () => {
    const keyPair = Curve.generateKeyPair();
    const empty = new Uint8Array(0);
    expect(verifyXEdDSA(keyPair.public, empty, Curve.sign(keyPair.private, empty))).toBe(true);
  });
});

describe('montgomeryToEdwardsY', () => {
  it('maps u = 9 (the base point) to y = 4/5', () => {
    const y = montgomeryToEdwardsY(littleEndian(9n));
    expect(Buffer.from(y ?? []).toString('hex')).toBe(
      '5866666666666666666666666666666666666666666666666666666666666666',
    );
  });

  it('has no image for u = p − 1 or u ≥ p', () => {
    expect(montgomeryToEdwardsY(littleEndian(P - 1n))).toBeUndefined();
    expect(montgomeryToEdwardsY(littleEndian(P))).toBeUndefined();
  });
});

describe('Baileys rc14 Curve.verify (the security finding this module mends)', () => {
  it('returns true for a tampered signature, a tampered message and the wrong key', () => {
    const keyPair = Curve.generateKeyPair();
    const message = Buffer.from('intermediate certificate details');
    const signature = Curve.sign(keyPair.private, message);
    const other = Curve.generateKeyPair();

    expect(Curve.verify(keyPair.public, message, flipBit(signature, 3))).toBe(true);
    expect(Curve.verify(keyPair.public, flipBit(message, 3), signature)).toBe(true);
    expect(Curve.verify(other.public, message, signature)).toBe(true);

    expect(verifyXEdDSA(keyPair.public, message, flipBit(signature, 3))).toBe(false);
    expect(verifyXEdDSA(keyPair.public, flipBit(message, 3), signature)).toBe(false);
    expect(verifyXEdDSA(other.public, message, signature)).toBe(false);
  });
});

const ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

/** The same signature with s replaced by s + ℓ: curve25519-js accepts it, strict Ed25519 does not. */
function withSPlusOrder(signature: Uint8Array): Buffer {
  const signBit = (signature[63] ?? 0) & 0x80;
  const s = fromLittleEndian(Buffer.from(signature.subarray(32)).fill((signature[63] ?? 0) & 0x7f, 31));
  const bumped = littleEndian(s + ORDER);
  bumped[31] = (bumped[31] ?? 0) | signBit;
  return Buffer.concat([signature.subarray(0, 32), bumped]);
}
