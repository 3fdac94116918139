import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LANGUAGE,
  DICTIONARIES,
  isMessageKey,
  LANGUAGES,
  translate,
} from '../../../dashboard/src/i18n/dictionary.ts';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

describe("the dashboard's words", () => {
  it('are in Brazilian Portuguese unless the user switches to English', () => {
    expect(DEFAULT_LANGUAGE).toBe('pt-BR');
    expect(LANGUAGES).toEqual(['pt-BR', 'en']);
  });

  it('have every key in both languages, none empty, none left untranslated by accident', () => {
    const portuguese = DICTIONARIES['pt-BR'];
    const english = DICTIONARIES.en;
    expect(Object.keys(english).sort()).toEqual(Object.keys(portuguese).sort());
    for (const language of LANGUAGES) {
      const empty = Object.entries(DICTIONARIES[language]).filter(([, text]) => text.trim() === '');
      expect(empty, language).toEqual([]);
    }
    // Words that read the same in both are few and known: language names, symbols, product names.
    const same = Object.keys(portuguese).filter(
      (key) => isMessageKey(key) && portuguese[key] === english[key],
    );
    expect(same.sort()).toEqual(
      [
        'deliveries.ok',
        'language.en',
        'language.pt-BR',
        'message.kind',
        'nav.runners',
        'nav.webhooks',
        'runners.cluster',
        'runners.shard',
        'runners.shardCount',
        'runners.shardsCaption',
        'runners.token',
        'webhook.title',
        'webhooks.title',
      ].sort(),
    );
  });

  it('use the same placeholders in both languages', () => {
    const mismatched = Object.keys(DICTIONARIES['pt-BR']).filter(
      (key) =>
        isMessageKey(key) &&
        JSON.stringify(placeholders(DICTIONARIES['pt-BR'][key])) !==
          JSON.stringify(placeholders(DICTIONARIES.en[key])),
    );
    expect(mismatched).toEqual([]);
  });

  it('fill placeholders and leave unknown ones visible', () => {
    expect(translate('pt-BR', 'pairing.expiresIn', { seconds: 42 })).toBe('Vence em 42 s');
    expect(translate('en', 'pairing.expiresIn', { seconds: 42 })).toBe('Expires in 42 s');
    expect(translate('en', 'channel.statusChanged', { name: 'Recepção' })).toBe(
      'Channel Recepção: {status}.',
    );
    expect(isMessageKey('channel.status.open')).toBe(true);
    expect(isMessageKey('toString')).toBe(false);
  });
});
