// An API error in words a clinic understands (what went wrong, by status and, where we know it, by
// code), with the API's own message, code and request id for support.
import { ApiError } from '../api/api-error.ts';
import { isMessageKey, type MessageKey } from '../i18n/dictionary.ts';
import { useI18n } from '../i18n/i18n.tsx';

function summaryKey(error: ApiError): MessageKey {
  const byCode = `error.code.${error.code}`;
  if (isMessageKey(byCode)) return byCode;
  if (error.status === 0) return 'error.network';
  if (error.status >= 500) return 'error.server';
  const byStatus = `error.status.${error.status}`;
  return isMessageKey(byStatus) ? byStatus : 'error.unexpected';
}

export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(0, 'unexpected', error instanceof Error ? error.message : String(error), null);
}

export function ErrorBanner({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (!error) return null;
  const failure = asApiError(error);
  return (
    <div class="error" role="alert" data-error-code={failure.code}>
      <p class="error__summary">{t(summaryKey(failure), { seconds: failure.retryAfterSeconds ?? '?' })}</p>
      {failure.message && failure.message !== `HTTP ${failure.status}` && (
        <p class="error__message">{failure.message}</p>
      )}
      {failure.fields.length > 0 && (
        <ul class="error__fields">
          {failure.fields.map((field) => (
            <li key={field.field}>
              <code>{field.field}</code>: {field.message}
            </li>
          ))}
        </ul>
      )}
      <p class="error__meta">
        {t('error.codeLabel')}: <code>{failure.code}</code>
        {failure.requestId && (
          <>
            {' · '}
            {t('error.requestIdLabel')}: <code>{failure.requestId}</code>
          </>
        )}
      </p>
    </div>
  );
}
