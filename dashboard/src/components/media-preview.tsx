// A message's file, fetched through the API's media route (a download URL valid for minutes): an
// image or video shown inline, audio playable, anything else as a link.
import { useEffect, useState } from 'preact/hooks';
import { useApi } from '../api/api-context.ts';
import type { MessageKey } from '../i18n/dictionary.ts';
import { useI18n } from '../i18n/i18n.tsx';
import { ErrorBanner } from './error-banner.tsx';

export interface MediaContent {
  readonly mediaId?: string | null;
  readonly link?: string;
  readonly mimeType?: string | null;
  readonly caption?: string;
  /** Sent files carry the Cloud API's `filename`; received ones the media API's `fileName`. */
  readonly filename?: string;
  readonly fileName?: string | null;
  readonly mediaError?: unknown;
}

const MEDIA_LABELS: Readonly<Record<string, MessageKey>> = {
  image: 'media.image',
  sticker: 'media.image',
  video: 'media.video',
  audio: 'media.audio',
  document: 'media.file',
};

export function MediaPreview({ kind, content }: { kind: string; content: MediaContent }) {
  const api = useApi();
  const { t } = useI18n();
  const [url, setUrl] = useState<string | null>(content.link ?? null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const mediaId = content.mediaId;
    if (!mediaId) return;
    let stopped = false;
    api
      .call(api.typed.GET('/v1/media/{mediaId}', { params: { path: { mediaId } } }))
      .then((media) => !stopped && setUrl(media.url))
      .catch((failure: unknown) => !stopped && setError(failure));
    return () => {
      stopped = true;
    };
  }, [api, content.mediaId, attempt]);

  const fileName = content.fileName ?? content.filename;
  const name = fileName ?? content.caption ?? t(MEDIA_LABELS[kind] ?? 'media.file');
  if (content.mediaError || (!content.mediaId && !content.link))
    return <p class="media media--missing">{t('media.unavailable')}</p>;
  if (error) return <ErrorBanner error={error} />;
  if (!url) return <p class="media">{t('common.loading')}</p>;
  // A link the clinic sent is another site's: not loaded into the page (the CSP would refuse it anyway).
  if (content.link) {
    return (
      <a class="media" href={content.link} rel="noopener noreferrer" target="_blank">
        {name}
      </a>
    );
  }
  // The URL expires after minutes: an element that fails to load asks for a new one, twice at most
  // (a file the browser cannot show would otherwise ask forever).
  const retry = () => setAttempt((count) => (count < 2 ? count + 1 : count));
  switch (kind) {
    case 'image':
    case 'sticker':
      return <img class="media media--image" src={url} alt={content.caption ?? name} onError={retry} />;
    case 'video':
      // biome-ignore lint/a11y/useMediaCaption: patients' videos come without caption tracks.
      return <video class="media media--video" src={url} controls preload="metadata" onError={retry} />;
    case 'audio':
      // biome-ignore lint/a11y/useMediaCaption: voice notes come without caption tracks.
      return <audio class="media media--audio" src={url} controls preload="metadata" onError={retry} />;
    default:
      return (
        <a class="media" href={url} rel="noopener noreferrer" download={fileName ?? true}>
          {t('media.download', { name })}
        </a>
      );
  }
}
