// The app: the session (sign in, sign out, a 401 ending it), the shell every page shares (skip link,
// navigation, language switch, live region) and which page a path shows.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiContext } from './api/api-context.ts';
import { createApi } from './api/client.ts';
import { keyIdOf } from './api-key-rules.ts';
import { LiveRegion } from './components/live-region.tsx';
import { tabConversations } from './conversation-keys.ts';
import { LANGUAGES, type Language } from './i18n/dictionary.ts';
import { useI18n } from './i18n/i18n.tsx';
import { ApiKeysPage } from './pages/api-keys.tsx';
import { ChannelPage } from './pages/channel.tsx';
import { ChannelsPage } from './pages/channels.tsx';
import { ConversationPage } from './pages/conversation.tsx';
import { NotFoundPage } from './pages/not-found.tsx';
import { OperatorChannelsPage } from './pages/operator-channels.tsx';
import { RunnersPage } from './pages/runners.tsx';
import { SignIn } from './pages/sign-in.tsx';
import { TenantPage } from './pages/tenant.tsx';
import { TenantsPage } from './pages/tenants.tsx';
import { WebhookPage } from './pages/webhook.tsx';
import { WebhooksPage } from './pages/webhooks.tsx';
import { matchPath, navigate, onLinkClick, usePath } from './router.ts';
import { clearSession, type KeyKind, loadSession, type Session, saveSession } from './session.ts';

const HOME: Record<KeyKind, string> = { tenant: '/channels', admin: '/operator/tenants' };

function LanguageSwitch() {
  const { t, lang, setLang } = useI18n();
  return (
    <label class="language">
      <span>{t('shell.language')}</span>
      <select value={lang} onChange={(event) => setLang(event.currentTarget.value as Language)}>
        {LANGUAGES.map((language) => (
          <option key={language} value={language} lang={language}>
            {t(`language.${language}`)}
          </option>
        ))}
      </select>
    </label>
  );
}

function NavLink({ href, label, path }: { href: string; label: string; path: string }) {
  const current = path === href || path.startsWith(`${href}/`);
  return (
    <li>
      <a href={href} onClick={onLinkClick} aria-current={current ? 'page' : undefined}>
        {label}
      </a>
    </li>
  );
}

function Page({ path, session }: { path: string; session: Session }) {
  if (session.kind === 'tenant') {
    if (matchPath('/channels', path)) return <ChannelsPage />;
    // A conversation by its key in this tab, never by the contact's number (src/conversation-keys.ts).
    const conversation = matchPath('/channels/:channelId/conversations/:key', path);
    if (conversation)
      return (
        <ConversationPage channelId={conversation.channelId ?? ''} conversationKey={conversation.key ?? ''} />
      );
    const channel = matchPath('/channels/:channelId', path);
    if (channel) return <ChannelPage channelId={channel.channelId ?? ''} />;
    if (matchPath('/webhooks', path)) return <WebhooksPage />;
    const webhook = matchPath('/webhooks/:webhookId', path);
    if (webhook) return <WebhookPage webhookId={webhook.webhookId ?? ''} />;
    // The page gets the key's id, never the key.
    if (matchPath('/keys', path)) return <ApiKeysPage ownKeyId={keyIdOf(session.key)} />;
  } else {
    if (matchPath('/operator/tenants', path)) return <TenantsPage />;
    const tenant = matchPath('/operator/tenants/:tenantId', path);
    if (tenant) return <TenantPage tenantId={tenant.tenantId ?? ''} />;
    if (matchPath('/operator/channels', path)) return <OperatorChannelsPage />;
    if (matchPath('/operator/runners', path)) return <RunnersPage />;
  }
  return <NotFoundPage home={HOME[session.kind]} />;
}

export function App() {
  const { t } = useI18n();
  const path = usePath();
  const [session, setSession] = useState<Session | null>(loadSession);
  const [expired, setExpired] = useState(false);

  const signOut = (why: 'asked' | 'expired') => {
    clearSession();
    tabConversations.forget();
    setSession(null);
    setExpired(why === 'expired');
    navigate('/', { replace: true });
  };

  const api = useMemo(() => (session ? createApi(session.key, () => signOut('expired')) : null), [session]);

  // `/` and the other kind's pages lead home.
  useEffect(() => {
    if (session && (path === '/' || (session.kind === 'tenant' && path.startsWith('/operator'))))
      navigate(HOME[session.kind], { replace: true });
  }, [session, path]);

  const nav =
    session?.kind === 'tenant'
      ? [
          { href: '/channels', label: t('nav.channels') },
          { href: '/webhooks', label: t('nav.webhooks') },
          { href: '/keys', label: t('nav.keys') },
        ]
      : session?.kind === 'admin'
        ? [
            { href: '/operator/tenants', label: t('nav.tenants') },
            { href: '/operator/channels', label: t('nav.operatorChannels') },
            { href: '/operator/runners', label: t('nav.runners') },
          ]
        : [];

  return (
    <>
      <a class="skip-link" href="#main">
        {t('shell.skipToContent')}
      </a>
      <header class="shell-header">
        <div class="shell-header__inner">
          <p class="brand">
            clinic-wa <span class="brand__role">{session ? t(`shell.role.${session.kind}`) : ''}</span>
          </p>
          {nav.length > 0 && (
            <nav aria-label={t('shell.navigation')}>
              <ul class="nav">
                {nav.map((item) => (
                  <NavLink key={item.href} {...item} path={path} />
                ))}
              </ul>
            </nav>
          )}
          <div class="shell-header__tools">
            <LanguageSwitch />
            {session && (
              <button type="button" class="button" onClick={() => signOut('asked')}>
                {t('shell.signOut')}
              </button>
            )}
          </div>
        </div>
      </header>
      <main id="main" tabIndex={-1} class="shell-main">
        {session && api ? (
          <ApiContext.Provider value={api}>
            <Page path={path} session={session} />
          </ApiContext.Provider>
        ) : (
          <SignIn
            expired={expired}
            onSignedIn={(next) => {
              saveSession(next);
              setExpired(false);
              setSession(next);
              navigate(HOME[next.kind], { replace: true });
            }}
          />
        )}
      </main>
      <LiveRegion />
    </>
  );
}
