// The runners and the command shards each holds, as their lease and membership records say
// (`GET /v1/admin/runners`). Whether a runner or a lease is alive is judged the runners' way, by its
// counter moving between this page's reads (../runner-liveness.ts); the times shown are the ones the
// runners wrote, by their own clocks, and are labelled so.
import { useRef } from 'preact/hooks';
import { useApi } from '../api/api-context.ts';
import { ErrorBanner } from '../components/error-banner.tsx';
import { useI18n } from '../i18n/i18n.tsx';
import { readRunners } from '../operator-views.ts';
import { usePageHeading } from '../router.ts';
import {
  type CounterWatch,
  LEASE_TTL_MS,
  type Liveness,
  leaseKey,
  livenessOf,
  observe,
  runnerKey,
  type Watches,
} from '../runner-liveness.ts';
import { usePolling } from '../use-polling.ts';

const READ_EVERY_MS = 5_000;

function LivenessBadge({ watch, at }: { watch: CounterWatch | undefined; at: number }) {
  const { t } = useI18n();
  if (!watch) return null;
  const liveness: Liveness = livenessOf(watch, at);
  const seconds = (ms: number) => Math.max(1, Math.round(ms / 1000));
  const [tone, text] =
    liveness.state === 'alive'
      ? ['ok', t('runners.alive')]
      : liveness.state === 'silent'
        ? ['bad', t('runners.silent', { seconds: seconds(liveness.forMs) })]
        : ['wait', t('runners.checking', { seconds: seconds(liveness.verdictInMs) })];
  return (
    <span class={`badge badge--${tone}`} data-liveness={liveness.state}>
      {text}
    </span>
  );
}

export function RunnersPage() {
  const api = useApi();
  const { t, dateTime } = useI18n();
  const heading = usePageHeading(t('nav.runners'));
  const watches = useRef<Watches>(new Map());
  const runners = usePolling(
    async () => {
      const answer = await readRunners(api);
      // This browser's monotonic clock: only differences between its own reads are used.
      const at = performance.now();
      watches.current = observe(watches.current, answer, at);
      return { answer, watches: watches.current, at };
    },
    [api],
    READ_EVERY_MS,
  );
  const view = runners.data;
  return (
    <section>
      <h1 ref={heading} tabIndex={-1}>
        {t('nav.runners')}
      </h1>
      <p class="hint">{t('runners.howJudged', { ttl: LEASE_TTL_MS / 1000 })}</p>
      <ErrorBanner error={runners.error} />
      {view && (
        <>
          <dl class="facts card">
            <div>
              <dt>{t('runners.cluster')}</dt>
              <dd>
                <code>{view.answer.cluster}</code>
              </dd>
            </div>
            <div>
              <dt>{t('runners.shardCount')}</dt>
              <dd>{view.answer.shardCount}</dd>
            </div>
            <div>
              <dt>{t('runners.observedAt')}</dt>
              <dd>{dateTime(view.answer.observedAt)}</dd>
            </div>
          </dl>
          <p
            class={view.answer.unownedShards.length > 0 ? 'notice notice--bad' : 'notice'}
            data-testid="unowned-shards"
          >
            {view.answer.unownedShards.length > 0
              ? t('runners.unowned', { shards: view.answer.unownedShards.join(', ') })
              : t('runners.allOwned')}
          </p>
          {view.answer.runners.length === 0 ? (
            <p>{t('runners.none')}</p>
          ) : (
            <ul class="list">
              {view.answer.runners.map((runner) => (
                <li key={runner.runnerId} class="list__item card" data-runner-id={runner.runnerId}>
                  <div class="list__main">
                    <span class="list__title">{runner.runnerId}</span>
                    {runner.member ? (
                      <LivenessBadge watch={view.watches.get(runnerKey(runner.runnerId))} at={view.at} />
                    ) : (
                      <span class="badge badge--bad" data-member="false">
                        {t('runners.notMember')}
                      </span>
                    )}
                  </div>
                  <p class="list__meta">
                    {runner.beats !== null && t('runners.beats', { beats: runner.beats })}
                    {runner.beats !== null && ' · '}
                    {t('runners.lastHeartbeat', { when: dateTime(runner.lastHeartbeatAtRunnerClock) })}
                  </p>
                  {runner.shards.length === 0 ? (
                    <p>{t('runners.noShards')}</p>
                  ) : (
                    <div class="table-scroll">
                      <table class="table">
                        <caption>{t('runners.shardsCaption', { count: runner.shards.length })}</caption>
                        <thead>
                          <tr>
                            <th scope="col">{t('runners.shard')}</th>
                            <th scope="col">{t('runners.token')}</th>
                            <th scope="col">{t('runners.renewals')}</th>
                            <th scope="col">{t('runners.lease')}</th>
                            <th scope="col">{t('runners.expiresAtOwnerClock')}</th>
                          </tr>
                        </thead>
                        <tbody>
                          {runner.shards.map((lease) => (
                            <tr key={lease.shard} data-shard={lease.shard}>
                              <td>{lease.shard}</td>
                              <td>{lease.token}</td>
                              <td>{lease.renewals}</td>
                              <td>
                                <LivenessBadge
                                  watch={view.watches.get(leaseKey(runner.runnerId, lease.shard))}
                                  at={view.at}
                                />
                              </td>
                              <td>{dateTime(lease.expiresAtOwnerClock)}</td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </div>
                  )}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
