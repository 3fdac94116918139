import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONVERSATION_KEYS_STORAGE,
  conversationKeys,
  conversationPath,
  KEY_LENGTH,
  type KeyStorage,
  MAX_REMEMBERED,
} from '../../../dashboard/src/conversation-keys.ts';

/** A tab's sessionStorage as the Web Storage API has it: strings by name. */
function tabStorage(): KeyStorage & { readonly items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (name) => items.get(name) ?? null,
    setItem: (name, value) => void items.set(name, String(value)),
    removeItem: (name) => void items.delete(name),
  };
}

/** Numbers as the dashboard takes them (its E.164 check): `+`, no leading 0, 8 to 15 digits. */
const phoneNumbers = fc
  .tuple(
    fc.integer({ min: 1, max: 9 }),
    fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 7, maxLength: 14 }),
  )
  .map(([first, rest]) => `+${first}${rest.join('')}`);
const channelIds = fc.ulid().map((ulid) => `chn_${ulid}`);

/** Every run of 8 digits of the number, the shortest that names a subscriber in Brazil. */
function digitRuns(phoneNumber: string): string[] {
  const digits = phoneNumber.replace(/\D/g, '');
  return Array.from({ length: digits.length - 7 }, (_, start) => digits.slice(start, start + 8));
}

describe("a conversation's page path", () => {
  it('holds no +, nor 8 digits in a row of the number, however the number and channel go', () => {
    const keys = conversationKeys(tabStorage());
    fc.assert(
      fc.property(phoneNumbers, channelIds, (phoneNumber, channelId) => {
        const path = conversationPath(keys, channelId, phoneNumber);
        expect(path).toMatch(new RegExp(`^/channels/${channelId}/conversations/[a-z]{${KEY_LENGTH}}$`));
        expect(path).not.toContain('+');
        expect(path.toLowerCase()).not.toContain('%2b');
        for (const run of digitRuns(phoneNumber)) expect(path).not.toContain(run);
        // And the key leads back to the number.
        expect(keys.contactOf(path.split('/').at(-1) ?? '')).toBe(phoneNumber);
      }),
      { numRuns: 500 },
    );
  });

  it('is the same for a contact every time, another for another contact', () => {
    const keys = conversationKeys(tabStorage());
    const first = conversationPath(keys, 'chn_1', '+5511966660001');
    expect(conversationPath(keys, 'chn_1', '+5511966660001')).toBe(first);
    expect(conversationPath(keys, 'chn_1', '+5511966660002')).not.toBe(first);
  });

  it('survives a reload of the tab, not another session, and not signing out', () => {
    const storage = tabStorage();
    const key = conversationKeys(storage).keyOf('+5511966660001');
    // A reload: the module starts again over the same sessionStorage.
    const reloaded = conversationKeys(storage);
    expect(reloaded.contactOf(key)).toBe('+5511966660001');
    expect(reloaded.keyOf('+5511966660001')).toBe(key);
    // Another tab or session: another sessionStorage.
    expect(conversationKeys(tabStorage()).contactOf(key)).toBeNull();
    reloaded.forget();
    expect(reloaded.contactOf(key)).toBeNull();
    expect(storage.items.has(CONVERSATION_KEYS_STORAGE)).toBe(false);
    expect(conversationKeys(storage).contactOf(key)).toBeNull();
  });

  it('keeps the stored keys to letters only and nothing else from a damaged entry', () => {
    const storage = tabStorage();
    storage.setItem(
      CONVERSATION_KEYS_STORAGE,
      JSON.stringify({ abcdefghijklmnop: '+5511966660001', '5511966660001': '+5511966660001', qrst: 7 }),
    );
    const keys = conversationKeys(storage);
    expect(keys.contactOf('abcdefghijklmnop')).toBe('+5511966660001');
    expect(keys.contactOf('5511966660001')).toBeNull();
    expect(keys.contactOf('qrst')).toBeNull();
    storage.setItem(CONVERSATION_KEYS_STORAGE, '{not json');
    expect(conversationKeys(storage).contactOf('abcdefghijklmnop')).toBeNull();
  });

  it('makes keys of letters from random bytes, dropping those from 234 up, which would favour some letters', () => {
    const batches = [
      Uint8Array.from({ length: KEY_LENGTH }, (_, index) => 234 + index),
      Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]),
      Uint8Array.from([233, 255, 207, 25, 26, 51, 52, 77, 78, 103, 104, 129, 130, 155, 156, 181]),
      Uint8Array.from([182, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248]),
    ];
    let next = 0;
    const keys = conversationKeys(tabStorage(), () => batches[next++] ?? new Uint8Array(KEY_LENGTH));
    expect(keys.keyOf('+5511966660001')).toBe('abcdefghijklmnop');
    // 233 → z, 255 dropped, 207 → z, 25 → z, 26 → a, 51 → z, … and one more letter from the next bytes.
    expect(keys.keyOf('+5511966660002')).toBe('zzzazazazazazaza');
  });

  it(`remembers at most ${MAX_REMEMBERED} contacts, forgetting the oldest first`, () => {
    const storage = tabStorage();
    const keys = conversationKeys(storage);
    const contact = (index: number) => `+55119${String(index).padStart(8, '0')}`;
    const first = keys.keyOf(contact(0));
    const second = keys.keyOf(contact(1));
    for (let index = 2; index <= MAX_REMEMBERED; index++) keys.keyOf(contact(index));
    expect(keys.contactOf(first)).toBeNull();
    expect(keys.contactOf(second)).toBe(contact(1));
    const stored = JSON.parse(storage.getItem(CONVERSATION_KEYS_STORAGE) ?? '{}') as Record<string, string>;
    expect(Object.keys(stored)).toHaveLength(MAX_REMEMBERED);
  });
});
