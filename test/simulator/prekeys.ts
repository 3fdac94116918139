// One-time prekeys of a device, packed into one buffer (3-byte id + 32-byte key per record) because
// a thousand connected clients upload ~800 keys each and per-key objects would dominate memory.
const RECORD_LENGTH = 35;

export interface PreKey {
  readonly id: number;
  readonly publicKey: Buffer;
}

export class PreKeyQueue {
  private records: Buffer;
  private cursor = 0;

  constructor(packed: Buffer = Buffer.alloc(0)) {
    this.records = packed;
  }

  get count(): number {
    return this.records.length / RECORD_LENGTH - this.cursor;
  }

  add(keys: readonly PreKey[]): void {
    const remaining = this.records.subarray(this.cursor * RECORD_LENGTH);
    const added = Buffer.alloc(keys.length * RECORD_LENGTH);
    keys.forEach((key, index) => {
      added.writeUIntBE(key.id, index * RECORD_LENGTH, 3);
      Buffer.from(key.publicKey).copy(added, index * RECORD_LENGTH + 3, 0, 32);
    });
    this.records = Buffer.concat([remaining, added]);
    this.cursor = 0;
  }

  /** Removes and returns the oldest key: one-time prekeys are handed out once. */
  take(): PreKey | undefined {
    if (this.count === 0) return undefined;
    const offset = this.cursor * RECORD_LENGTH;
    this.cursor += 1;
    return {
      id: this.records.readUIntBE(offset, 3),
      publicKey: Buffer.from(this.records.subarray(offset + 3, offset + RECORD_LENGTH)),
    };
  }

  /** The unconsumed records, for snapshots. */
  pack(): Buffer {
    return Buffer.from(this.records.subarray(this.cursor * RECORD_LENGTH));
  }
}
