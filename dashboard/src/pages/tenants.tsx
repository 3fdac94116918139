// The operator's tenants (clinics): the list, oldest first, and a form to add one.
import { useId, useState } from 'preact/hooks';
import { useApi } from '../api/api-context.ts';
import type { components } from '../api/schema.d.ts';
import { ErrorBanner } from '../components/error-banner.tsx';
import { useI18n } from '../i18n/i18n.tsx';
import { navigate, onLinkClick, usePageHeading } from '../router.ts';
import { useAction } from '../use-action.ts';
import { usePolling } from '../use-polling.ts';

type Tenant = components['schemas']['Tenant'];

function NewTenantForm() {
  const api = useApi();
  const { t } = useI18n();
  const formId = useId();
  const [name, setName] = useState('');
  const [retention, setRetention] = useState('');
  const { busy, error, run } = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    await run(async () => {
      const tenant = await api.call(
        api.typed.POST('/v1/tenants', {
          params: { header: { 'Idempotency-Key': crypto.randomUUID() } },
          body: { name: name.trim(), ...(retention ? { retentionDays: Number(retention) } : {}) },
        }),
      );
      navigate(`/operator/tenants/${encodeURIComponent(tenant.id)}`);
    });
  };
  return (
    <form class="form card" onSubmit={submit} aria-labelledby={`${formId}-title`}>
      <h2 id={`${formId}-title`}>{t('tenants.new')}</h2>
      <label for={`${formId}-name`}>{t('tenants.nameLabel')}</label>
      <input
        id={`${formId}-name`}
        required
        maxLength={200}
        value={name}
        onInput={(event) => setName(event.currentTarget.value)}
      />
      <label for={`${formId}-retention`}>{t('tenants.retentionLabel')}</label>
      <input
        id={`${formId}-retention`}
        type="number"
        min={1}
        inputMode="numeric"
        value={retention}
        onInput={(event) => setRetention(event.currentTarget.value)}
      />
      <button type="submit" class="button button--primary" disabled={busy || !name.trim()}>
        {t('tenants.create')}
      </button>
      <ErrorBanner error={error} />
    </form>
  );
}

export function TenantsPage() {
  const api = useApi();
  const { t, dateTime } = useI18n();
  const heading = usePageHeading(t('nav.tenants'));
  const [pages, setPages] = useState<string[]>([]);
  const [more, setMore] = useState<{ items: Tenant[]; error: unknown }>({ items: [], error: null });
  const first = usePolling(
    () => api.call(api.typed.GET('/v1/tenants', { params: { query: { limit: 100 } } })),
    [api],
    15_000,
  );
  const cursor = pages.length > 0 ? pages.at(-1) : first.data?.nextCursor;
  const loadMore = async () => {
    if (!cursor) return;
    try {
      const page = await api.call(
        api.typed.GET('/v1/tenants', { params: { query: { limit: 100, cursor } } }),
      );
      setMore((current) => ({ items: [...current.items, ...page.items], error: null }));
      setPages((current) => [...current, page.nextCursor ?? '']);
    } catch (failure) {
      setMore((current) => ({ ...current, error: failure }));
    }
  };
  const tenants = [...(first.data?.items ?? []), ...more.items];
  return (
    <section>
      <h1 ref={heading} tabIndex={-1}>
        {t('nav.tenants')}
      </h1>
      <ErrorBanner error={first.error ?? more.error} />
      {first.data &&
        (tenants.length === 0 ? (
          <p>{t('tenants.empty')}</p>
        ) : (
          <ul class="list">
            {tenants.map((tenant) => (
              <li key={tenant.id} class="list__item card">
                <div class="list__main">
                  <a
                    class="list__title"
                    href={`/operator/tenants/${encodeURIComponent(tenant.id)}`}
                    onClick={onLinkClick}
                  >
                    {tenant.name}
                  </a>
                  <span class={`badge badge--${tenant.status === 'active' ? 'ok' : 'off'}`}>
                    {t(`tenants.status.${tenant.status}`)}
                  </span>
                </div>
                <p class="list__meta">
                  <code>{tenant.id}</code> · {t('tenants.created', { when: dateTime(tenant.createdAt) })} ·{' '}
                  {t('tenants.retention', { days: tenant.retentionDays })}
                </p>
              </li>
            ))}
          </ul>
        ))}
      {cursor && (
        <button type="button" class="button" onClick={() => void loadMore()}>
          {t('common.loadMore')}
        </button>
      )}
      <NewTenantForm />
    </section>
  );
}
