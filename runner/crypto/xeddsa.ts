// XEdDSA signature verification (Signal's curve25519 signatures, as made by libsignal and
// curve25519-js) on node:crypto's native Ed25519. Only the Montgomery → Edwards conversion of the
// public key is done here, in BigInt, on public data; the curve arithmetic is OpenSSL's.
//
// Signal's format (libsignal `curve_sigs`, curve25519-js `sign`/`verify`): the public key is a
// Montgomery u-coordinate; the Edwards y is (u − 1)/(u + 1) mod p; the sign bit of the Edwards x is
// carried in bit 255 of the signature (the top bit of its s half), which is cleared before the
// signature is checked as plain Ed25519. A spec-conformant XEdDSA signer always produces a key whose
// sign bit is 0 and an s below 2^253, so both kinds of signatures verify here.
import { createPublicKey, type KeyObject, verify } from 'node:crypto';

const P = 2n ** 255n - 19n;

/** Version byte libsignal puts in front of a 32-byte curve25519 public key. */
export const SIGNAL_KEY_TYPE = 0x05;

/**
 * u-coordinates of the points of small order on curve25519 (and their non-canonical forms ≥ p are
 * rejected by the range check). A signature under such a key can be forged for any message.
 */
const SMALL_ORDER_U = new Set<bigint>([
  0n,
  1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
]);

/** Converted keys, by u-coordinate and sign bit: the same few keys (WhatsApp's root, identity keys) recur. */
const keyCache = new Map<string, KeyObject | null>();
const KEY_CACHE_LIMIT = 1024;

/**
 * Verifies a Signal/XEdDSA signature. `publicKey` is the 32-byte Montgomery u-coordinate, or 33 bytes
 * with libsignal's 0x05 prefix. Returns false for a bad signature and for any malformed input (wrong
 * lengths or types, u ≥ p, u = p − 1, a small-order key, s ≥ ℓ); never throws.
 */
export function verifyXEdDSA(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(message instanceof Uint8Array) || !(signature instanceof Uint8Array) || signature.length !== 64) {
    return false;
  }
  const raw = rawCurveKey(publicKey);
  if (!raw) return false;
  const signBit = (signature[63] ?? 0) & 0x80;
  const key = edwardsKey(raw, signBit);
  if (!key) return false;
  const plainSignature = Buffer.from(signature);
  plainSignature[63] = (plainSignature[63] ?? 0) & 0x7f;
  try {
    return verify(null, message, key, plainSignature);
  } catch {
    return false;
  }
}

/** The 32 bytes of a curve25519 public key, without libsignal's prefix; undefined when malformed. */
export function rawCurveKey(publicKey: Uint8Array): Uint8Array | undefined {
  if (!(publicKey instanceof Uint8Array)) return undefined;
  if (publicKey.length === 32) return publicKey;
  if (publicKey.length === 33 && publicKey[0] === SIGNAL_KEY_TYPE) return publicKey.subarray(1);
  return undefined;
}

/**
 * Edwards y-coordinate (little-endian, 32 bytes, sign bit clear) of a Montgomery u-coordinate, or
 * undefined when u has no birational image (u = p − 1) or is out of range.
 */
export function montgomeryToEdwardsY(montgomeryU: Uint8Array): Uint8Array | undefined {
  if (!(montgomeryU instanceof Uint8Array) || montgomeryU.length !== 32) return undefined;
  const u = fromLittleEndian(montgomeryU);
  if (u >= P || u === P - 1n) return undefined;
  return toLittleEndian(edwardsY(u));
}

/** The Ed25519 public key for a Montgomery u and a sign bit; null when u is refused. */
function edwardsKey(raw: Uint8Array, signBit: number): KeyObject | null {
  const cacheKey = `${Buffer.from(raw).toString('hex')}:${signBit}`;
  const cached = keyCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const key = importEdwardsKey(fromLittleEndian(raw), signBit);
  if (keyCache.size >= KEY_CACHE_LIMIT) {
    const oldest = keyCache.keys().next().value;
    if (oldest !== undefined) keyCache.delete(oldest);
  }
  keyCache.set(cacheKey, key);
  return key;
}

function importEdwardsKey(u: bigint, signBit: number): KeyObject | null {
  // XEdDSA rejects u ≥ p (which includes a set bit 255); u = p − 1 has no Edwards image.
  if (u >= P || u === P - 1n || SMALL_ORDER_U.has(u)) return null;
  const encoded = toLittleEndian(edwardsY(u));
  encoded[31] = (encoded[31] ?? 0) | signBit;
  try {
    // JWK rather than SPKI DER: OpenSSL 3's DER decoder costs ~0.13 ms a key, JWK ~0.015 ms.
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(encoded).toString('base64url') },
      format: 'jwk',
    });
  } catch {
    return null;
  }
}

/** y = (u − 1)/(u + 1) mod p, for 0 ≤ u < p − 1. */
function edwardsY(u: bigint): bigint {
  return mod((u - 1n) * invert(u + 1n));
}

/** Modular inverse by the extended Euclidean algorithm (ten times faster than a BigInt exponentiation). */
function invert(value: bigint): bigint {
  let [r0, r1] = [mod(value), P];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0);
}

function mod(value: bigint): bigint {
  const rest = value % P;
  return rest < 0n ? rest + P : rest;
}

function fromLittleEndian(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).reverse().toString('hex') || '0'}`);
}

function toLittleEndian(value: bigint): Uint8Array {
  return Buffer.from(value.toString(16).padStart(64, '0'), 'hex').reverse();
}
