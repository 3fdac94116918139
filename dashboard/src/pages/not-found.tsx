import { useI18n } from '../i18n/i18n.tsx';
import { onLinkClick, usePageHeading } from '../router.ts';

export function NotFoundPage({ home }: { home: string }) {
  const { t } = useI18n();
  const heading = usePageHeading(t('notFound.title'));
  return (
    <section>
      <h1 ref={heading} tabIndex={-1}>
        {t('notFound.title')}
      </h1>
      <p>
        <a href={home} onClick={onLinkClick}>
          {t('notFound.home')}
        </a>
      </p>
    </section>
  );
}
