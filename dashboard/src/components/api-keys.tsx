// A tenant's API keys: the list (never a secret), a form to issue one (its secret shown once) and
// revocation (asked twice). The operator manages any tenant's keys through the admin routes; a
// clinic manages its own through `/v1/api-keys` with a key holding `keys:manage`, and the page
// offers it only what the API's rules allow (../api-key-rules.ts), saying why for the rest.
import { useId, useState } from 'preact/hooks';
import { ApiError } from '../api/api-error.ts';
import type { ApiKey, IssuedApiKey, NewApiKey, Scope } from '../api/models.ts';
import { grantableScopes, type KeyHolder, revocability } from '../api-key-rules.ts';
import { useI18n } from '../i18n/i18n.tsx';
import { usePolling } from '../use-polling.ts';
import { ConfirmButton } from './confirm-button.tsx';
import { ErrorBanner } from './error-banner.tsx';
import { SecretOnce } from './secret-once.tsx';

/** Where the keys are: the operator's routes for one tenant, or the tenant's own. */
export interface KeySource {
  /** Every key, all pages. */
  list(): Promise<ApiKey[]>;
  issue(body: NewApiKey): Promise<IssuedApiKey>;
  revoke(keyId: string): Promise<ApiKey>;
}

/** Who manages: the operator (no limit), or a tenant key (its id from the key itself, if it is one). */
export type Manager =
  | { readonly kind: 'operator' }
  | { readonly kind: 'tenant'; readonly keyId: string | null };

/** Reads a list page by page (100 a page) until it ends, up to `maxPages`. */
export async function readAllKeys(
  readPage: (cursor: string | undefined) => Promise<{ items: ApiKey[]; nextCursor: string | null }>,
  maxPages = 20,
): Promise<ApiKey[]> {
  const keys: ApiKey[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const answer = await readPage(cursor);
    keys.push(...answer.items);
    if (answer.nextCursor === null) break;
    cursor = answer.nextCursor;
  }
  return keys;
}

/**
 * The holder whose rules shape the form: none for the operator; the signed-in key as listed for a
 * tenant. A key not found in its list (it cannot be: the list is its tenant's) is taken as holding
 * everything, and the API, which judges anyway, answers what it does not hold.
 */
function holderOf(manager: Manager, keys: readonly ApiKey[]): { holder: KeyHolder; known: boolean } {
  if (manager.kind === 'operator') return { holder: null, known: true };
  const own = keys.find((key) => key.id === manager.keyId);
  return own
    ? { holder: { keyId: own.id, scopes: own.scopes }, known: true }
    : { holder: { keyId: manager.keyId ?? '', scopes: ['*'] }, known: false };
}

function KeyAction({
  apiKey,
  holder,
  onRevoke,
}: {
  apiKey: ApiKey;
  holder: KeyHolder;
  onRevoke(keyId: string): void;
}) {
  const { t, dateTime } = useI18n();
  const verdict = revocability(holder, apiKey);
  switch (verdict.kind) {
    case 'revoked':
      return <span class="badge badge--off">{t('keys.revoked', { when: dateTime(apiKey.revokedAt) })}</span>;
    case 'self':
      return <span class="badge badge--ok">{t('keys.thisKey')}</span>;
    case 'beyond':
      return null;
    case 'allowed':
      return (
        <ConfirmButton
          label={t('keys.revoke')}
          question={t('keys.revokeConfirm', { name: apiKey.name })}
          confirmLabel={t('keys.revokeYes')}
          onConfirm={() => onRevoke(apiKey.id)}
        />
      );
  }
}

export function ApiKeysPanel({
  source,
  manager,
  deps,
  title,
}: {
  source: KeySource;
  manager: Manager;
  /** What `source` reads depends on (a tenant id). */
  deps: readonly unknown[];
  /** A heading of the panel's own (on a page about something else). */
  title?: string;
}) {
  const { t, dateTime } = useI18n();
  const formId = useId();
  const keys = usePolling(() => source.list(), deps, null);
  const { holder, known } = holderOf(manager, keys.data ?? []);
  const grantable = grantableScopes(holder);
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<Scope[] | null>(null);
  // Until the user picks, `*` where it may be given (the operator's usual key), nothing otherwise.
  const scopes = (chosen ?? (grantable.includes('*') ? ['*'] : [])).filter((scope) =>
    grantable.includes(scope),
  );
  const [issued, setIssued] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const issue = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      const key = await source.issue({ name: name.trim(), scopes });
      setIssued(key.key);
      setName('');
      setChosen(null);
      keys.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  const revoke = async (keyId: string) => {
    setError(null);
    try {
      await source.revoke(keyId);
      keys.reload();
    } catch (failure) {
      setError(failure);
    }
  };

  const cannotManage =
    keys.error instanceof ApiError && keys.error.status === 403 && keys.error.code === 'insufficient_scope';
  if (cannotManage)
    return (
      <section class="card" aria-labelledby={`${formId}-title`}>
        {title && <h2 id={`${formId}-title`}>{title}</h2>}
        <p class="notice" data-testid="keys-need-scope">
          {t('keys.needsManage')}
        </p>
      </section>
    );

  return (
    <section class="card" aria-labelledby={title ? `${formId}-title` : undefined}>
      {title && <h2 id={`${formId}-title`}>{title}</h2>}
      <ErrorBanner error={keys.error ?? error} />
      {issued && (
        <SecretOnce title={t('keys.issuedTitle')} secret={issued} onDismiss={() => setIssued(null)} />
      )}
      {keys.data && !known && <p class="notice">{t('keys.holderUnknown')}</p>}
      {keys.data &&
        (keys.data.length === 0 ? (
          <p>{t('keys.empty')}</p>
        ) : (
          <ul class="list">
            {keys.data.map((key) => {
              const verdict = revocability(holder, key);
              return (
                <li key={key.id} class="list__item" data-key-id={key.id}>
                  <div class="list__main">
                    <span class="list__title">{key.name}</span>
                    <KeyAction apiKey={key} holder={holder} onRevoke={(keyId) => void revoke(keyId)} />
                  </div>
                  <p class="list__meta">
                    {key.scopes.join(', ')} · {t('tenants.created', { when: dateTime(key.createdAt) })}
                  </p>
                  {verdict.kind === 'self' && <p class="hint">{t('keys.selfNote')}</p>}
                  {verdict.kind === 'beyond' && (
                    <p class="hint">{t('keys.beyondNote', { scopes: verdict.scopes.join(', ') })}</p>
                  )}
                </li>
              );
            })}
          </ul>
        ))}
      <form class="form" onSubmit={issue}>
        <h3>{t('keys.new')}</h3>
        <label for={`${formId}-name`}>{t('keys.nameLabel')}</label>
        <input
          id={`${formId}-name`}
          required
          maxLength={100}
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
        />
        <fieldset class="checks">
          <legend>{t('keys.scopesLabel')}</legend>
          {manager.kind === 'tenant' && <p class="hint">{t('keys.grantableNote')}</p>}
          {grantable.map((scope) => (
            <label key={scope} class="check">
              <input
                type="checkbox"
                checked={scopes.includes(scope)}
                onChange={(event) => {
                  const on = event.currentTarget.checked;
                  setChosen(on ? [...scopes, scope] : scopes.filter((each) => each !== scope));
                }}
              />
              {scope === '*' ? t('keys.allScopes') : <code>{scope}</code>}
            </label>
          ))}
        </fieldset>
        <button type="submit" class="button button--primary" disabled={!name.trim() || scopes.length === 0}>
          {t('keys.create')}
        </button>
      </form>
    </section>
  );
}
