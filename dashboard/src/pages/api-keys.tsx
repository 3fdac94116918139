// A clinic's own API keys, managed with a key holding `keys:manage` (`/v1/api-keys`): the same panel
// as the operator's, within the rules that keep a key from reaching past itself (docs/api.md).
import { useMemo } from 'preact/hooks';
import { useApi } from '../api/api-context.ts';
import type { Api } from '../api/client.ts';
import { ApiKeysPanel, type KeySource, readAllKeys } from '../components/api-keys.tsx';
import { useI18n } from '../i18n/i18n.tsx';
import { usePageHeading } from '../router.ts';

function ownKeys(api: Api): KeySource {
  return {
    list: () =>
      readAllKeys((cursor) =>
        api.call(
          api.typed.GET('/v1/api-keys', { params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } } }),
        ),
      ),
    issue: (body) => api.call(api.typed.POST('/v1/api-keys', { body })),
    revoke: (keyId) => api.call(api.typed.DELETE('/v1/api-keys/{keyId}', { params: { path: { keyId } } })),
  };
}

/** `ownKeyId`: the signed-in key's id, read from the key (null when it is not shaped as a tenant key). */
export function ApiKeysPage({ ownKeyId }: { ownKeyId: string | null }) {
  const api = useApi();
  const { t } = useI18n();
  const heading = usePageHeading(t('keys.title'));
  const source = useMemo(() => ownKeys(api), [api]);
  return (
    <section>
      <h1 ref={heading} tabIndex={-1}>
        {t('keys.title')}
      </h1>
      <p>{t('keys.ownIntro')}</p>
      <ApiKeysPanel source={source} manager={{ kind: 'tenant', keyId: ownKeyId }} deps={[api]} />
    </section>
  );
}
