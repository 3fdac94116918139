// Channels as the operator sees them: counts by status, and the channels of one status.
import { useId, useState } from 'preact/hooks';
import type { ChannelStatus } from '../api/admin-types.ts';
import { useApi } from '../api/api-context.ts';
import { useI18n } from '../i18n/i18n.tsx';
import { adminChannels, channelCounts, countsByStatus } from '../operator-views.ts';
import { usePolling } from '../use-polling.ts';
import { ErrorBanner } from './error-banner.tsx';
import { ChannelStatusBadge } from './status-badge.tsx';

const STATUSES: readonly ChannelStatus[] = [
  'open',
  'connecting',
  'qr',
  'pairing_code',
  'reconnecting',
  'disconnected',
  'logged_out',
  'failed',
];

export function OperatorChannels({ tenantId }: { tenantId?: string }) {
  const api = useApi();
  const { t, dateTime } = useI18n();
  const filterId = useId();
  const [status, setStatus] = useState<ChannelStatus | ''>('');
  const counts = usePolling(() => channelCounts(api), [api], 10_000);
  const channels = usePolling(
    () => adminChannels(api, { ...(tenantId ? { tenantId } : {}), status }),
    [api, tenantId, status],
    10_000,
  );

  if (counts.data?.available === false || channels.data?.available === false)
    return <p class="notice">{t('operator.noChannelView')}</p>;
  const totals = counts.data?.available ? countsByStatus(counts.data.value, tenantId) : null;

  return (
    <div>
      <ErrorBanner error={counts.error ?? channels.error} />
      {totals && (
        <table class="table">
          <caption>{t('operator.countsCaption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('channel.status')}</th>
              <th scope="col">{t('operator.count')}</th>
            </tr>
          </thead>
          <tbody>
            {STATUSES.filter((each) => totals.has(each)).map((each) => (
              <tr key={each}>
                <td>
                  <ChannelStatusBadge status={each} />
                </td>
                <td>{totals.get(each)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p>
        <label for={filterId}>{t('operator.statusFilter')}</label>{' '}
        <select
          id={filterId}
          value={status}
          onChange={(event) => setStatus(event.currentTarget.value as ChannelStatus | '')}
        >
          <option value="">{t('operator.allStatuses')}</option>
          {STATUSES.map((each) => (
            <option key={each} value={each}>
              {t(`channel.status.${each}`)}
            </option>
          ))}
        </select>
      </p>
      {channels.data?.available &&
        (channels.data.value.items.length === 0 ? (
          <p>{t('channels.empty')}</p>
        ) : (
          <div class="table-scroll">
            <table class="table">
              <caption class="visually-hidden">{t('operator.channelsCaption')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('channels.nameLabel')}</th>
                  {!tenantId && <th scope="col">{t('operator.tenant')}</th>}
                  <th scope="col">{t('channel.status')}</th>
                  <th scope="col">{t('channel.number')}</th>
                  <th scope="col">{t('channel.lastSeen')}</th>
                </tr>
              </thead>
              <tbody>
                {channels.data.value.items.map((channel) => (
                  <tr key={channel.id}>
                    <td>{channel.name}</td>
                    {!tenantId && <td>{channel.tenantId ?? '—'}</td>}
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
    </div>
  );
}
