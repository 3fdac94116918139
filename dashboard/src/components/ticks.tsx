import { useI18n } from '../i18n/i18n.tsx';
import { statusTicks, type TickSource } from '../status-ticks.ts';

export function Ticks({ message }: { message: TickSource }) {
  const { t } = useI18n();
  const ticks = statusTicks(message);
  if (ticks.tone === 'none') return null;
  return (
    <span class={`ticks ticks--${ticks.tone}`} data-status={message.status}>
      <span aria-hidden="true">{ticks.symbol}</span>
      <span class="visually-hidden">{t(ticks.label)}</span>
      {ticks.reason && (
        <span class="ticks__reason">{t('message.failedReason', { reason: ticks.reason })}</span>
      )}
    </span>
  );
}
