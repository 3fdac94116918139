// A secret the API shows this once (a webhook's signing secret, a tenant key): shown in full with a
// copy button until the user dismisses it.
import { useState } from 'preact/hooks';
import { useI18n } from '../i18n/i18n.tsx';

export function SecretOnce({
  title,
  secret,
  onDismiss,
}: {
  title: string;
  secret: string;
  onDismiss(): void;
}) {
  const { t } = useI18n();
  const [copied, setCopied] = useState(false);
  return (
    <section class="secret card" aria-label={title}>
      <h3>{title}</h3>
      <p>{t('secret.once')}</p>
      <p>
        <code class="secret__value" data-testid="secret-value">
          {secret}
        </code>
      </p>
      <div class="actions">
        <button
          type="button"
          class="button"
          onClick={() =>
            void navigator.clipboard?.writeText(secret).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          {copied ? t('secret.copied') : t('secret.copy')}
        </button>
        <button type="button" class="button" onClick={onDismiss}>
          {t('secret.dismiss')}
        </button>
      </div>
    </section>
  );
}
