// Small helpers over Baileys' BinaryNode so handlers read like the stanzas they build.
import type { BinaryNode } from '@whiskeysockets/baileys';

export const SERVER_JID = 's.whatsapp.net';

export function node(
  tag: string,
  attrs: Record<string, string> = {},
  content?: BinaryNode['content'],
): BinaryNode {
  return content === undefined ? { tag, attrs } : { tag, attrs, content };
}

export function childrenOf(parent: BinaryNode | undefined): BinaryNode[] {
  return Array.isArray(parent?.content) ? parent.content : [];
}

export function childOf(parent: BinaryNode | undefined, tag: string): BinaryNode | undefined {
  return childrenOf(parent).find((child) => child.tag === tag);
}

export function bytesOf(target: BinaryNode | undefined): Buffer | undefined {
  const content = target?.content;
  if (content instanceof Uint8Array) return Buffer.from(content);
  if (typeof content === 'string') return Buffer.from(content, 'utf8');
  return undefined;
}

export function childBytes(parent: BinaryNode | undefined, tag: string): Buffer | undefined {
  return bytesOf(childOf(parent, tag));
}

export function iqResult(request: BinaryNode, content?: BinaryNode[]): BinaryNode {
  return node('iq', { id: request.attrs.id ?? '', type: 'result', from: SERVER_JID }, content);
}

export function iqError(request: BinaryNode, code: number, text: string): BinaryNode {
  return node('iq', { id: request.attrs.id ?? '', type: 'error', from: SERVER_JID }, [
    node('error', { code: String(code), text }),
  ]);
}

export function unixSeconds(): string {
  return String(Math.floor(Date.now() / 1000));
}

export function bigEndian(value: number, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  out.writeUIntBE(value, 0, bytes);
  return out;
}
