// Stanzas owed to each device until the device acks them. A device that is offline gets them all
// after its next <success>; one that drops before acking gets them again (at-least-once, like WA).
import type { BinaryNode } from '@whiskeysockets/baileys';

export function deviceKey(phoneNumber: string, deviceId: number): string {
  return `${phoneNumber}:${deviceId}`;
}

function stanzaKey(tag: string, id: string | undefined, from: string | undefined): string {
  return `${tag}|${id ?? ''}|${from ?? ''}`;
}

export class OfflineQueue {
  private readonly owed = new Map<string, Map<string, BinaryNode>>();

  hold(device: string, stanza: BinaryNode): void {
    let stanzas = this.owed.get(device);
    if (!stanzas) {
      stanzas = new Map();
      this.owed.set(device, stanzas);
    }
    stanzas.set(stanzaKey(stanza.tag, stanza.attrs.id, stanza.attrs.from), stanza);
  }

  /** A client `<ack class id to>` settles the stanza it names. */
  settle(device: string, ack: BinaryNode): void {
    const stanzas = this.owed.get(device);
    if (!stanzas) return;
    stanzas.delete(stanzaKey(ack.attrs.class ?? '', ack.attrs.id, ack.attrs.to));
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
