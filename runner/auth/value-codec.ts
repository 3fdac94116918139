// Values are Baileys objects full of Buffers and Uint8Arrays; Baileys' BufferJSON round-trips them
// through JSON (bytes come back as Buffers, which are Uint8Arrays with the same bytes).
import { BufferJSON } from '@whiskeysockets/baileys';

export function encodeValue(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, BufferJSON.replacer), 'utf8');
}

export function decodeValue<T = unknown>(bytes: Uint8Array): T {
  return JSON.parse(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
    BufferJSON.reviver,
  ) as T;
}
