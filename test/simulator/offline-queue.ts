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
  /** Per device, in delivery order; a message sent again (a retry) is a second entry of its id. */
  private readonly owed = new Map<string, Map<string, BinaryNode>>();
  private sequence = 0;

  hold(device: string, stanza: BinaryNode): void {
    let stanzas = this.owed.get(device);
    if (!stanzas) {
      stanzas = new Map();
      this.owed.set(device, stanzas);
    }
    const key = stanzaKey(stanza.tag, stanza.attrs.id, stanza.attrs.type);
    // Receipts of one type replace each other; a message resent after a retry receipt is another
    // delivery, and the client's answer to the first one (a late nack) must not settle it.
    if (stanza.tag === 'message' && stanzas.has(key)) stanzas.set(`${key}#${++this.sequence}`, stanza);
    else stanzas.set(key, stanza);
  }

  /**
   * A client `<ack class id type>` settles the oldest stanza it names; a receipt answering a message
   * (`all`) settles every delivery of it.
   */
  settle(device: string, tag: string, id: string, type?: string, options: { all?: boolean } = {}): void {
    const stanzas = this.owed.get(device);
    if (!stanzas) return;
    const key = stanzaKey(tag, id, type);
    for (const held of [...stanzas.keys()]) {
      if (held !== key && !held.startsWith(`${key}#`)) continue;
      stanzas.delete(held);
      if (!options.all) break;
    }
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
