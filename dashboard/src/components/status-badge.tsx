import type { ChannelStatus } from '../api/models.ts';
import { useI18n } from '../i18n/i18n.tsx';

const TONES: Record<ChannelStatus, 'ok' | 'wait' | 'off' | 'bad'> = {
  open: 'ok',
  connecting: 'wait',
  qr: 'wait',
  pairing_code: 'wait',
  reconnecting: 'wait',
  disconnected: 'off',
  logged_out: 'off',
  failed: 'bad',
};

export function ChannelStatusBadge({ status }: { status: ChannelStatus }) {
  const { t } = useI18n();
  return (
    <span class={`badge badge--${TONES[status]}`} data-status={status}>
      {t(`channel.status.${status}`)}
    </span>
  );
}
