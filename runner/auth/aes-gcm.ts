// AES-256-GCM for values at rest. Every value gets a fresh random 96-bit IV; the additional
// authenticated data (AAD) names the value's place, so a ciphertext that is moved, copied or swapped
// fails authentication instead of decrypting in the wrong place.
import { createCipheriv, createDecipheriv, type KeyObject, randomBytes } from 'node:crypto';

const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES;

export class SealedValueError extends Error {
  constructor(reason: string) {
    super(`Cannot open sealed value: ${reason}`);
    this.name = 'SealedValueError';
  }
}

/** `format (1) | iv (12) | ciphertext | tag (16)`. */
export function seal(key: KeyObject, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(FORMAT), iv, body, cipher.getAuthTag()]);
}

export function open(key: KeyObject, sealed: Uint8Array, aad: Uint8Array): Buffer {
  if (sealed.length < HEADER_BYTES + TAG_BYTES) throw new SealedValueError('too short');
  if (sealed[0] !== FORMAT) throw new SealedValueError(`unknown format ${sealed[0]}`);
  const iv = sealed.subarray(1, HEADER_BYTES);
  const body = sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    // Node says only "Unsupported state or unable to authenticate data"; say what it means here.
    throw new SealedValueError('authentication failed (wrong key, wrong place or tampered)');
  }
}
