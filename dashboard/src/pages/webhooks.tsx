// The clinic's webhooks, and a form to add one (its signing secret shown once).
import { useId, useState } from 'preact/hooks';
import { useApi } from '../api/api-context.ts';
import type { components } from '../api/schema.d.ts';
import { ErrorBanner } from '../components/error-banner.tsx';
import { SecretOnce } from '../components/secret-once.tsx';
import { useI18n } from '../i18n/i18n.tsx';
import { onLinkClick, usePageHeading } from '../router.ts';
import { useAction } from '../use-action.ts';
import { usePolling } from '../use-polling.ts';

export type Webhook = components['schemas']['Webhook'];
type EventFilter = Webhook['events'][number];

/** Every event type a webhook can ask for: the object's type makes a new API type a compile error here. */
const EVENT_FILTERS = Object.keys({
  '*': true,
  'message.received': true,
  'message.status': true,
  'channel.qr': true,
  'channel.pairing_code': true,
  'channel.status': true,
  'channel.logged_out': true,
  'webhook.test': true,
  'webhook.disabled': true,
} satisfies Record<EventFilter, true>) as EventFilter[];

function NewWebhookForm({ onCreated }: { onCreated(): void }) {
  const api = useApi();
  const { t } = useI18n();
  const formId = useId();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<EventFilter[]>(['*']);
  const { busy, error, run } = useAction();
  const [secret, setSecret] = useState<string | null>(null);

  const toggle = (filter: EventFilter, on: boolean) =>
    setEvents((current) => (on ? [...current, filter] : current.filter((event) => event !== filter)));

  const submit = async (event: Event) => {
    event.preventDefault();
    await run(async () => {
      const created = await api.call(
        api.typed.POST('/v1/webhooks', {
          params: { header: { 'Idempotency-Key': crypto.randomUUID() } },
          body: {
            url: url.trim(),
            events,
            ...(description.trim() ? { description: description.trim() } : {}),
          },
        }),
      );
      setSecret(created.secret);
      setUrl('');
      setDescription('');
      onCreated();
    });
  };

  return (
    <section class="card" aria-labelledby={`${formId}-title`}>
      <h2 id={`${formId}-title`}>{t('webhooks.new')}</h2>
      {secret && (
        <SecretOnce title={t('webhooks.secretTitle')} secret={secret} onDismiss={() => setSecret(null)} />
      )}
      <form class="form" onSubmit={submit}>
        <label for={`${formId}-url`}>{t('webhooks.urlLabel')}</label>
        <input
          id={`${formId}-url`}
          type="url"
          required
          placeholder="https://crm.clinica.example/webhooks/whatsapp"
          value={url}
          onInput={(event) => setUrl(event.currentTarget.value)}
        />
        <label for={`${formId}-description`}>{t('webhooks.descriptionLabel')}</label>
        <input
          id={`${formId}-description`}
          value={description}
          onInput={(event) => setDescription(event.currentTarget.value)}
        />
        <fieldset class="checks">
          <legend>{t('webhooks.eventsLabel')}</legend>
          {EVENT_FILTERS.map((filter) => (
            <label key={filter} class="check">
              <input
                type="checkbox"
                checked={events.includes(filter)}
                onChange={(event) => toggle(filter, event.currentTarget.checked)}
              />
              {filter === '*' ? t('webhooks.allEvents') : <code>{filter}</code>}
            </label>
          ))}
        </fieldset>
        <button type="submit" class="button button--primary" disabled={busy || events.length === 0}>
          {t('webhooks.create')}
        </button>
      </form>
      <ErrorBanner error={error} />
    </section>
  );
}

export function WebhooksPage() {
  const api = useApi();
  const { t, dateTime } = useI18n();
  const heading = usePageHeading(t('webhooks.title'));
  const webhooks = usePolling(
    () => api.call(api.typed.GET('/v1/webhooks', { params: { query: { limit: 100 } } })),
    [api],
    10_000,
  );
  return (
    <section>
      <h1 ref={heading} tabIndex={-1}>
        {t('webhooks.title')}
      </h1>
      <ErrorBanner error={webhooks.error} />
      {webhooks.data &&
        (webhooks.data.items.length === 0 ? (
          <p>{t('webhooks.empty')}</p>
        ) : (
          <ul class="list">
            {webhooks.data.items.map((webhook) => (
              <li key={webhook.id} class="list__item card">
                <div class="list__main">
                  <a
                    href={`/webhooks/${encodeURIComponent(webhook.id)}`}
                    onClick={onLinkClick}
                    class="list__title"
                  >
                    {webhook.description || webhook.url}
                  </a>
                  <WebhookStatus webhook={webhook} />
                </div>
                <p class="list__meta">
                  <code>{webhook.url}</code>
                </p>
                <p class="list__meta">
                  {webhook.events.join(', ')}
                  {webhook.failingSince &&
                    ` · ${t('webhooks.failingSince', { when: dateTime(webhook.failingSince) })}`}
                </p>
              </li>
            ))}
          </ul>
        ))}
      <NewWebhookForm onCreated={webhooks.reload} />
    </section>
  );
}

export function WebhookStatus({ webhook }: { webhook: Webhook }) {
  const { t } = useI18n();
  if (webhook.status === 'enabled')
    return <span class={`badge badge--${webhook.failingSince ? 'bad' : 'ok'}`}>{t('webhooks.enabled')}</span>;
  return (
    <span class="badge badge--off">
      {t('webhooks.disabled')}
      {webhook.disabledReason && ` (${t(`webhooks.disabledReason.${webhook.disabledReason}`)})`}
    </span>
  );
}
