// Channels as the operator sees them, across tenants or for one: counts by status (saying when the
// API's bounded count did not read them all), a filter by tenant and status, and the list a page at
// a time, by the API's cursors.
import { useId, useState } from 'preact/hooks';
import { useApi } from '../api/api-context.ts';
import { CHANNEL_STATUSES, type ChannelStatus } from '../api/models.ts';
import { type ChannelFilter, countsByStatus, readChannelPage } from '../channel-paging.ts';
import { useI18n } from '../i18n/i18n.tsx';
import { channelReader, readChannelCounts } from '../operator-views.ts';
import { onLinkClick } from '../router.ts';
import { usePolling } from '../use-polling.ts';
import { ErrorBanner } from './error-banner.tsx';
import { ChannelStatusBadge } from './status-badge.tsx';

const PAGE_SIZE = 50;
const REFRESH_MS = 10_000;

function Counts({ tenantId }: { tenantId: string | undefined }) {
  const api = useApi();
  const { t } = useI18n();
  const counts = usePolling(() => readChannelCounts(api, tenantId), [api, tenantId], REFRESH_MS);
  const totals = counts.data ? countsByStatus(counts.data) : null;
  return (
    <div>
      <ErrorBanner error={counts.error} />
      {counts.data && !counts.data.complete && (
        <p class="notice notice--bad" data-testid="counts-incomplete">
          {t('operator.countsIncomplete', { counted: counts.data.counted })}
        </p>
      )}
      {totals &&
        (totals.size === 0 ? (
          <p>{t('operator.noChannels')}</p>
        ) : (
          <table class="table" data-testid="channel-counts">
            <caption>{t('operator.countsCaption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('channel.status')}</th>
                <th scope="col">{t('operator.count')}</th>
              </tr>
            </thead>
            <tbody>
              {CHANNEL_STATUSES.filter((each) => totals.has(each)).map((each) => (
                <tr key={each} data-count-status={each}>
                  <td>
                    <ChannelStatusBadge status={each} />
                  </td>
                  <td>{totals.get(each)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </div>
  );
}

function ChannelList({ filter, fixedTenant }: { filter: ChannelFilter; fixedTenant: boolean }) {
  const api = useApi();
  const { t, dateTime } = useI18n();
  // The cursor each page was read from: the last is the page shown, the ones before lead back.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const polled = usePolling(
    async () => ({ cursor, page: await readChannelPage(channelReader(api, filter), cursor, PAGE_SIZE) }),
    [api, filter.tenantId, filter.status, cursor],
    REFRESH_MS,
  );
  // Right after a move the last page's answer is still there until the new read starts: shown as
  // the new page it would skip or repeat channels, so only the answer for this cursor counts.
  const current = polled.data && polled.data.cursor === cursor ? polled.data.page : undefined;
  const page = { data: current, error: polled.error };
  const next = page.data?.nextCursor ?? null;
  return (
    <div
      data-testid="channel-list"
      data-filter={`${filter.tenantId ?? ''}/${filter.status ?? ''}`}
      data-page={cursors.length}
      data-state={page.data ? 'read' : 'reading'}
    >
      <ErrorBanner error={page.error} />
      {page.data &&
        (page.data.items.length === 0 ? (
          <p>{next ? t('operator.pageEmptyMore') : t('operator.noChannels')}</p>
        ) : (
          <div class="table-scroll">
            <table class="table" data-testid="operator-channels">
              <caption>{t('operator.channelsCaption', { page: cursors.length })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('channels.nameLabel')}</th>
                  {!fixedTenant && <th scope="col">{t('operator.tenant')}</th>}
                  <th scope="col">{t('runners.shard')}</th>
                  <th scope="col">{t('channel.status')}</th>
                  <th scope="col">{t('channel.number')}</th>
                  <th scope="col">{t('channel.lastSeen')}</th>
                </tr>
              </thead>
              <tbody>
                {page.data.items.map((channel) => (
                  <tr key={channel.id} data-channel-id={channel.id}>
                    <td>{channel.name}</td>
                    {!fixedTenant && (
                      <td>
                        <a
                          href={`/operator/tenants/${encodeURIComponent(channel.tenantId)}`}
                          onClick={onLinkClick}
                        >
                          <code>{channel.tenantId}</code>
                        </a>
                      </td>
                    )}
                    <td>{channel.shard}</td>
                    <td>
                      <ChannelStatusBadge status={channel.status} />
                    </td>
                    <td>{channel.phoneNumber ?? '—'}</td>
                    <td>{dateTime(channel.lastSeenAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      {(cursors.length > 1 || next) && (
        <div class="actions">
          <button
            type="button"
            class="button"
            disabled={cursors.length <= 1}
            onClick={() => setCursors((current) => current.slice(0, -1))}
          >
            {t('operator.previousPage')}
          </button>
          <button
            type="button"
            class="button"
            disabled={!next}
            onClick={() => next && setCursors((current) => [...current, next])}
          >
            {t('operator.nextPage')}
          </button>
        </div>
      )}
    </div>
  );
}

export function OperatorChannels({ tenantId }: { tenantId?: string }) {
  const { t } = useI18n();
  const formId = useId();
  const [draft, setDraft] = useState<{ tenantId: string; status: ChannelStatus | '' }>({
    tenantId: '',
    status: '',
  });
  const [applied, setApplied] = useState<ChannelFilter>({});
  const filter: ChannelFilter = tenantId ? { ...applied, tenantId } : applied;
  const apply = (event: Event) => {
    event.preventDefault();
    const chosenTenant = draft.tenantId.trim();
    setApplied({
      ...(chosenTenant ? { tenantId: chosenTenant } : {}),
      ...(draft.status ? { status: draft.status } : {}),
    });
  };
  return (
    <div>
      <Counts key={filter.tenantId ?? ''} tenantId={filter.tenantId} />
      <form class="form form--inline" onSubmit={apply} aria-label={t('operator.filter')}>
        {!tenantId && (
          <>
            <label for={`${formId}-tenant`}>{t('operator.tenantFilter')}</label>
            <input
              id={`${formId}-tenant`}
              value={draft.tenantId}
              placeholder="ten_…"
              pattern="ten_[0-9A-HJKMNP-TV-Z]{26}"
              spellcheck={false}
              autocomplete="off"
              onInput={(event) => {
                const value = event.currentTarget.value;
                setDraft((current) => ({ ...current, tenantId: value }));
              }}
            />
          </>
        )}
        <label for={`${formId}-status`}>{t('operator.statusFilter')}</label>
        <select
          id={`${formId}-status`}
          value={draft.status}
          onChange={(event) => {
            const value = event.currentTarget.value as ChannelStatus | '';
            setDraft((current) => ({ ...current, status: value }));
          }}
        >
          <option value="">{t('operator.allStatuses')}</option>
          {CHANNEL_STATUSES.map((each) => (
            <option key={each} value={each}>
              {t(`channel.status.${each}`)}
            </option>
          ))}
        </select>
        <button type="submit" class="button">
          {t('operator.applyFilter')}
        </button>
      </form>
      {/* A new filter starts again from the first page. */}
      <ChannelList
        key={`${filter.tenantId ?? ''}/${filter.status ?? ''}`}
        filter={filter}
        fixedTenant={tenantId !== undefined}
      />
    </div>
  );
}
