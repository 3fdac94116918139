// The runners the operator runs and the command shards each holds, with the shards nobody holds.
import { useApi } from '../api/api-context.ts';
import { ErrorBanner } from '../components/error-banner.tsx';
import { useI18n } from '../i18n/i18n.tsx';
import { runnersView } from '../operator-views.ts';
import { usePageHeading } from '../router.ts';
import { usePolling } from '../use-polling.ts';

export function RunnersPage() {
  const api = useApi();
  const { t, dateTime } = useI18n();
  const heading = usePageHeading(t('nav.runners'));
  const runners = usePolling(() => runnersView(api), [api], 5_000);
  const view = runners.data;
  return (
    <section>
      <h1 ref={heading} tabIndex={-1}>
        {t('nav.runners')}
      </h1>
      <ErrorBanner error={runners.error} />
      {view?.available === false && <p class="notice">{t('runners.noView')}</p>}
      {view?.available && (
        <>
          <p class={view.value.unownedShards.length > 0 ? 'notice notice--bad' : 'notice'} role="status">
            {view.value.unownedShards.length > 0
              ? t('runners.unowned', { shards: view.value.unownedShards.join(', ') })
              : t('runners.allOwned')}
          </p>
          {view.value.runners.length === 0 ? (
            <p>{t('runners.none')}</p>
          ) : (
            <ul class="list">
              {view.value.runners.map((runner) => (
                <li key={runner.runnerId} class="list__item card">
                  <div class="list__main">
                    <span class="list__title">{runner.runnerId}</span>
                    <span class="list__meta">
                      {t('runners.lastSeen', { when: dateTime(runner.lastSeenAt) })}
                    </span>
                  </div>
                  <div class="table-scroll">
                    <table class="table">
                      <caption>{t('runners.shardsCaption', { count: runner.shards.length })}</caption>
                      <thead>
                        <tr>
                          <th scope="col">{t('runners.shard')}</th>
                          <th scope="col">{t('runners.leaseUntil')}</th>
                        </tr>
                      </thead>
                      <tbody>
                        {[...runner.shards]
                          .sort((a, b) => a.shard - b.shard)
                          .map((shard) => (
                            <tr key={shard.shard}>
                              <td>{shard.shard}</td>
                              <td>{dateTime(shard.expiresAt)}</td>
                            </tr>
                          ))}
                      </tbody>
                    </table>
                  </div>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
