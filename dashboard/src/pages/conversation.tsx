// A conversation with one contact: messages oldest to newest with their status ticks and media, and
// a composer for text and files.
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { useApi } from '../api/api-context.ts';
import type { components } from '../api/schema.d.ts';
import { ErrorBanner } from '../components/error-banner.tsx';
import { announce } from '../components/live-region.tsx';
import { type MediaContent, MediaPreview } from '../components/media-preview.tsx';
import { Ticks } from '../components/ticks.tsx';
import { tabConversations } from '../conversation-keys.ts';
import { useI18n } from '../i18n/i18n.tsx';
import { navigate, onLinkClick, usePageHeading } from '../router.ts';
import { statusTicks } from '../status-ticks.ts';
import { useAction } from '../use-action.ts';
import { usePolling } from '../use-polling.ts';

type Message = components['schemas']['Message'];
type MediaKind = 'image' | 'video' | 'audio' | 'document';

const MEDIA_KINDS = new Set(['image', 'video', 'audio', 'document', 'sticker']);

/** Which message type a file goes as: by its media type, a document when nothing else fits. */
export function mediaKindOf(mimeType: string): MediaKind {
  if (mimeType.startsWith('image/')) return 'image';
  if (mimeType.startsWith('video/')) return 'video';
  if (mimeType.startsWith('audio/')) return 'audio';
  return 'document';
}

type SendMessage = components['schemas']['SendMessage'];
type MediaPart = { mediaId: string; caption?: string; filename?: string };

function mediaMessage(to: string, kind: MediaKind, part: MediaPart): SendMessage {
  switch (kind) {
    case 'image':
      return { to, type: 'image', image: part };
    case 'video':
      return { to, type: 'video', video: part };
    case 'audio':
      return { to, type: 'audio', audio: part };
    case 'document':
      return { to, type: 'document', document: part };
  }
}

function Content({ message }: { message: Message }) {
  const { t } = useI18n();
  const content = message[message.type] as Record<string, unknown> | undefined;
  if (!content) return <p class="bubble__text">{t('message.kind', { kind: message.type })}</p>;
  if (message.type === 'text') return <p class="bubble__text">{String(content.body ?? '')}</p>;
  if (MEDIA_KINDS.has(message.type)) {
    return (
      <>
        <MediaPreview kind={message.type} content={content as MediaContent} />
        {typeof content.caption === 'string' && <p class="bubble__text">{content.caption}</p>}
      </>
    );
  }
  if (message.type === 'location')
    return (
      <p class="bubble__text">
        📍 {String(content.name ?? '')} {String(content.address ?? '')} ({String(content.latitude)},{' '}
        {String(content.longitude)})
      </p>
    );
  if (message.type === 'reaction') return <p class="bubble__text">{String(content.emoji ?? '')}</p>;
  return <p class="bubble__text">{t('message.kind', { kind: message.type })}</p>;
}

function Composer({ channelId, to, onSent }: { channelId: string; to: string; onSent(): void }) {
  const api = useApi();
  const { t } = useI18n();
  const textId = useId();
  const fileId = useId();
  const [text, setText] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const { busy, error, run } = useAction();
  const fileInput = useRef<HTMLInputElement>(null);

  const send = async (event: Event) => {
    event.preventDefault();
    await run(async () => {
      const body = text.trim();
      let message: SendMessage;
      if (file) {
        const type = file.type || 'application/octet-stream';
        // A multipart form: the file's name (a patient's, often) travels in the body, not in a
        // `?filename=` the access logs would keep. The browser sets the form's content type.
        const form = new FormData();
        form.append('file', file);
        const media = await api.json<components['schemas']['Media']>('POST', '/v1/media', {
          body: form,
          headers: { 'idempotency-key': crypto.randomUUID() },
        });
        const kind = mediaKindOf(type);
        const part = {
          mediaId: media.mediaId,
          ...(body && kind !== 'audio' ? { caption: body } : {}),
          ...(kind === 'document' ? { filename: file.name } : {}),
        };
        message = mediaMessage(to, kind, part);
      } else {
        message = { to, type: 'text', text: { body } };
      }
      await api.call(
        api.typed.POST('/v1/channels/{channelId}/messages', {
          params: { path: { channelId }, header: { 'Idempotency-Key': crypto.randomUUID() } },
          body: message,
        }),
      );
      setText('');
      setFile(null);
      if (fileInput.current) fileInput.current.value = '';
      announce(t('composer.queued'));
      onSent();
    });
  };

  return (
    <form class="composer card" onSubmit={send}>
      <label for={textId}>{file ? t('composer.captionLabel') : t('composer.textLabel')}</label>
      <textarea
        id={textId}
        rows={2}
        value={text}
        onInput={(event) => setText(event.currentTarget.value)}
        onKeyDown={(event) => {
          // Enter sends, Shift+Enter is a new line: as in WhatsApp.
          if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            event.currentTarget.form?.requestSubmit();
          }
        }}
      />
      <div class="composer__row">
        <label for={fileId} class="composer__file">
          {t('composer.fileLabel')}
        </label>
        <input
          id={fileId}
          ref={fileInput}
          type="file"
          onChange={(event) => setFile(event.currentTarget.files?.[0] ?? null)}
        />
        <button type="submit" class="button button--primary" disabled={busy || (!file && !text.trim())}>
          {busy ? t('composer.sending') : t('composer.send')}
        </button>
      </div>
      <ErrorBanner error={error} />
    </form>
  );
}

/** Announces outbound messages whose ticks changed since the last poll. */
function useTickAnnouncements(messages: readonly Message[] | undefined) {
  const { t } = useI18n();
  const seen = useRef<Map<string, string> | null>(null);
  useEffect(() => {
    if (!messages) return;
    const previous = seen.current;
    const changed = previous
      ? messages.filter(
          (message) =>
            message.direction === 'outbound' &&
            previous.has(message.id) &&
            previous.get(message.id) !== message.status,
        )
      : [];
    const arrived = previous
      ? messages.filter((message) => message.direction === 'inbound' && !previous.has(message.id))
      : [];
    seen.current = new Map(messages.map((message) => [message.id, message.status]));
    const news = [
      ...changed.map((message) => t('message.statusChanged', { status: t(statusTicks(message).label) })),
      ...arrived.map(() => t('message.arrived')),
    ];
    if (news.length > 0) announce(news.join(' '));
  }, [messages]);
}

/**
 * The page of `/channels/{id}/conversations/{key}`: the contact is the one this tab gave the key to
 * (src/conversation-keys.ts). A key this tab does not know (a link from another session) leads back
 * to the channel, where the conversation can be opened again.
 */
export function ConversationPage({
  channelId,
  conversationKey,
}: {
  channelId: string;
  conversationKey: string;
}) {
  const contact = tabConversations.contactOf(conversationKey);
  if (!contact) return <UnknownConversation channelId={channelId} />;
  return <Conversation channelId={channelId} contact={contact} />;
}

function UnknownConversation({ channelId }: { channelId: string }) {
  const { t } = useI18n();
  useEffect(() => {
    announce(t('conversation.unknown'));
    navigate(`/channels/${encodeURIComponent(channelId)}`, { replace: true });
  }, [channelId]);
  return null;
}

function Conversation({ channelId, contact }: { channelId: string; contact: string }) {
  const api = useApi();
  const { t, time } = useI18n();
  const heading = usePageHeading(t('conversation.title', { contact }));
  // The filter goes in the body: `GET …/messages?contact=` would put the number in the URL, and
  // every access log on the way would keep it (docs/dashboard.md, "No phone number in a URL").
  const messages = usePolling(
    () =>
      api.call(
        api.typed.POST('/v1/channels/{channelId}/messages/search', {
          params: { path: { channelId } },
          body: { contact, limit: 100 },
        }),
      ),
    [api, channelId, contact],
  );
  const ordered = messages.data ? [...messages.data.items].reverse() : undefined;
  useTickAnnouncements(ordered);

  return (
    <section class="conversation">
      <p class="breadcrumb">
        <a href={`/channels/${encodeURIComponent(channelId)}`} onClick={onLinkClick}>
          {t('conversation.back')}
        </a>
      </p>
      <h1 ref={heading} tabIndex={-1}>
        {t('conversation.title', { contact })}
      </h1>
      <ErrorBanner error={messages.error} />
      {ordered &&
        (ordered.length === 0 ? (
          <p>{t('conversation.empty')}</p>
        ) : (
          <ol class="thread" aria-label={t('conversation.messages')}>
            {ordered.map((message) => (
              <li
                key={message.id}
                class={`bubble bubble--${message.direction}`}
                data-message-id={message.id}
                data-direction={message.direction}
              >
                <span class="visually-hidden">
                  {message.direction === 'inbound' ? t('message.fromContact') : t('message.fromClinic')}
                </span>
                <Content message={message} />
                <p class="bubble__meta">
                  <time dateTime={message.createdAt}>{time(message.createdAt)}</time>{' '}
                  <Ticks message={message} />
                </p>
              </li>
            ))}
          </ol>
        ))}
      <Composer channelId={channelId} to={contact} onSent={messages.reload} />
    </section>
  );
}
