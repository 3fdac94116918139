// A conversation's page is named by a key that means nothing outside this tab, never by the
// contact's number: page paths are written into CloudFront's access logs (and the browser's history),
// and a patient's number is personal data (LGPD; no log holds a full phone number). The keys and the
// contacts they stand for live in this tab's sessionStorage, beside the signed-in key: a reload finds
// them, another tab's session does not (its page goes back to the channel), signing out drops them.

/** What the keys are kept in: the tab's sessionStorage in the browser. */
export type KeyStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export const CONVERSATION_KEYS_STORAGE = 'clinic-wa.conversations';
/** Letters only: a key has no digit, so nothing of a number can show through it. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';
/** 16 letters: 75 random bits, never guessed, never repeated within a tab. */
export const KEY_LENGTH = 16;
/** Bytes from 234 (9 × 26) up are dropped, so that every letter is as likely as any other. */
const UNBIASED_BELOW = Math.floor(256 / ALPHABET.length) * ALPHABET.length;
/**
 * The contacts a tab remembers at most (a channel's page lists up to 100); past it the oldest is
 * forgotten, and a link to it leads back to its channel.
 */
export const MAX_REMEMBERED = 500;

export interface ConversationKeys {
  /** The contact's key: the same every time, for as long as this tab remembers the contact. */
  keyOf(contact: string): string;
  /** The contact a key stands for; null for a key of another tab or session, or one forgotten. */
  contactOf(key: string): string | null;
  /** Forgets every contact (signing out). */
  forget(): void;
}

export function conversationKeys(
  storage: KeyStorage,
  randomBytes: (count: number) => Uint8Array = (count) => crypto.getRandomValues(new Uint8Array(count)),
): ConversationKeys {
  // Read once: only this tab writes its sessionStorage.
  let contacts: Map<string, string> | null = null;
  const remembered = () => {
    contacts ??= read(storage);
    return contacts;
  };
  const newKey = () => {
    let key = '';
    while (key.length < KEY_LENGTH) {
      for (const byte of randomBytes(KEY_LENGTH)) {
        if (byte < UNBIASED_BELOW && key.length < KEY_LENGTH) key += ALPHABET[byte % ALPHABET.length];
      }
    }
    return key;
  };
  return {
    keyOf(contact) {
      const byKey = remembered();
      for (const [key, known] of byKey) if (known === contact) return key;
      let key = newKey();
      while (byKey.has(key)) key = newKey();
      byKey.set(key, contact);
      for (const oldest of byKey.keys()) {
        if (byKey.size <= MAX_REMEMBERED) break;
        byKey.delete(oldest);
      }
      try {
        storage.setItem(CONVERSATION_KEYS_STORAGE, JSON.stringify(Object.fromEntries(byKey)));
      } catch {
        // Storage full or refused: the key still works until the page is reloaded.
      }
      return key;
    },
    contactOf(key) {
      return remembered().get(key) ?? null;
    },
    forget() {
      contacts = new Map();
      storage.removeItem(CONVERSATION_KEYS_STORAGE);
    },
  };
}

function read(storage: KeyStorage): Map<string, string> {
  try {
    const stored = JSON.parse(storage.getItem(CONVERSATION_KEYS_STORAGE) ?? '{}') as unknown;
    if (stored && typeof stored === 'object' && !Array.isArray(stored))
      return new Map(
        Object.entries(stored).filter(
          (entry): entry is [string, string] => /^[a-z]+$/.test(entry[0]) && typeof entry[1] === 'string',
        ),
      );
  } catch {
    // A damaged entry remembers nothing.
  }
  return new Map();
}

/** The page of a conversation: the channel's id and the contact's key, nothing of the contact. */
export function conversationPath(keys: ConversationKeys, channelId: string, contact: string): string {
  return `/channels/${encodeURIComponent(channelId)}/conversations/${keys.keyOf(contact)}`;
}

/** This tab's keys, in its sessionStorage (reached when first used: a module loads without a DOM). */
export const tabConversations = conversationKeys({
  getItem: (name) => sessionStorage.getItem(name),
  setItem: (name, value) => sessionStorage.setItem(name, value),
  removeItem: (name) => sessionStorage.removeItem(name),
});
