// The language the dashboard speaks: Brazilian Portuguese unless the user switched, remembered in
// localStorage (a preference, not a secret), and set as the document's `lang` for screen readers.
import { type ComponentChildren, createContext } from 'preact';
import { useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { DEFAULT_LANGUAGE, isLanguage, type Language, type MessageKey, translate } from './dictionary.ts';

const STORAGE_KEY = 'clinic-wa.language';

export interface I18n {
  readonly lang: Language;
  setLang(lang: Language): void;
  t(key: MessageKey, params?: Readonly<Record<string, string | number>>): string;
  /** A date and time in the user's language, in their time zone. */
  dateTime(iso: string | null | undefined): string;
  time(iso: string): string;
}

const I18nContext = createContext<I18n | null>(null);

function storedLanguage(): Language {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    return stored && isLanguage(stored) ? stored : DEFAULT_LANGUAGE;
  } catch {
    return DEFAULT_LANGUAGE;
  }
}

export function I18nProvider({ children }: { children: ComponentChildren }) {
  const [lang, setLangState] = useState<Language>(storedLanguage);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const value = useMemo<I18n>(() => {
    const dateTimeFormat = new Intl.DateTimeFormat(lang, { dateStyle: 'short', timeStyle: 'medium' });
    const timeFormat = new Intl.DateTimeFormat(lang, { timeStyle: 'short' });
    return {
      lang,
      setLang(next) {
        try {
          localStorage.setItem(STORAGE_KEY, next);
        } catch {
          // Private windows may refuse storage: the switch still holds for this page.
        }
        setLangState(next);
      },
      t: (key, params) => translate(lang, key, params),
      dateTime: (iso) => (iso ? dateTimeFormat.format(new Date(iso)) : '—'),
      time: (iso) => timeFormat.format(new Date(iso)),
    };
  }, [lang]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const i18n = useContext(I18nContext);
  if (!i18n) throw new Error('useI18n outside I18nProvider');
  return i18n;
}
