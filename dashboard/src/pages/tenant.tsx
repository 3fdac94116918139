// One tenant as the operator sees it: its API keys (the admin routes: any scope, any key) and its
// channels by status.
import { useMemo } from 'preact/hooks';
import { useApi } from '../api/api-context.ts';
import type { Api } from '../api/client.ts';
import { ApiKeysPanel, type KeySource, readAllKeys } from '../components/api-keys.tsx';
import { OperatorChannels } from '../components/channel-table.tsx';
import { ErrorBanner } from '../components/error-banner.tsx';
import { useI18n } from '../i18n/i18n.tsx';
import { onLinkClick, usePageHeading } from '../router.ts';
import { usePolling } from '../use-polling.ts';

/** The operator's routes for one tenant's keys. */
function tenantKeys(api: Api, tenantId: string): KeySource {
  return {
    list: () =>
      readAllKeys((cursor) =>
        api.call(
          api.typed.GET('/v1/tenants/{tenantId}/api-keys', {
            params: { path: { tenantId }, query: { limit: 100, ...(cursor ? { cursor } : {}) } },
          }),
        ),
      ),
    issue: (body) =>
      api.call(api.typed.POST('/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId } }, body })),
    revoke: (keyId) =>
      api.call(
        api.typed.DELETE('/v1/tenants/{tenantId}/api-keys/{keyId}', {
          params: { path: { tenantId, keyId } },
        }),
      ),
  };
}

export function TenantPage({ tenantId }: { tenantId: string }) {
  const api = useApi();
  const { t } = useI18n();
  const tenant = usePolling(
    () => api.call(api.typed.GET('/v1/tenants/{tenantId}', { params: { path: { tenantId } } })),
    [api, tenantId],
    null,
  );
  const keys = useMemo(() => tenantKeys(api, tenantId), [api, tenantId]);
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
      <ApiKeysPanel
        source={keys}
        manager={{ kind: 'operator' }}
        deps={[api, tenantId]}
        title={t('keys.title')}
      />
      <section class="card">
        <h2>{t('nav.operatorChannels')}</h2>
        <OperatorChannels tenantId={tenantId} />
      </section>
    </section>
  );
}
