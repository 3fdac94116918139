// Sealed values as items: the sealed bytes go in attribute `v`; a value too large for one item
// continues in part items (`<sk>#P1`, …) and the first item records how many parts there are.
import { partSk, splitIntoParts } from './key-layout.ts';
import {
  type ItemKey,
  type SessionTable,
  type SessionWrite,
  SessionTable as Table,
} from './session-table.ts';

export interface SealedRead {
  readonly sealed: Buffer;
  readonly parts: number;
}

export class CorruptSessionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptSessionError';
  }
}

/** Puts `sealed` at `sk`, deleting the parts a previous, larger value left beyond the new ones. */
export function sealedWrites(
  pk: string,
  sk: string,
  sealed: Buffer,
  previousParts = 1,
): { writes: SessionWrite[]; parts: number } {
  const chunks = splitIntoParts(sealed);
  const writes: SessionWrite[] = chunks.map((bytes, index) =>
    index === 0
      ? { put: { pk, sk, v: bytes, ...(chunks.length > 1 ? { parts: chunks.length } : {}) } }
      : { put: { pk, sk: partSk(sk, index), v: bytes } },
  );
  writes.push(...partDeletes(pk, sk, chunks.length, previousParts));
  return { writes, parts: chunks.length };
}

export function deleteWrites(pk: string, sk: string, knownParts = 1): SessionWrite[] {
  return [{ delete: { pk, sk } }, ...partDeletes(pk, sk, 1, knownParts)];
}

function partDeletes(pk: string, sk: string, from: number, to: number): SessionWrite[] {
  const deletes: SessionWrite[] = [];
  for (let part = Math.max(1, from); part < to; part++)
    deletes.push({ delete: { pk, sk: partSk(sk, part) } });
  return deletes;
}

/** Reads the sealed values at `keys` (two rounds only when some value has parts), by `SessionTable.keyOf`. */
export async function readSealed(
  table: SessionTable,
  keys: readonly ItemKey[],
): Promise<Map<string, SealedRead>> {
  const values = new Map<string, SealedRead>();
  for (const [key, read] of await assembleSealed(table, await table.getMany(keys))) {
    if (read instanceof Error) throw read;
    values.set(key, read);
  }
  return values;
}

/** Like readSealed, for items already read; a value missing a part is an error in the map, not thrown. */
export async function assembleSealed(
  table: SessionTable,
  items: ReadonlyMap<string, ItemKey & Record<string, unknown>>,
): Promise<Map<string, SealedRead | CorruptSessionError>> {
  const partKeys: ItemKey[] = [];
  for (const item of items.values()) {
    const parts = typeof item.parts === 'number' ? item.parts : 1;
    for (let part = 1; part < parts; part++) partKeys.push({ pk: item.pk, sk: partSk(item.sk, part) });
  }
  const partItems = partKeys.length > 0 ? await table.getMany(partKeys) : new Map();
  const values = new Map<string, SealedRead | CorruptSessionError>();
  for (const [key, item] of items) {
    if (!(item.v instanceof Uint8Array)) continue; // not a sealed item (META)
    const parts = typeof item.parts === 'number' ? item.parts : 1;
    const chunks: Uint8Array[] = [item.v];
    for (let part = 1; part < parts; part++) {
      const bytes = partItems.get(Table.keyOf({ pk: item.pk, sk: partSk(item.sk, part) }))?.v;
      if (bytes instanceof Uint8Array) chunks.push(bytes);
    }
    values.set(
      key,
      chunks.length === parts
        ? { sealed: Buffer.concat(chunks), parts }
        : new CorruptSessionError(`${item.sk} lacks ${parts - chunks.length} of its ${parts} parts`),
    );
  }
  return values;
}
