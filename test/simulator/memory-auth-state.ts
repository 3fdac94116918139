// An in-memory Baileys auth state for virtual phones and test clients.
import {
  type AuthenticationCreds,
  type AuthenticationState,
  initAuthCreds,
  type SignalDataSet,
  type SignalDataTypeMap,
} from '@whiskeysockets/baileys';

export function memoryAuthState(creds: AuthenticationCreds = initAuthCreds()): AuthenticationState {
  const store = new Map<string, unknown>();
  return {
    creds,
    keys: {
      get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => {
        const found: { [id: string]: SignalDataTypeMap[T] } = {};
        for (const id of ids) {
          const value = store.get(`${type}/${id}`);
          if (value !== undefined) found[id] = value as SignalDataTypeMap[T];
        }
        return found;
      },
      set: async (data: SignalDataSet) => {
        for (const [type, entries] of Object.entries(data)) {
          for (const [id, value] of Object.entries(entries ?? {})) {
            if (value === null || value === undefined) store.delete(`${type}/${id}`);
            else store.set(`${type}/${id}`, value);
          }
        }
      },
    },
  };
}
