// Where a channel's session lives in the sessions table. Everything of one channel shares one
// partition, so a channel is read with one BatchGetItem and erased with one Query plus deletes.
//
//   pk SESSION#<tenantId>#<channelId>
//     sk META                      encrypted data key, key ARN, created at, format version (clear)
//     sk CREDS                     Baileys creds (sealed)
//     sk PREKEYS#<bucket>          up to PRE_KEYS_PER_BUCKET pre-keys, id -> key pair (sealed as one)
//     sk KEY#<type>#<opaque id>    any other Signal key, one per item (sealed)
//     sk <one of the above>#P<n>   continuation parts of a value too large for one item
import type { ChannelRef } from './channel-cipher.ts';

export const FORMAT_VERSION = 1;
export const META_SK = 'META';
export const CREDS_SK = 'CREDS';

/**
 * Baileys uploads 812 pre-keys at first login and afterwards reads and deletes them one at a time
 * (one per new contact session). Buckets of 50 put the first upload in 17 items (one transaction)
 * while a single deletion rewrites only ~7 KB.
 */
export const PRE_KEYS_PER_BUCKET = 50;

/** Sealed bytes per item; DynamoDB's limit is 400 KB per item including names and keys. */
export const MAX_VALUE_BYTES_PER_ITEM = 350 * 1024;

export const sessionPk = (channel: ChannelRef): string => `SESSION#${channel.tenantId}#${channel.channelId}`;

export const signalKeySk = (type: string, opaqueId: string): string => `KEY#${type}#${opaqueId}`;

export const preKeyBucketSk = (bucket: number): string => `PREKEYS#${String(bucket).padStart(6, '0')}`;

export const partSk = (sk: string, part: number): string => `${sk}#P${part}`;

export function preKeyBucketOf(id: string): number {
  const numeric = Number(id);
  if (!/^\d+$/.test(id) || !Number.isSafeInteger(numeric))
    throw new Error(`Pre-key id must be a number: ${id}`);
  return Math.floor(numeric / PRE_KEYS_PER_BUCKET);
}

/** Pre-key ids grouped by bucket, buckets in ascending order. */
export function groupByBucket<T>(entries: Iterable<[id: string, value: T]>): Map<number, Map<string, T>> {
  const buckets = new Map<number, Map<string, T>>();
  for (const [id, value] of entries) {
    const bucket = preKeyBucketOf(id);
    let ids = buckets.get(bucket);
    if (!ids) {
      ids = new Map();
      buckets.set(bucket, ids);
    }
    ids.set(id, value);
  }
  return new Map([...buckets].sort(([a], [b]) => a - b));
}

/** Cuts a sealed value into item-sized parts (one part when it fits). */
export function splitIntoParts(sealed: Buffer, maxBytes: number = MAX_VALUE_BYTES_PER_ITEM): Buffer[] {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < sealed.length; offset += maxBytes)
    parts.push(sealed.subarray(offset, offset + maxBytes));
  return parts.length > 0 ? parts : [sealed];
}

/** Consecutive chunks holding at most `maxCount` items and `maxBytes` of `sizeOf` each (an item larger than `maxBytes` gets its own chunk). */
export function chunk<T>(
  items: readonly T[],
  maxCount: number,
  maxBytes: number,
  sizeOf: (item: T) => number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= maxCount || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
