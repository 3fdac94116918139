// The clinic's channels with their live status, and a form to add one.
import { useId, useState } from 'preact/hooks';
import { useApi } from '../api/api-context.ts';
import type { Channel } from '../api/models.ts';
import { useChannelStatusAnnouncements } from '../channel-watch.ts';
import { ErrorBanner } from '../components/error-banner.tsx';
import { ChannelStatusBadge } from '../components/status-badge.tsx';
import { useI18n } from '../i18n/i18n.tsx';
import { navigate, onLinkClick, usePageHeading } from '../router.ts';
import { useAction } from '../use-action.ts';
import { usePolling } from '../use-polling.ts';

/** Every page of the list: a clinic has a handful of numbers, not hundreds. */
async function allChannels(api: ReturnType<typeof useApi>): Promise<Channel[]> {
  const channels: Channel[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.call(
      api.typed.GET('/v1/channels', { params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } } }),
    );
    channels.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return channels;
}

function NewChannelForm() {
  const api = useApi();
  const { t } = useI18n();
  const nameId = useId();
  const [name, setName] = useState('');
  const { busy, error, run } = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    await run(async () => {
      const channel = await api.call(
        api.typed.POST('/v1/channels', {
          body: { name: name.trim() },
          params: { header: { 'Idempotency-Key': crypto.randomUUID() } },
        }),
      );
      navigate(`/channels/${encodeURIComponent(channel.id)}`);
    });
  };
  return (
    <form class="form form--inline card" onSubmit={submit} aria-labelledby={`${nameId}-legend`}>
      <h2 id={`${nameId}-legend`}>{t('channels.new')}</h2>
      <label for={nameId}>{t('channels.nameLabel')}</label>
      <input
        id={nameId}
        required
        maxLength={100}
        value={name}
        onInput={(event) => setName(event.currentTarget.value)}
      />
      <button class="button button--primary" type="submit" disabled={busy || !name.trim()}>
        {t('channels.create')}
      </button>
      <ErrorBanner error={error} />
    </form>
  );
}

export function ChannelsPage() {
  const api = useApi();
  const { t, dateTime } = useI18n();
  const heading = usePageHeading(t('channels.title'));
  const channels = usePolling(() => allChannels(api), [api]);
  useChannelStatusAnnouncements(channels.data);

  return (
    <section>
      <h1 ref={heading} tabIndex={-1}>
        {t('channels.title')}
      </h1>
      <ErrorBanner error={channels.error} />
      {channels.data === undefined ? (
        channels.loading && <p aria-busy="true">{t('common.loading')}</p>
      ) : channels.data.length === 0 ? (
        <p>{t('channels.empty')}</p>
      ) : (
        <ul class="list" aria-label={t('channels.title')}>
          {channels.data.map((channel) => (
            <li key={channel.id} class="list__item card" data-channel-id={channel.id}>
              <div class="list__main">
                <a
                  href={`/channels/${encodeURIComponent(channel.id)}`}
                  onClick={onLinkClick}
                  class="list__title"
                >
                  {channel.name}
                </a>
                <ChannelStatusBadge status={channel.status} />
              </div>
              <p class="list__meta">
                {channel.phoneNumber ?? t('channels.noNumber')}
                {' · '}
                {t('channels.lastSeen', { when: dateTime(channel.lastSeenAt) })}
              </p>
            </li>
          ))}
        </ul>
      )}
      <NewChannelForm />
    </section>
  );
}
