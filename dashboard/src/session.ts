// The signed-in key lives in sessionStorage: gone when the tab closes, never in a URL, a cookie or
// localStorage, and sent only in the Authorization header.
export type KeyKind = 'admin' | 'tenant';

export interface Session {
  readonly key: string;
  readonly kind: KeyKind;
}

const STORAGE_KEY = 'clinic-wa.session';

export function loadSession(): Session | null {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Partial<Session> | null;
    if (stored && typeof stored.key === 'string' && (stored.kind === 'admin' || stored.kind === 'tenant'))
      return { key: stored.key, kind: stored.kind };
  } catch {
    // A damaged entry is no session.
  }
  return null;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
