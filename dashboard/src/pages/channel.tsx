// One channel: its live status, pairing by QR (drawn here, refreshed as it rotates, with its
// countdown) or by pairing code, the session's actions, and its conversations.
import { useId, useState } from 'preact/hooks';
import { useApi } from '../api/api-context.ts';
import type { Channel } from '../api/models.ts';
import { useChannelStatusAnnouncements } from '../channel-watch.ts';
import { ConfirmButton } from '../components/confirm-button.tsx';
import { Countdown } from '../components/countdown.tsx';
import { ErrorBanner } from '../components/error-banner.tsx';
import { QrCode } from '../components/qr-code.tsx';
import { ChannelStatusBadge } from '../components/status-badge.tsx';
import { Ticks } from '../components/ticks.tsx';
import { conversationPath, tabConversations } from '../conversation-keys.ts';
import { conversationsOf, previewOf } from '../conversations.ts';
import { useI18n } from '../i18n/i18n.tsx';
import { navigate, onLinkClick, usePageHeading } from '../router.ts';
import { useAction } from '../use-action.ts';
import { usePolling } from '../use-polling.ts';

/** Statuses from which the clinic can start pairing. */
const PAIRABLE: readonly Channel['status'][] = ['disconnected', 'logged_out', 'failed'];
const E164 = /^\+[1-9]\d{7,14}$/;

function Pairing({ channel, onChanged }: { channel: Channel; onChanged(): void }) {
  const api = useApi();
  const { t } = useI18n();
  const phoneId = useId();
  const [phone, setPhone] = useState('');
  const { busy, error, run } = useAction();
  const path = { params: { path: { channelId: channel.id } } };

  const connect = async (body: { method: 'qr' } | { method: 'pairing_code'; phoneNumber: string }) => {
    await run(async () => {
      await api.call(api.typed.POST('/v1/channels/{channelId}/connect', { ...path, body }));
      onChanged();
    });
  };

  if (channel.status === 'qr' && channel.qr) {
    return (
      <div class="pairing card" data-testid="pairing-qr">
        <h2>{t('pairing.qrTitle')}</h2>
        <ol class="steps">
          <li>{t('pairing.qrStep1')}</li>
          <li>{t('pairing.qrStep2')}</li>
          <li>{t('pairing.qrStep3')}</li>
        </ol>
        <QrCode text={channel.qr} label={t('pairing.qrLabel', { name: channel.name })} />
        {channel.pairingExpiresAt && <Countdown key={channel.qr} expiresAt={channel.pairingExpiresAt} />}
      </div>
    );
  }
  if (channel.status === 'pairing_code' && channel.pairingCode) {
    return (
      <div class="pairing card" data-testid="pairing-code">
        <h2>{t('pairing.codeTitle')}</h2>
        <p>{t('pairing.codeSteps')}</p>
        <p class="pairing__code">
          <span class="visually-hidden">{t('pairing.codeLabel')}: </span>
          {channel.pairingCode}
        </p>
        {channel.pairingExpiresAt && (
          <Countdown key={channel.pairingCode} expiresAt={channel.pairingExpiresAt} />
        )}
      </div>
    );
  }
  if (!PAIRABLE.includes(channel.status)) return null;
  return (
    <div class="pairing card">
      <h2>{t('pairing.title')}</h2>
      <p>{t('pairing.intro')}</p>
      <div class="actions">
        <button
          type="button"
          class="button button--primary"
          disabled={busy}
          onClick={() => void connect({ method: 'qr' })}
        >
          {t('pairing.byQr')}
        </button>
      </div>
      <form
        class="form form--inline"
        onSubmit={(event) => {
          event.preventDefault();
          void connect({ method: 'pairing_code', phoneNumber: phone.trim() });
        }}
      >
        <label for={phoneId}>{t('pairing.phoneLabel')}</label>
        <input
          id={phoneId}
          type="tel"
          inputMode="tel"
          autocomplete="tel"
          placeholder="+5511987654321"
          value={phone}
          onInput={(event) => setPhone(event.currentTarget.value)}
        />
        <button type="submit" class="button" disabled={busy || !E164.test(phone.trim())}>
          {t('pairing.byCode')}
        </button>
      </form>
      <ErrorBanner error={error} />
    </div>
  );
}

function SessionActions({ channel, onChanged }: { channel: Channel; onChanged(): void }) {
  const api = useApi();
  const { t } = useI18n();
  const { busy, error, run: attempt } = useAction();
  const path = { params: { path: { channelId: channel.id } } };
  const run = async (action: () => Promise<unknown>, after: () => void = onChanged) => {
    await attempt(async () => {
      await action();
      after();
    });
  };
  const connected = !PAIRABLE.includes(channel.status);
  return (
    <div class="card">
      <h2>{t('channel.actions')}</h2>
      <div class="actions">
        {connected && (
          <button
            type="button"
            class="button"
            disabled={busy}
            onClick={() => void run(() => api.call(api.typed.POST('/v1/channels/{channelId}/restart', path)))}
          >
            {t('channel.restart')}
          </button>
        )}
        {connected && (
          <button
            type="button"
            class="button"
            disabled={busy}
            onClick={() => void run(() => api.call(api.typed.POST('/v1/channels/{channelId}/logout', path)))}
          >
            {t('channel.logout')}
          </button>
        )}
        <ConfirmButton
          label={t('channel.delete')}
          question={t('channel.deleteConfirm')}
          confirmLabel={t('channel.deleteYes')}
          disabled={busy}
          onConfirm={() =>
            void run(
              () => api.call(api.typed.DELETE('/v1/channels/{channelId}', path)),
              () => navigate('/channels'),
            )
          }
        />
      </div>
      <ErrorBanner error={error} />
    </div>
  );
}

function Conversations({ channel }: { channel: Channel }) {
  const api = useApi();
  const { t, dateTime } = useI18n();
  const contactId = useId();
  const [contact, setContact] = useState('');
  const messages = usePolling(
    () =>
      api.call(
        api.typed.GET('/v1/channels/{channelId}/messages', {
          params: { path: { channelId: channel.id }, query: { limit: 100 } },
        }),
      ),
    [api, channel.id],
  );
  const conversations = messages.data ? conversationsOf(messages.data.items) : [];
  const threadOf = (contact: string) => conversationPath(tabConversations, channel.id, contact);

  return (
    <section class="card" aria-labelledby={`${contactId}-title`}>
      <h2 id={`${contactId}-title`}>{t('conversations.title')}</h2>
      <ErrorBanner error={messages.error} />
      {messages.data &&
        (conversations.length === 0 ? (
          <p>{t('conversations.empty')}</p>
        ) : (
          <ul class="list">
            {conversations.map(({ contact: number, last, count }) => {
              const preview = previewOf(last);
              return (
                <li key={number} class="list__item" data-contact={number}>
                  <div class="list__main">
                    <a href={threadOf(number)} onClick={onLinkClick} class="list__title">
                      {number}
                    </a>
                    <span class="list__meta">{dateTime(last.createdAt)}</span>
                  </div>
                  <p class="list__meta">
                    {last.direction === 'outbound' && <Ticks message={last} />}{' '}
                    {preview.text ?? t('message.kind', { kind: preview.kind })}
                    {' · '}
                    {t('conversations.count', { count })}
                  </p>
                </li>
              );
            })}
          </ul>
        ))}
      <form
        class="form form--inline"
        onSubmit={(event) => {
          event.preventDefault();
          navigate(threadOf(contact.trim()));
        }}
      >
        <label for={contactId}>{t('conversations.newLabel')}</label>
        <input
          id={contactId}
          type="tel"
          inputMode="tel"
          placeholder="+5511987654321"
          value={contact}
          onInput={(event) => setContact(event.currentTarget.value)}
        />
        <button type="submit" class="button" disabled={!E164.test(contact.trim())}>
          {t('conversations.open')}
        </button>
      </form>
    </section>
  );
}

export function ChannelPage({ channelId }: { channelId: string }) {
  const api = useApi();
  const { t, dateTime } = useI18n();
  const channel = usePolling(
    () => api.call(api.typed.GET('/v1/channels/{channelId}', { params: { path: { channelId } } })),
    [api, channelId],
  );
  const data = channel.data;
  useChannelStatusAnnouncements(data ? [data] : undefined);
  const heading = usePageHeading(data?.name ?? t('channel.title'));

  return (
    <section>
      <p class="breadcrumb">
        <a href="/channels" onClick={onLinkClick}>
          {t('nav.channels')}
        </a>
      </p>
      <h1 ref={heading} tabIndex={-1}>
        {data?.name ?? t('channel.title')}
      </h1>
      <ErrorBanner error={channel.error} />
      {data && (
        <>
          <dl class="facts card">
            <div>
              <dt>{t('channel.status')}</dt>
              <dd>
                <ChannelStatusBadge status={data.status} />
                {data.statusReason && <span class="list__meta"> ({data.statusReason})</span>}
              </dd>
            </div>
            <div>
              <dt>{t('channel.number')}</dt>
              <dd>{data.phoneNumber ?? '—'}</dd>
            </div>
            <div>
              <dt>{t('channel.lastSeen')}</dt>
              <dd>{dateTime(data.lastSeenAt)}</dd>
            </div>
          </dl>
          <Pairing channel={data} onChanged={channel.reload} />
          {data.status === 'open' || data.phoneNumber ? <Conversations channel={data} /> : null}
          <SessionActions channel={data} onChanged={channel.reload} />
        </>
      )}
    </section>
  );
}
