import { useEffect, useState } from 'preact/hooks';
import { useI18n } from '../i18n/i18n.tsx';

/** Seconds left until `expiresAt`, ticking each second; "expired" once past it. */
export function Countdown({ expiresAt }: { expiresAt: string }) {
  const { t } = useI18n();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);
  const seconds = Math.max(0, Math.ceil((Date.parse(expiresAt) - now) / 1000));
  return (
    <p class="countdown" data-seconds={seconds}>
      {seconds > 0 ? t('pairing.expiresIn', { seconds }) : t('pairing.expired')}
    </p>
  );
}
