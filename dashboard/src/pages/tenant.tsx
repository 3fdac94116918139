// One tenant as the operator sees it: its API keys (only the admin key may list, issue and revoke
// them: the API's key routes are admin routes) and its channels by status.
import { useId, useState } from 'preact/hooks';
import { useApi } from '../api/api-context.ts';
import type { components } from '../api/schema.d.ts';
import { OperatorChannels } from '../components/channel-table.tsx';
import { ConfirmButton } from '../components/confirm-button.tsx';
import { ErrorBanner } from '../components/error-banner.tsx';
import { SecretOnce } from '../components/secret-once.tsx';
import { useI18n } from '../i18n/i18n.tsx';
import { onLinkClick, usePageHeading } from '../router.ts';
import { usePolling } from '../use-polling.ts';

type Scope = components['schemas']['NewApiKey']['scopes'][number];

/** Every scope a key can have: the object's type makes a new API scope a compile error here. */
const SCOPES = Object.keys({
  '*': true,
  'channels:read': true,
  'channels:write': true,
  'messages:send': true,
  'messages:read': true,
  'webhooks:manage': true,
  'privacy:manage': true,
  'keys:manage': true,
} satisfies Record<Scope, true>) as Scope[];

function ApiKeys({ tenantId }: { tenantId: string }) {
  const api = useApi();
  const { t, dateTime } = useI18n();
  const formId = useId();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>(['*']);
  const [issued, setIssued] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const path = { params: { path: { tenantId } } };
  const keys = usePolling(
    () =>
      api.call(
        api.typed.GET('/v1/tenants/{tenantId}/api-keys', {
          params: { path: { tenantId }, query: { limit: 100 } },
        }),
      ),
    [api, tenantId],
    null,
  );
  const issue = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      const key = await api.call(
        api.typed.POST('/v1/tenants/{tenantId}/api-keys', { ...path, body: { name: name.trim(), scopes } }),
      );
      setIssued(key.key);
      setName('');
      keys.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  const revoke = async (keyId: string) => {
    setError(null);
    try {
      await api.call(
        api.typed.DELETE('/v1/tenants/{tenantId}/api-keys/{keyId}', {
          params: { path: { tenantId, keyId } },
        }),
      );
      keys.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <section class="card" aria-labelledby={`${formId}-title`}>
      <h2 id={`${formId}-title`}>{t('keys.title')}</h2>
      <ErrorBanner error={keys.error ?? error} />
      {issued && (
        <SecretOnce title={t('keys.issuedTitle')} secret={issued} onDismiss={() => setIssued(null)} />
      )}
      {keys.data &&
        (keys.data.items.length === 0 ? (
          <p>{t('keys.empty')}</p>
        ) : (
          <ul class="list">
            {keys.data.items.map((key) => (
              <li key={key.id} class="list__item" data-key-id={key.id}>
                <div class="list__main">
                  <span class="list__title">{key.name}</span>
                  {key.revokedAt ? (
                    <span class="badge badge--off">
                      {t('keys.revoked', { when: dateTime(key.revokedAt) })}
                    </span>
                  ) : (
                    <ConfirmButton
                      label={t('keys.revoke')}
                      question={t('keys.revokeConfirm', { name: key.name })}
                      confirmLabel={t('keys.revokeYes')}
                      onConfirm={() => void revoke(key.id)}
                    />
                  )}
                </div>
                <p class="list__meta">
                  {key.scopes.join(', ')} · {t('tenants.created', { when: dateTime(key.createdAt) })}
                </p>
              </li>
            ))}
          </ul>
        ))}
      <form class="form" onSubmit={issue}>
        <h3>{t('keys.new')}</h3>
        <label for={`${formId}-name`}>{t('keys.nameLabel')}</label>
        <input
          id={`${formId}-name`}
          required
          maxLength={100}
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
        />
        <fieldset class="checks">
          <legend>{t('keys.scopesLabel')}</legend>
          {SCOPES.map((scope) => (
            <label key={scope} class="check">
              <input
                type="checkbox"
                checked={scopes.includes(scope)}
                onChange={(event) => {
                  const on = event.currentTarget.checked;
                  setScopes((current) =>
                    on ? [...current, scope] : current.filter((each) => each !== scope),
                  );
                }}
              />
              {scope === '*' ? t('keys.allScopes') : <code>{scope}</code>}
            </label>
          ))}
        </fieldset>
        <button type="submit" class="button button--primary" disabled={!name.trim() || scopes.length === 0}>
          {t('keys.create')}
        </button>
      </form>
    </section>
  );
}

export function TenantPage({ tenantId }: { tenantId: string }) {
  const api = useApi();
  const { t } = useI18n();
  const tenant = usePolling(
    () => api.call(api.typed.GET('/v1/tenants/{tenantId}', { params: { path: { tenantId } } })),
    [api, tenantId],
    null,
  );
  const title = tenant.data?.name ?? t('tenants.title');
  const heading = usePageHeading(title);
  return (
    <section>
      <p class="breadcrumb">
        <a href="/operator/tenants" onClick={onLinkClick}>
          {t('nav.tenants')}
        </a>
      </p>
      <h1 ref={heading} tabIndex={-1}>
        {title}
      </h1>
      <ErrorBanner error={tenant.error} />
      {tenant.data && (
        <p class="list__meta">
          <code>{tenant.data.id}</code> · {t('tenants.retention', { days: tenant.data.retentionDays })}
        </p>
      )}
      <ApiKeys tenantId={tenantId} />
      <section class="card">
        <h2>{t('nav.operatorChannels')}</h2>
        <OperatorChannels tenantId={tenantId} />
      </section>
    </section>
  );
}
