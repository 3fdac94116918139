// One webhook: enable or disable it, send a test, and its deliveries with every try's answer (a
// failed one's response excerpt), redeliver one, or recover every dead one since a time.
import { useId, useState } from 'preact/hooks';
import { useApi } from '../api/api-context.ts';
import type { components } from '../api/schema.d.ts';
import { ConfirmButton } from '../components/confirm-button.tsx';
import { ErrorBanner } from '../components/error-banner.tsx';
import { announce } from '../components/live-region.tsx';
import { useI18n } from '../i18n/i18n.tsx';
import { navigate, onLinkClick, usePageHeading } from '../router.ts';
import { useAction } from '../use-action.ts';
import { usePolling } from '../use-polling.ts';
import { WebhookStatus } from './webhooks.tsx';

type Delivery = components['schemas']['WebhookDelivery'];
type DeliveryStatus = Delivery['status'];

const STATUS_FILTERS: readonly (DeliveryStatus | '')[] = ['', 'pending', 'succeeded', 'dead'];

/** `datetime-local` input value (local time, minutes) of a moment. */
function localInputValue(date: Date): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

function DeliveryRow({
  webhookId,
  delivery,
  onChanged,
}: {
  webhookId: string;
  delivery: Delivery;
  onChanged(): void;
}) {
  const api = useApi();
  const { t, dateTime } = useI18n();
  const { busy, error, run } = useAction();
  const last = delivery.attempts.at(-1);
  const redeliver = async () => {
    await run(async () => {
      await api.call(
        api.typed.POST('/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver', {
          params: { path: { webhookId, deliveryId: delivery.id } },
        }),
      );
      announce(t('deliveries.redelivered'));
      onChanged();
    });
  };
  return (
    <li class="list__item card" data-delivery-id={delivery.id} data-status={delivery.status}>
      <div class="list__main">
        <span class="list__title">
          <code>{delivery.eventType}</code>
        </span>
        <span
          class={`badge badge--${delivery.status === 'succeeded' ? 'ok' : delivery.status === 'dead' ? 'bad' : 'wait'}`}
        >
          {t(`deliveries.status.${delivery.status}`)}
        </span>
      </div>
      <p class="list__meta">
        {dateTime(delivery.createdAt)} · {t('deliveries.tries', { count: delivery.attemptCount })}
        {last && ` · ${last.statusCode ?? '—'} ${last.error ?? ''} · ${last.latencyMs} ms`}
        {delivery.nextAttemptAt && ` · ${t('deliveries.next', { when: dateTime(delivery.nextAttemptAt) })}`}
      </p>
      {delivery.attempts.length > 0 && (
        <details>
          <summary>{t('deliveries.attempts')}</summary>
          <ol class="attempts">
            {delivery.attempts.map((attempt) => (
              <li key={attempt.at}>
                <p>
                  {dateTime(attempt.at)} · {attempt.statusCode ?? t('deliveries.noAnswer')} ·{' '}
                  {attempt.error ?? t('deliveries.ok')} · {attempt.latencyMs} ms
                </p>
                {attempt.responseExcerpt && (
                  <figure class="excerpt">
                    <figcaption>{t('deliveries.excerpt')}</figcaption>
                    <pre>{attempt.responseExcerpt}</pre>
                  </figure>
                )}
              </li>
            ))}
          </ol>
        </details>
      )}
      <div class="actions">
        <button type="button" class="button" disabled={busy} onClick={() => void redeliver()}>
          {t('deliveries.redeliver')}
        </button>
      </div>
      <ErrorBanner error={error} />
    </li>
  );
}

function Recover({ webhookId, onChanged }: { webhookId: string; onChanged(): void }) {
  const api = useApi();
  const { t } = useI18n();
  const sinceId = useId();
  const [since, setSince] = useState(() => localInputValue(new Date(Date.now() - 24 * 3600_000)));
  const [result, setResult] = useState<{ count: number; complete: boolean } | null>(null);
  const { busy, error, run } = useAction();
  const recover = async (event: Event) => {
    event.preventDefault();
    await run(async () => {
      const answer = await api.call(
        api.typed.POST('/v1/webhooks/{webhookId}/recover', {
          params: { path: { webhookId } },
          body: { since: new Date(since).toISOString() },
        }),
      );
      setResult(answer);
      announce(t(answer.complete ? 'recover.done' : 'recover.more', { count: answer.count }));
      onChanged();
    });
  };
  return (
    <form class="form form--inline card" onSubmit={recover}>
      <h2>{t('recover.title')}</h2>
      <p>{t('recover.intro')}</p>
      <label for={sinceId}>{t('recover.sinceLabel')}</label>
      <input
        id={sinceId}
        type="datetime-local"
        required
        value={since}
        onInput={(event) => setSince(event.currentTarget.value)}
      />
      <button type="submit" class="button" disabled={busy}>
        {result && !result.complete ? t('recover.continue') : t('recover.submit')}
      </button>
      {result && <p>{t(result.complete ? 'recover.done' : 'recover.more', { count: result.count })}</p>}
      <ErrorBanner error={error} />
    </form>
  );
}

export function WebhookPage({ webhookId }: { webhookId: string }) {
  const api = useApi();
  const { t } = useI18n();
  const filterId = useId();
  const [status, setStatus] = useState<DeliveryStatus | ''>('');
  const [actionError, setActionError] = useState<unknown>(null);
  const path = { params: { path: { webhookId } } };
  const webhook = usePolling(
    () => api.call(api.typed.GET('/v1/webhooks/{webhookId}', path)),
    [api, webhookId],
    10_000,
  );
  const deliveries = usePolling(
    () =>
      api.call(
        api.typed.GET('/v1/webhooks/{webhookId}/deliveries', {
          params: { path: { webhookId }, query: { limit: 50, ...(status ? { status } : {}) } },
        }),
      ),
    [api, webhookId, status],
  );
  const title = webhook.data?.description || webhook.data?.url || t('webhook.title');
  const heading = usePageHeading(title);

  const act = async (action: () => Promise<unknown>, after?: () => void) => {
    setActionError(null);
    try {
      await action();
      webhook.reload();
      deliveries.reload();
      after?.();
    } catch (failure) {
      setActionError(failure);
    }
  };

  return (
    <section>
      <p class="breadcrumb">
        <a href="/webhooks" onClick={onLinkClick}>
          {t('nav.webhooks')}
        </a>
      </p>
      <h1 ref={heading} tabIndex={-1}>
        {title}
      </h1>
      <ErrorBanner error={webhook.error} />
      {webhook.data && (
        <div class="card">
          <p>
            <WebhookStatus webhook={webhook.data} /> <code>{webhook.data.url}</code>
          </p>
          <p class="list__meta">{webhook.data.events.join(', ')}</p>
          <div class="actions">
            <button
              type="button"
              class="button"
              onClick={() =>
                void act(() =>
                  api.call(
                    api.typed.POST('/v1/webhooks/{webhookId}/test', {
                      params: { path: { webhookId }, header: { 'Idempotency-Key': crypto.randomUUID() } },
                    }),
                  ),
                )
              }
            >
              {t('webhook.test')}
            </button>
            <button
              type="button"
              class="button"
              onClick={() =>
                void act(() =>
                  api.call(
                    api.typed.PATCH('/v1/webhooks/{webhookId}', {
                      ...path,
                      body: { enabled: webhook.data?.status !== 'enabled' },
                    }),
                  ),
                )
              }
            >
              {webhook.data.status === 'enabled' ? t('webhook.disable') : t('webhook.enable')}
            </button>
            <ConfirmButton
              label={t('webhook.delete')}
              question={t('webhook.deleteConfirm')}
              confirmLabel={t('webhook.deleteYes')}
              onConfirm={() =>
                void act(
                  () => api.call(api.typed.DELETE('/v1/webhooks/{webhookId}', path)),
                  () => navigate('/webhooks'),
                )
              }
            />
          </div>
          <ErrorBanner error={actionError} />
        </div>
      )}
      <section class="card" aria-labelledby={`${filterId}-title`}>
        <h2 id={`${filterId}-title`}>{t('deliveries.title')}</h2>
        <label for={filterId}>{t('deliveries.filter')}</label>{' '}
        <select
          id={filterId}
          value={status}
          onChange={(event) => setStatus(event.currentTarget.value as DeliveryStatus | '')}
        >
          {STATUS_FILTERS.map((filter) => (
            <option key={filter} value={filter}>
              {filter ? t(`deliveries.status.${filter}`) : t('deliveries.all')}
            </option>
          ))}
        </select>
        <ErrorBanner error={deliveries.error} />
        {deliveries.data &&
          (deliveries.data.items.length === 0 ? (
            <p>{t('deliveries.empty')}</p>
          ) : (
            <ul class="list">
              {deliveries.data.items.map((delivery) => (
                <DeliveryRow
                  key={delivery.id}
                  webhookId={webhookId}
                  delivery={delivery}
                  onChanged={deliveries.reload}
                />
              ))}
            </ul>
          ))}
      </section>
      <Recover webhookId={webhookId} onChanged={deliveries.reload} />
    </section>
  );
}
