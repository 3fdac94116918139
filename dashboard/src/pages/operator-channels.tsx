import { OperatorChannels } from '../components/channel-table.tsx';
import { useI18n } from '../i18n/i18n.tsx';
import { usePageHeading } from '../router.ts';

export function OperatorChannelsPage() {
  const { t } = useI18n();
  const heading = usePageHeading(t('nav.operatorChannels'));
  return (
    <section>
      <h1 ref={heading} tabIndex={-1}>
        {t('nav.operatorChannels')}
      </h1>
      <OperatorChannels />
    </section>
  );
}
