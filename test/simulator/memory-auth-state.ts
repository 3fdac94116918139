// An in-memory Baileys auth state for virtual phones and test clients, with a JSON form for
// snapshots (Buffers encoded by Baileys' BufferJSON).
import {
  type AuthenticationCreds,
  type AuthenticationState,
  BufferJSON,
  initAuthCreds,
  type SignalDataSet,
  type SignalDataTypeMap,
} from '@whiskeysockets/baileys';

export interface MemoryAuthState extends AuthenticationState {
  /** creds and keys as a JSON string. */
  toJSON(): string;
}

export function memoryAuthState(
  creds: AuthenticationCreds = initAuthCreds(),
  keys = new Map<string, unknown>(),
): MemoryAuthState {
  return {
    creds,
    keys: {
      get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => {
        const found: { [id: string]: SignalDataTypeMap[T] } = {};
        for (const id of ids) {
          const value = keys.get(`${type}/${id}`);
          if (value !== undefined) found[id] = value as SignalDataTypeMap[T];
        }
        return found;
      },
      set: async (data: SignalDataSet) => {
        for (const [type, entries] of Object.entries(data)) {
          for (const [id, value] of Object.entries(entries ?? {})) {
            if (value === null || value === undefined) keys.delete(`${type}/${id}`);
            else keys.set(`${type}/${id}`, value);
          }
        }
      },
    },
    toJSON: () => JSON.stringify({ creds, keys: Object.fromEntries(keys) }, BufferJSON.replacer),
  };
}

export function memoryAuthStateFromJSON(json: string): MemoryAuthState {
  const parsed = JSON.parse(json, BufferJSON.reviver) as {
    creds: AuthenticationCreds;
    keys: Record<string, unknown>;
  };
  return memoryAuthState(parsed.creds, new Map(Object.entries(parsed.keys)));
}
