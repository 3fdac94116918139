// The in-memory half of a channel's envelope: built from the plaintext data key that KMS returned,
// it seals and opens the channel's values and derives opaque item ids. The data key itself is not
// kept: two subkeys are derived from it (HKDF) and held as KeyObjects, which never print their bytes.
import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { open, seal } from './aes-gcm.ts';

export interface ChannelRef {
  readonly tenantId: string;
  readonly channelId: string;
}

const KEY_BYTES = 32;
const ID_BYTES = 18; // 144 bits: no collisions among a channel's keys, 24 base64url characters

function deriveKey(dataKey: Uint8Array, channel: ChannelRef, purpose: string): KeyObject {
  const salt = `clinic-wa/${channel.tenantId}/${channel.channelId}`;
  const derived = Buffer.from(
    hkdfSync('sha256', dataKey, salt, `clinic-wa/session/${purpose}/v1`, KEY_BYTES),
  );
  const key = createSecretKey(derived);
  derived.fill(0);
  return key;
}

export class ChannelCipher {
  readonly #valueKey: KeyObject;
  readonly #idKey: KeyObject;
  readonly #aadPrefix: string;

  /** Derives the subkeys; the caller should wipe `dataKey` afterwards. */
  constructor(
    dataKey: Uint8Array,
    readonly channel: ChannelRef,
  ) {
    if (dataKey.length !== KEY_BYTES) throw new Error(`A channel data key has ${KEY_BYTES} bytes`);
    this.#valueKey = deriveKey(dataKey, channel, 'values');
    this.#idKey = deriveKey(dataKey, channel, 'item-ids');
    this.#aadPrefix = `clinic-wa/v1\u0000${channel.tenantId}\u0000${channel.channelId}\u0000`;
  }

  /** Seals `plaintext` for the item `itemKey` (its sort key) of this channel only. */
  seal(itemKey: string, plaintext: Uint8Array): Buffer {
    return seal(this.#valueKey, plaintext, this.#aad(itemKey));
  }

  open(itemKey: string, sealed: Uint8Array): Buffer {
    return open(this.#valueKey, sealed, this.#aad(itemKey));
  }

  /**
   * A stable, opaque stand-in for a key id. Signal key ids are JIDs and signal addresses (phone
   * numbers), so they must not appear in clear in the table's keys either.
   */
  itemId(type: string, id: string): string {
    return createHmac('sha256', this.#idKey)
      .update(`${type}\u0000${id}`)
      .digest()
      .subarray(0, ID_BYTES)
      .toString('base64url');
  }

  #aad(itemKey: string): Buffer {
    return Buffer.from(this.#aadPrefix + itemKey, 'utf8');
  }

  toJSON(): string {
    return '[ChannelCipher]';
  }

  [inspect.custom](): string {
    return `ChannelCipher(${this.channel.tenantId}/${this.channel.channelId})`;
  }
}
