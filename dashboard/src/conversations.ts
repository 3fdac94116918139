// A channel's messages grouped into conversations, one per contact, newest first. Pure.

export interface ConversationSource {
  readonly id: string;
  readonly direction: 'outbound' | 'inbound';
  readonly contact: { readonly phoneNumber: string | null; readonly lid: string | null };
  readonly type: string;
  readonly createdAt: string;
  readonly [key: string]: unknown;
}

export interface Conversation<M extends ConversationSource> {
  /** The contact as the messages route filters by it: the E.164 number (or the LID when none). */
  readonly contact: string;
  readonly last: M;
  readonly count: number;
}

export function contactOf(message: ConversationSource): string | null {
  return message.contact.phoneNumber ?? message.contact.lid;
}

/** Messages (any order) → conversations, the one with the latest message first. */
export function conversationsOf<M extends ConversationSource>(messages: readonly M[]): Conversation<M>[] {
  const byContact = new Map<string, { last: M; count: number }>();
  for (const message of messages) {
    const contact = contactOf(message);
    if (!contact) continue;
    const entry = byContact.get(contact);
    if (!entry) byContact.set(contact, { last: message, count: 1 });
    else {
      entry.count += 1;
      if (message.createdAt > entry.last.createdAt) entry.last = message;
    }
  }
  return [...byContact.entries()]
    .map(([contact, { last, count }]) => ({ contact, last, count }))
    .sort((a, b) => (a.last.createdAt < b.last.createdAt ? 1 : a.last.createdAt > b.last.createdAt ? -1 : 0));
}

/** A one-line preview of a message's content: its text, caption, or its kind. */
export function previewOf(message: ConversationSource): { text: string | null; kind: string } {
  const content = message[message.type];
  if (content && typeof content === 'object') {
    const record = content as Record<string, unknown>;
    for (const field of ['body', 'caption', 'name', 'emoji', 'filename']) {
      const value = record[field];
      if (typeof value === 'string' && value) return { text: value, kind: message.type };
    }
  }
  return { text: null, kind: message.type };
}
