// Stanzas owed to each device until the device acks them. A device that is offline gets them all
// after its next <success>; one that drops before acking gets them again (at-least-once, like WA).
import type { BinaryNode } from '@whiskeysockets/baileys';

export function deviceKey(phoneNumber: string, deviceId: number): string {
  return `${phoneNumber}:${deviceId}`;
}

// Receipts for one message id differ by type (delivery, read); other stanzas are unique by id.
function stanzaKey(tag: string, id: string | undefined, type: string | undefined): string {
  return tag === 'receipt' ? `${tag}|${id ?? ''}|${type ?? ''}` : `${tag}|${id ?? ''}`;
}

export class OfflineQueue {
  private readonly owed = new Map<string, Map<string, BinaryNode>>();

  hold(device: string, stanza: BinaryNode): void {
    let stanzas = this.owed.get(device);
    if (!stanzas) {
      stanzas = new Map();
      this.owed.set(device, stanzas);
    }
    stanzas.set(stanzaKey(stanza.tag, stanza.attrs.id, stanza.attrs.type), stanza);
  }

  /** A client `<ack class id type>` settles the stanza it names. */
  settle(device: string, tag: string, id: string, type?: string): void {
    const stanzas = this.owed.get(device);
    if (!stanzas) return;
    stanzas.delete(stanzaKey(tag, id, type));
    if (stanzas.size === 0) this.owed.delete(device);
  }

  pending(device: string): BinaryNode[] {
    return [...(this.owed.get(device)?.values() ?? [])];
  }

  count(device: string): number {
    return this.owed.get(device)?.size ?? 0;
  }

  forget(device: string): void {
    this.owed.delete(device);
  }

  entries(): IterableIterator<[string, Map<string, BinaryNode>]> {
    return this.owed.entries();
  }
}
