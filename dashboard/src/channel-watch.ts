// Announces a channel's status when a poll finds it changed (not on the first read: that is the
// page being shown, not news).
import { useEffect, useRef } from 'preact/hooks';
import type { Channel } from './api/models.ts';
import { announce } from './components/live-region.tsx';
import { useI18n } from './i18n/i18n.tsx';

export function useChannelStatusAnnouncements(channels: readonly Channel[] | undefined): void {
  const { t } = useI18n();
  const seen = useRef<Map<string, string> | null>(null);
  useEffect(() => {
    if (!channels) return;
    const previous = seen.current;
    const changed = previous
      ? channels.filter((channel) => previous.has(channel.id) && previous.get(channel.id) !== channel.status)
      : [];
    seen.current = new Map(channels.map((channel) => [channel.id, channel.status]));
    if (changed.length > 0)
      announce(
        changed
          .map((channel) =>
            t('channel.statusChanged', { name: channel.name, status: t(`channel.status.${channel.status}`) }),
          )
          .join(' '),
      );
  }, [channels]);
}
