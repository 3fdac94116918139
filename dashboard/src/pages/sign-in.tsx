import { useId, useState } from 'preact/hooks';
import { identifyKey } from '../api/client.ts';
import { ErrorBanner } from '../components/error-banner.tsx';
import { useI18n } from '../i18n/i18n.tsx';
import { usePageHeading } from '../router.ts';
import type { Session } from '../session.ts';
import { useAction } from '../use-action.ts';

export function SignIn({ onSignedIn, expired }: { onSignedIn(session: Session): void; expired: boolean }) {
  const { t } = useI18n();
  const heading = usePageHeading(t('signIn.title'));
  const keyId = useId();
  const hintId = useId();
  const [key, setKey] = useState('');
  const { busy, error, run } = useAction();

  const submit = async (event: Event) => {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) return;
    await run(async () => {
      const kind = await identifyKey(trimmed);
      onSignedIn({ key: trimmed, kind });
    });
  };

  return (
    <section class="sign-in card" aria-labelledby={`${keyId}-heading`}>
      <h1 id={`${keyId}-heading`} ref={heading} tabIndex={-1}>
        {t('signIn.title')}
      </h1>
      {expired && (
        <p class="notice" role="status">
          {t('signIn.expired')}
        </p>
      )}
      <form onSubmit={submit} class="form">
        <label for={keyId}>{t('signIn.keyLabel')}</label>
        <input
          id={keyId}
          name="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          aria-describedby={hintId}
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
        />
        <p id={hintId} class="hint">
          {t('signIn.keyHint')}
        </p>
        <button type="submit" class="button button--primary" disabled={busy}>
          {busy ? t('signIn.checking') : t('signIn.submit')}
        </button>
      </form>
      <ErrorBanner error={error} />
    </section>
  );
}
